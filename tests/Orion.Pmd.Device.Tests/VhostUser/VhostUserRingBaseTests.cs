using Orion.Pmd.Device.Tests.VhostUser.Support;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;
using Orion.Pmd.Virtio.VhostUser;

namespace Orion.Pmd.Device.Tests.VhostUser;

/// <summary>
/// GET_VRING_BASE stops a ring and says where; SET_VRING_BASE with that value re-arms it, on the same connection or
/// on a new one (reference §3.3 and §7: a back-end that restarts at the wrong base re-executes stale requests).
/// </summary>
[NonParallelizable]
public class VhostUserRingBaseTests
{
    [Test]
    public void SplitBaseIsTheNextAvailIndexAndRearmingThereContinues()
    {
        using var server = new ServerHarness();
        using var fe = server.Connect().Ready(~VirtioFeatures.RingPacked);
        for (int i = 0; i < 70; i++) Assert.That(fe.Read((ulong)i, 512).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        uint stopped = fe.StopQueue(0);
        Assert.That(stopped, Is.EqualTo(70u), "70 chains popped");
        Assert.That(server.Device.IsQueueStarted(0), Is.False);
        Assert.That(fe.StopQueue(0), Is.EqualTo(70u), "asking again reports the same base");

        fe.StartQueue(0, stopped, keepRing: true);
        var data = TestFrontEnd.Pattern(4096, 9);
        Assert.That(fe.Write(16, data).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        Assert.That(fe.Read(16, 4096).Data, Is.EqualTo(data));
        Assert.That(fe.StopQueue(0), Is.EqualTo(72u));
    }

    [Test]
    public void PackedBaseEncodesPositionsAndWrapCountersAndRearmingThereContinues()
    {
        using var server = new ServerHarness();
        using var fe = server.Connect().Ready();
        Assert.That(fe.Packed, Is.True);
        int requests = fe.QueueSize + 6;                      // one lap and a bit: both wrap counters flipped to 0
        for (int i = 0; i < requests; i++) Assert.That(fe.Read((ulong)i, 512).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        uint stopped = fe.StopQueue(0);
        PackedVringBase.Decode(stopped, out ushort avail, out bool availWrap, out ushort used, out bool usedWrap);
        Assert.That((avail, availWrap, used, usedWrap), Is.EqualTo(((ushort)6, false, (ushort)6, false)), $"base 0x{stopped:x8}");

        fe.StartQueue(0, stopped, keepRing: true);
        var data = TestFrontEnd.Pattern(4096, 3);
        Assert.That(fe.Write(40, data).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        Assert.That(fe.Read(40, 4096).Data, Is.EqualTo(data));
    }

    [Test]
    public void ANewConnectionResumesTheOldRingAtTheReturnedBase()
    {
        using var server = new ServerHarness();
        using var fe = server.Connect().Ready(~VirtioFeatures.RingPacked);
        for (int i = 0; i < 5; i++) fe.Read((ulong)i, 512);
        uint stopped = fe.StopQueue(0);
        Assert.That(stopped, Is.EqualTo(5u));

        // Same memory and ring, new connection (a front-end that reconnects after the back-end restarted). The server
        // takes the next client only once the first has gone, so connect, then hang up the old one.
        var socket = Linux.UnixSocket.Connect(server.SocketPath);
        fe.ReplaceSocket(socket);
        Assert.That(server.WaitForClosedConnections(1), Is.True);
        fe.Handshake(~VirtioFeatures.RingPacked);
        fe.StartQueue(0, stopped, keepRing: true);
        Assert.That(fe.Read(3, 512).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        Assert.That(fe.StopQueue(0), Is.EqualTo(6u), "the old entries were not popped again");
    }
}
