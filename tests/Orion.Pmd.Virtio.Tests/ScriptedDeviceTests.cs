using Orion.Pmd.Testing;
using Orion.Pmd.Virtio.Rings;
using Orion.Pmd.Virtio.Tests.Support;

namespace Orion.Pmd.Virtio.Tests;

/// <summary>
/// The shared test kit's <see cref="ScriptedDevice"/> against a real driver, in both formats: a good completion reaches
/// the driver with its status byte and length; a hostile one (another id) is caught by the driver's validation.
/// </summary>
public class ScriptedDeviceTests
{
    private static RingHarness Make(bool packed) => packed ? new PackedRingPair(8) : new RingPair(8);

    [TestCase(false)]
    [TestCase(true)]
    public unsafe void AGoodCompletionReachesTheDriver(bool packed)
    {
        using var q = Make(packed);
        var buffers = q.Buffers(0, (16, false), (512, true), (1, true));
        int head = q.AddIndirect(0, buffers);
        q.Driver.PublishAndCheckKick();
        var device = new ScriptedDevice(q.Device);

        Assert.That(device.TryPop(), Is.True);
        device.Complete(status: 0x00);

        Assert.That(q.Driver.TryPopUsed(out ushort id, out uint length), Is.True);
        Assert.That(id, Is.EqualTo(head));
        Assert.That(length, Is.EqualTo(513u), "every writable byte");
        Assert.That(*q.HostOf(buffers[2].GuestAddress), Is.EqualTo(0x00), "the status byte went into the last writable buffer");
        Assert.That(q.Driver.IsBroken, Is.False);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void AHostileCompletionIsCaughtByTheDriver(bool packed)
    {
        using var q = Make(packed);
        q.AddIndirect(0, q.Buffers(0, (16, false), (1, true)));
        q.Driver.PublishAndCheckKick();
        var device = new ScriptedDevice(q.Device);

        Assert.That(device.TryPop(), Is.True);
        device.CompleteAs(reportedId: 300, length: 1);     // an id out of range for an 8-entry queue

        Assert.That(q.Driver.TryPopUsed(out _, out _), Is.False);
        Assert.That(q.Driver.Error, Is.EqualTo(VirtqueueError.UsedIdOutOfRange));
    }
}
