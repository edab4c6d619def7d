using Orion.Pmd.Device.Tests.VhostUser.Support;
using Orion.Pmd.Linux;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;
using Orion.Pmd.Virtio.VhostUser;

namespace Orion.Pmd.Device.Tests.VhostUser;

/// <summary>
/// What QEMU changes under running rings: a new memory table (memory hot-plug) and new call fds (interrupt masking).
/// A running queue is stopped, reconfigured and restarted where it stopped, so I/O goes on.
/// </summary>
[NonParallelizable]
public class VhostUserReconfigurationTests
{
    [Test]
    public void ANewMemoryTableUnderRunningQueuesIsTakenAndIoGoesOn([Values(false, true)] bool packed)
    {
        using var server = new ServerHarness();
        using var fe = server.Connect().Ready(packed ? (VirtioFeatures)ulong.MaxValue : ~VirtioFeatures.RingPacked);
        var data = TestFrontEnd.Pattern(4096, 8);
        Assert.That(fe.Write(0, data).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        // The same memory as two regions, so the device really remaps (ring addresses keep their user addresses).
        const ulong Half = TestFrontEnd.RegionBytes / 2;
        Assert.That(fe.SetMemTable([
            new VhostMemoryRegion(TestFrontEnd.GuestBase, Half, TestFrontEnd.UserBase, 0),
            new VhostMemoryRegion(TestFrontEnd.GuestBase + Half, Half, TestFrontEnd.UserBase + Half, Half),
        ]), Is.Zero);
        Assert.That(server.Device.IsQueueStarted(0) && server.Device.IsQueueStarted(1), Is.True, "restarted");
        for (int i = 0; i < 10; i++) Assert.That(fe.Read(0, 4096, queue: i % 2).Data, Is.EqualTo(data));
    }

    [Test]
    public void ATableThatNoLongerHoldsARunningRingClosesTheConnection()
    {
        using var server = new ServerHarness();
        using var fe = server.Connect().Ready();
        fe.SetMemTable([new VhostMemoryRegion(TestFrontEnd.GuestBase, 1 << 20, TestFrontEnd.UserBase + (1 << 30), 0)]);
        Assert.That(fe.WaitForHangUp(), Is.True);
        Assert.That(server.WaitForClosedConnections(1), Is.True);
        Assert.That(server.Server.LastCloseReason, Does.Contain("does not lie inside one region"));
    }

    [Test]
    public void ANewCallFdIsTakenByARunningQueueAndSignalledWhenTheDriverAsks()
    {
        using var server = new ServerHarness();
        using var fe = server.Connect().Ready(~VirtioFeatures.RingEventIdx);
        Assert.That(fe.Read(0, 512).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        using var call = new EventFd();
        fe.SendFile(VhostUserRequest.SetVringCall, 0, call, needReply: true);   // the ack orders it before the next request
        fe.Rings[0]!.EnableInterruptsAndRecheck();                // the driver now wants an interrupt per completion
        Assert.That(fe.Read(8, 512).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        Assert.That(call.Wait(5000), Is.True, "the device signalled the new call fd");
        Assert.That(fe.Calls[0].TryConsume(out _), Is.False, "and not the old one");
    }

    [Test]
    public void ADisabledRingIsNotServedUntilEnabledAgain()
    {
        using var server = new ServerHarness();
        using var fe = server.Connect().Ready();
        fe.SendState(VhostUserRequest.SetVringEnable, 0, 0, needReply: true);
        Assert.That(server.Device.IsQueueStarted(0), Is.False);
        var (id, _, _) = fe.Submit(0, new BlkRequestHeader(BlkRequestType.In, 0), inLength: 512);
        fe.Kicks[0].Signal();
        Assert.That(fe.WaitUsed(0, id, TimeSpan.FromMilliseconds(200)).Done, Is.False, "nothing is served while disabled");
        fe.SendState(VhostUserRequest.SetVringEnable, 0, 64, needReply: true);   // SPDK sends the queue size: non-zero enables
        fe.Kicks[0].Signal();
        Assert.That(fe.WaitUsed(0, id).Done, Is.True);
    }
}
