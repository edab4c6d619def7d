using Orion.Pmd.Device.Tests.VhostUser.Support;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Device.Tests.VhostUser;

/// <summary>The data path through the server: every ring format and descriptor style, two queues, read-only exports.</summary>
[NonParallelizable]
public class VhostUserIoTests
{
    private static VirtioFeatures Accept(bool packed, bool indirect, bool eventIdx)
    {
        var all = (VirtioFeatures)ulong.MaxValue;
        if (!packed) all &= ~VirtioFeatures.RingPacked;
        if (!indirect) all &= ~VirtioFeatures.RingIndirectDesc;
        if (!eventIdx) all &= ~VirtioFeatures.RingEventIdx;
        return all;
    }

    [Test]
    public void ReadWriteFlushAndGetIdOverEveryRingFormat(
        [Values(false, true)] bool packed, [Values(false, true)] bool indirect, [Values(false, true)] bool eventIdx)
    {
        using var server = new ServerHarness();
        using var fe = server.Connect().Ready(Accept(packed, indirect, eventIdx));
        Assert.That(fe.Packed, Is.EqualTo(packed));

        for (int i = 0; i < 3 * fe.QueueSize; i++)          // several laps of the ring: wrap counters and indices wrap
        {
            var data = TestFrontEnd.Pattern(4096, i);
            ulong sector = (ulong)(i % 64) * 8;
            var w = fe.Write(sector, data, queue: i % 2);
            Assert.That(w.BlkStatus, Is.EqualTo(BlkStatus.Ok), $"write {i}");
            Assert.That(w.UsedLength, Is.EqualTo(1u));
            var r = fe.Read(sector, 4096, queue: (i + 1) % 2);
            Assert.That(r.BlkStatus, Is.EqualTo(BlkStatus.Ok), $"read {i}");
            Assert.That(r.UsedLength, Is.EqualTo(4097u));
            Assert.That(r.Data, Is.EqualTo(data), $"read {i} returns what write {i} stored");
        }
        Assert.That(server.Backend.Peek(0, 4096).ToArray(), Is.EqualTo(TestFrontEnd.Pattern(4096, 3 * fe.QueueSize - 64)), "the data reached the backend");
        Assert.That(fe.Flush().BlkStatus, Is.EqualTo(BlkStatus.Ok));
        var id = fe.GetId(queue: 1);
        Assert.That(id.BlkStatus, Is.EqualTo(BlkStatus.Ok));
        Assert.That(System.Text.Encoding.ASCII.GetString(id.Data).TrimEnd('\0'), Is.EqualTo("vu-test-serial"));
        Assert.That(server.Server.ConnectionsServed, Is.Zero, "no connection was closed");
    }

    [Test]
    public void MixedDirectAndIndirectChainsOnOneQueue()
    {
        using var server = new ServerHarness();
        using var fe = server.Connect().Ready();
        var data = TestFrontEnd.Pattern(8192, 5);
        Assert.That(fe.Write(100, data, indirect: true).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        Assert.That(fe.Read(100, 8192, indirect: false).Data, Is.EqualTo(data));
    }

    [Test]
    public void AReadOnlyExportRefusesWritesAndServesReads()
    {
        using var server = new ServerHarness(new SoftBlkDeviceOptions { Mode = DeviceServiceMode.KickDriven, ReadOnly = true, NumQueues = 2 });
        using var fe = server.Connect().Ready();
        Assert.That(fe.Offered.HasFlag(VirtioFeatures.BlkReadOnly), Is.True, "VIRTIO_BLK_F_RO offered");
        Assert.That(fe.Write(0, TestFrontEnd.Pattern(512, 1)).BlkStatus, Is.EqualTo(BlkStatus.IoError));
        Assert.That(server.Backend.Peek(0, 512).ToArray(), Is.All.Zero, "nothing was written");
        Assert.That(fe.Read(0, 512).BlkStatus, Is.EqualTo(BlkStatus.Ok));
    }

    [Test]
    public void ManyRequestsInFlightOnBothQueues()
    {
        using var server = new ServerHarness();
        using var fe = server.Connect().Ready();
        var ids = new List<(int Queue, int Id)>();
        for (int i = 0; i < 40; i++)
        {
            int q = i % 2;
            ids.Add((q, fe.Submit(q, new BlkRequestHeader(BlkRequestType.In, (ulong)i * 8), inLength: 4096).Id));
        }
        var seen = new HashSet<(int, int)>();
        Assert.That(TestFrontEnd.Eventually(() =>
        {
            for (int q = 0; q < 2; q++)
                while (fe.Rings[q]!.TryPopUsed(out ushort id, out _)) seen.Add((q, id));
            return seen.Count == ids.Count;
        }, TimeSpan.FromSeconds(5)), Is.True, $"{seen.Count} of {ids.Count} completed");
        Assert.That(seen, Is.EquivalentTo(ids));
    }
}
