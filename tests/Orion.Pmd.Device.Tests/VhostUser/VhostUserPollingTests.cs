using Orion.Pmd.Device.Tests.VhostUser.Support;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Device.Tests.VhostUser;

/// <summary>
/// Polled queues: the device spins on the ring and tells the front-end not to kick (split NO_NOTIFY or an unreachable
/// avail_event, packed DISABLE); a ring armed without a kick fd is polled whatever the device's mode. Device threads
/// yield when idle: the test machine has two cores.
/// </summary>
[NonParallelizable]
public class VhostUserPollingTests
{
    [Test]
    public void PolledQueuesTellTheFrontEndNotToKick([Values(false, true)] bool packed, [Values(false, true)] bool eventIdx)
    {
        using var server = new ServerHarness(new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Polled, YieldWhenIdle = true, NumQueues = 1 });
        using var fe = server.Connect(1);
        var accept = (VirtioFeatures)ulong.MaxValue;
        if (!packed) accept &= ~VirtioFeatures.RingPacked;
        if (!eventIdx) accept &= ~VirtioFeatures.RingEventIdx;
        fe.Ready(accept);
        // The device thread suppresses kicks once it runs; after a first request it certainly has.
        Assert.That(fe.Read(0, 512).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        int kicks = fe.KicksSent;
        for (int i = 0; i < 50; i++) Assert.That(fe.Read((ulong)i, 4096).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        Assert.That(fe.KicksSent, Is.EqualTo(kicks), "no kick was asked for while the device polls");
    }

    [Test]
    public void ARingWithoutAKickFdIsPolled()
    {
        using var server = new ServerHarness(new SoftBlkDeviceOptions { Mode = DeviceServiceMode.KickDriven, YieldWhenIdle = true, NumQueues = 1 });
        using var fe = server.Connect(1);
        fe.Handshake(~VirtioFeatures.RingPacked);
        fe.StartQueue(0, kickFd: false);
        var data = TestFrontEnd.Pattern(4096, 2);
        Assert.That(fe.Write(0, data).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        Assert.That(fe.Read(0, 4096).Data, Is.EqualTo(data));
    }

    [Test]
    public void KickDrivenQueuesSleepUntilKicked()
    {
        using var server = new ServerHarness(new SoftBlkDeviceOptions { Mode = DeviceServiceMode.KickDriven, NumQueues = 1 });
        using var fe = server.Connect(1).Ready(~VirtioFeatures.RingEventIdx);
        for (int i = 0; i < 10; i++) Assert.That(fe.Read((ulong)i, 512).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        Assert.That(fe.KicksSent, Is.GreaterThan(0), "a kick-driven device asks for kicks");
        Assert.That(server.Device.GetQueueStats(0).Sleeps, Is.GreaterThan(0));
    }
}
