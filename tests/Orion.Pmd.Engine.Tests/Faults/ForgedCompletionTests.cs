using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Testing;

namespace Orion.Pmd.Engine.Tests.Faults;

/// <summary>
/// A hostile completion forged byte by byte (the shared test kit's <see cref="UsedRingForgery"/>) in either ring
/// format: with recovery off the engine names the broken ring and fails the request (recovery itself is
/// <see cref="RecoveryTests"/>').
/// </summary>
public class ForgedCompletionTests
{
    [TestCase(RingFormat.Split)]
    [TestCase(RingFormat.Packed)]
    public void AForgedUsedIdBreaksTheQueueWithANamedError(RingFormat ring)
    {
        using var engine = ManualEngine.Start(queueSize: 16, tweak: o => o with { Ring = ring, RecoverBrokenQueues = false });
        var dev = engine.Device;
        using var buf = dev.Rent(4096);
        var read = dev.ReadAsync(0, buf.Memory);
        engine.Reactors[0].RunOnce();                                  // placed, not yet served
        UsedRingForgery.ForgeUsed(engine.Pairs[0].Ring, 9u);           // an id that was never made available
        engine.Reactors[0].RunOnce();
        Assert.That(engine.Pairs[0].Ring.IsBroken, Is.True, "the driver caught the forged entry");
        // Failed, but the device was never stopped and the buffer is the caller's own: it comes back with the reset.
        Assert.That(read.IsCompleted, Is.False, "withheld while the device may still write the buffer");
        var queue = dev.GetQueue(0);
        queue.Disable();
        queue.Reset();
        var e = Assert.Throws<BlockDeviceException>(() => read.GetAwaiter().GetResult());
        Assert.That(e!.Status, Is.EqualTo(IoStatus.QueueBroken));
        Assert.That(e.Message, Does.Contain("UsedId"), "the named error of the broken ring");
    }
}
