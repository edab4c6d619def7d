using Orion.Pmd.Testing;
using Orion.Pmd.Engine;
using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Engine.Tests;

/// <summary>
/// A device that writes garbage into the used ring: the engine latches the queue broken with the named error and
/// fails the requests that were in flight, without touching memory it does not own or completing anything twice.
/// </summary>
public class HostileDeviceTests
{
    [TestCase(300u, VirtqueueError.UsedIdOutOfRange)]
    [TestCase(5u, VirtqueueError.UsedIdNotHead)]
    public void GarbageUsedIdBreaksTheQueueAndFailsInFlightRequests(uint badId, VirtqueueError expected)
    {
        // With recovery off, the queue latches broken and stays so (recovery is tested in RecoveryTests).
        using var engine = ManualEngine.Start(queueSize: 64, tweak: o => o with { RecoverBrokenQueues = false });
        var dev = engine.Device;
        using var buf = dev.Rent(4096);
        var first = dev.ReadAsync(0, buf.Memory);
        // Let the reactor publish it, but do not let the device run: forge a used element instead.
        engine.Reactors[0].RunOnce();
        var pair = engine.Pairs[0];
        UsedRingForgery.ForgeUsed(pair.Ring, badId);
        engine.Reactors[0].RunOnce();

        Assert.That(pair.Ring.IsBroken, Is.True);
        Assert.That(pair.Ring.Error, Is.EqualTo(expected));
        // Failed, but the device was never stopped and the buffer is the caller's own: withheld until a reset.
        Assert.That(first.IsCompleted, Is.False);

        // New requests on the broken queue fail at once (never placed); they never hang.
        using var other = dev.Rent(4096);
        var second = dev.ReadAsync(8, other.Memory);
        engine.PollOnce();
        Assert.That(second.IsCompleted, Is.True);
        Assert.That(() => second.GetAwaiter().GetResult(), Throws.TypeOf<BlockDeviceException>());

        var queue = dev.GetQueue(0);
        queue.Disable();
        queue.Reset();
        var e = Assert.Throws<BlockDeviceException>(() => first.GetAwaiter().GetResult());
        Assert.That(e!.Status, Is.EqualTo(IoStatus.QueueBroken));
        Assert.That(e.Message, Does.Contain(expected.ToString()));
    }
}
