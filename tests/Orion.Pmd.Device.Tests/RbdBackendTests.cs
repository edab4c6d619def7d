using Orion.Pmd.Device.Backends.Rbd;
using Orion.Pmd.Device.Tests.Support;
using Orion.Pmd.Tests.Ceph;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Device.Tests;

/// <summary>
/// The native RBD backend behind the software device, against the run's single-node Ceph cluster: many requests in
/// flight on one queue through <c>rbd_aio_*</c>, data byte-exact in both directions and found by an independent reader
/// (<c>rbd export</c>), vectored transfers straight from and into guest memory, flush, discard and write-zeroes
/// carried asynchronously, a reset that waits for librbd, and clear errors for what cannot be opened.
/// </summary>
[NonParallelizable]
public class RbdBackendTests() : RbdImageTest("device")
{
    private RbdBackend Open(bool readOnly = false, RbdCacheMode cache = RbdCacheMode.None) => new(new RbdBackendOptions
    {
        Pool = CephCluster.Pool,
        Image = Image!,
        ConfPath = Cluster.ConfPath,
        ReadOnly = readOnly,
        Cache = cache,
    });

    /// <summary>A device over the image with librbd's cache in <paramref name="cache"/>, reporting it as the device options would.</summary>
    private static MiniDriver StartWithCache(RbdBackend backend) =>
        MiniDriver.Start(backend, new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Manual, WriteCache = backend.HasVolatileCache });

    private MiniDriver StartManual(int queueSize = 64) =>
        MiniDriver.Start(Open(), new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Manual }, new MiniDriverOptions { QueueSize = queueSize });

    [Test]
    [CancelAfter(120_000)]
    public void OnePassStartsEveryAvailableRequest_AndTheDataLandsByteExact()
    {
        var blocks = Enumerable.Range(0, 32).Select(i => Payload.RandomBytes(4096, 100 + i)).ToArray();
        using (var d = StartManual())
        {
            Assert.That(d.Device.IoEngine, Is.EqualTo("librbd (rbd_aio)"));
            var writes = Enumerable.Range(0, 32).Select(i => d.Add(0, new BlkRequestHeader(BlkRequestType.Out, (ulong)(i * 37 % 2000) * 8), blocks[i])).ToArray();
            d.Publish(0);
            d.Device.Poll();
            var counters = d.Device.GetQueueIoCounters(0);
            Assert.That(counters!.Value.Started, Is.EqualTo(32), "one pass hands every available request to librbd: 32 in flight on one queue");
            Assert.That(d.WaitAll(writes).Select(c => c.BlkStatus), Is.All.EqualTo(BlkStatus.Ok));
            Assert.That(d.Execute(new BlkRequestHeader(BlkRequestType.Flush, 0)).BlkStatus, Is.EqualTo(BlkStatus.Ok));

            var reads = Enumerable.Range(0, 32).Select(i => d.Add(0, new BlkRequestHeader(BlkRequestType.In, (ulong)(i * 37 % 2000) * 8), inLength: 4096)).ToArray();
            d.Publish(0);
            var done = d.WaitAll(reads);
            for (int i = 0; i < 32; i++)
            {
                Assert.That(done[i].BlkStatus, Is.EqualTo(BlkStatus.Ok));
                Assert.That(done[i].UsedLength, Is.EqualTo(4096 + 1));
                Assert.That(done[i].Data, Is.EqualTo(blocks[i]), $"read {i}");
            }
            Assert.That(d.Device.GetQueueIoCounters(0)!.Value.Fallbacks, Is.Zero);
        }
        var image = Cluster.ExportImage(Image!);
        for (int i = 0; i < 32; i++)
            Assert.That(image.AsSpan(i * 37 % 2000 * 4096, 4096).SequenceEqual(blocks[i]), Is.True, $"block {i} in the image (rbd export)");
    }

    [TestCase(0)]
    [TestCase(1000)]        // many small descriptors: rbd_aio_writev/readv of several iovecs, pieces not sector-sized
    [CancelAfter(120_000)]
    public void VectoredWritesAndReadsMoveGuestMemoryStraight(int segmentBytes)
    {
        var data = Payload.RandomBytes(64 << 10, 7);
        using (var d = StartManual())
        {
            Assert.That(d.Execute(new BlkRequestHeader(BlkRequestType.Out, 600), data, segmentBytes: segmentBytes).BlkStatus, Is.EqualTo(BlkStatus.Ok));
            var r = d.Execute(new BlkRequestHeader(BlkRequestType.In, 600), inLength: data.Length, segmentBytes: segmentBytes);
            Assert.That(r.BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(r.Data, Is.EqualTo(data));
            Assert.That(d.Device.GetQueueIoCounters(0)!.Value.Fallbacks, Is.Zero, "no transfer fell back to the synchronous path");
        }
        Assert.That(Cluster.ExportImage(Image!).AsSpan(600 * 512, data.Length).SequenceEqual(data), Is.True);
    }

    [Test]
    [CancelAfter(120_000)]
    public void DiscardAndWriteZeroesGoToLibrbdAsynchronously_AndReadBackAsZeroes()
    {
        var ones = new byte[64 << 10];
        ones.AsSpan().Fill(0x11);
        using (var d = StartManual())
        {
            Assert.That(d.Execute(new BlkRequestHeader(BlkRequestType.Out, 0), ones).BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(d.Execute(new BlkRequestHeader(BlkRequestType.Out, 4096), ones).BlkStatus, Is.EqualTo(BlkStatus.Ok));
            long before = d.Device.GetQueueIoCounters(0)!.Value.Started;
            Assert.That(d.Execute(new BlkRequestHeader(BlkRequestType.WriteZeroes, 0), Range(0, 128)).BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(d.Execute(new BlkRequestHeader(BlkRequestType.Discard, 0), Range(4096, 128)).BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(d.Device.GetQueueIoCounters(0)!.Value.Started - before, Is.EqualTo(2), "both went through rbd_aio_write_zeroes / rbd_aio_discard");
            Assert.That(d.Execute(new BlkRequestHeader(BlkRequestType.In, 0), inLength: ones.Length).Data, Is.All.EqualTo(0));
            var discarded = d.Execute(new BlkRequestHeader(BlkRequestType.In, 4096), inLength: ones.Length);
            Assert.That(discarded.BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(discarded.Data, Is.All.EqualTo(0), "librbd reads a discarded range of a whole object as zeroes");
        }
        Assert.That(Cluster.ExportImage(Image!).AsSpan(0, 64 << 10).ContainsAnyExcept((byte)0), Is.False);
    }

    private static byte[] Range(ulong sector, uint sectors)
    {
        var r = new byte[BlkDiscardWriteZeroes.Size];
        System.Runtime.InteropServices.MemoryMarshal.Write(r, new BlkDiscardWriteZeroes(sector, sectors, 0));
        return r;
    }

    [Test]
    [CancelAfter(120_000)]
    public void AQueueResetWaitsForLibrbd_BeforeTheDriverGetsItsBuffersBack()
    {
        using var d = StartManual();
        var reads = Enumerable.Range(0, 16).Select(i => d.Add(0, new BlkRequestHeader(BlkRequestType.In, (ulong)i * 1024), inLength: 256 << 10)).ToArray();
        d.Publish(0);
        d.Device.Poll();
        Assert.That(d.Device.GetQueueIoCounters(0)!.Value.Started, Is.EqualTo(16));
        d.Device.ResetQueue(0);
        Assert.That(d.Device.InFlightBackendRequests, Is.Zero, "the reset returned only once librbd had completed every request");
        foreach (var r in reads)
            Assert.That(d.Host(r.StatusGuest, 1)[0], Is.Not.EqualTo(Payload.UntouchedStatus), "every request was answered before the reset returned");
    }

    [TestCase(RbdCacheMode.None, 0, "rbd_cache=false")]
    [TestCase(RbdCacheMode.WriteThrough, 0, "rbd_cache=true")]
    [TestCase(RbdCacheMode.WriteBack, 1, "rbd_cache=true")]
    [CancelAfter(120_000)]
    public void TheCacheModeIsSetInLibrbd_AndReportedInConfigSpace(RbdCacheMode mode, int writeback, string rbdCache)
    {
        var backend = Open(cache: mode);
        Assert.That(backend.CacheSettings, Does.Contain(rbdCache));
        if (mode == RbdCacheMode.WriteThrough) Assert.That(backend.CacheSettings, Does.Contain("rbd_cache_max_dirty=0"), "no write completes from the cache");
        if (mode == RbdCacheMode.WriteBack) Assert.That(backend.CacheSettings, Does.Contain("rbd_cache_writethrough_until_flush=false"));
        using var d = StartWithCache(backend);
        var config = new byte[BlkConfig.Offsets.Writeback + 1];
        d.Device.ReadConfig(0, config);
        Assert.That(config[BlkConfig.Offsets.Writeback], Is.EqualTo(writeback), "the writeback byte says whether completed writes need a FLUSH");
        Assert.That(d.Device.WriteCacheEnabled, Is.EqualTo(writeback == 1));
    }

    [Test]
    [CancelAfter(120_000)]
    public void InWriteBackMode_AFlushReachesLibrbd_AndWritesAloneDoNot()
    {
        var backend = Open(cache: RbdCacheMode.WriteBack);
        using var d = StartWithCache(backend);
        for (int i = 0; i < 8; i++)
            Assert.That(d.Execute(new BlkRequestHeader(BlkRequestType.Out, (ulong)i * 8), Payload.RandomBytes(4096, i)).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        Assert.That(backend.FlushesSent, Is.Zero, "write-back: writes complete from librbd's cache without a flush");
        Assert.That(d.Execute(new BlkRequestHeader(BlkRequestType.Flush, 0)).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        Assert.That(backend.FlushesSent, Is.EqualTo(1), "the FLUSH became one rbd_aio_flush");
        Assert.That(d.Device.GetQueueIoCounters(0)!.Value.Fallbacks, Is.Zero);
    }

    [Test]
    [CancelAfter(120_000)]
    public void ADriverThatTurnsTheCacheOff_GetsEveryWriteFlushedBeforeItCompletes()
    {
        var backend = Open(cache: RbdCacheMode.WriteBack);
        using var d = StartWithCache(backend);
        Assert.That(d.Negotiated.HasFlag(Orion.Pmd.Virtio.VirtioFeatures.BlkConfigWce), Is.True);
        d.Device.WriteConfig(BlkConfig.Offsets.Writeback, [0]);
        Assert.That(d.Device.WriteCacheEnabled, Is.False);
        var data = Payload.RandomBytes(4096, 5);
        var writes = Enumerable.Range(0, 4).Select(i => d.Add(0, new BlkRequestHeader(BlkRequestType.Out, (ulong)i * 8), data)).ToArray();
        d.Publish(0);
        Assert.That(d.WaitAll(writes).Select(c => c.BlkStatus), Is.All.EqualTo(BlkStatus.Ok));
        Assert.That(backend.FlushesSent, Is.EqualTo(4), "each write-through write was followed by rbd_aio_flush before it completed");
        Assert.That(d.Device.GetQueueIoCounters(0)!.Value.Fallbacks, Is.Zero, "on the asynchronous path");
    }

    [Test]
    [CancelAfter(240_000)]
    public void InWriteBackMode_FlushedDataSurvivesAnOsdRestart()
    {
        var blocks = Enumerable.Range(0, 16).Select(i => Payload.RandomBytes(4096, 300 + i)).ToArray();
        var backend = Open(cache: RbdCacheMode.WriteBack);
        using var d = StartWithCache(backend);
        var writes = Enumerable.Range(0, 16).Select(i => d.Add(0, new BlkRequestHeader(BlkRequestType.Out, (ulong)i * 8 * 131), blocks[i])).ToArray();
        d.Publish(0);
        Assert.That(d.WaitAll(writes).Select(c => c.BlkStatus), Is.All.EqualTo(BlkStatus.Ok));
        Assert.That(d.Execute(new BlkRequestHeader(BlkRequestType.Flush, 0)).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        // SIGKILL right after the flush (well inside librbd's 1 s dirty age): only what the flush wrote out can be there.
        Cluster.KillOsd();
        Cluster.StartOsd();
        var image = Cluster.ExportImage(Image!);       // another client, while this one still has the image open
        for (int i = 0; i < 16; i++)
            Assert.That(image.AsSpan(i * 131 * 4096, 4096).SequenceEqual(blocks[i]), Is.True, $"block {i} after the OSD restart (rbd export)");
        var again = d.Execute(new BlkRequestHeader(BlkRequestType.In, 0), inLength: 4096);
        Assert.That(again.BlkStatus, Is.EqualTo(BlkStatus.Ok), "the device serves on after the restart");
        Assert.That(again.Data, Is.EqualTo(blocks[0]));
    }

    [Test]
    public void AMissingImageIsAClearError()
    {
        var e = Assert.Throws<IOException>(() => new RbdBackend(new RbdBackendOptions { Pool = CephCluster.Pool, Image = "no-such-image", ConfPath = Cluster.ConfPath }));
        Assert.That(e!.Message, Does.Contain("no-such-image").And.Contain("ENOENT"));
    }

    [Test]
    public void AReadOnlyImageRefusesWrites_WithIoErr()
    {
        using var d = MiniDriver.Start(Open(readOnly: true), new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Manual, ReadOnly = true });
        Assert.That(d.Execute(new BlkRequestHeader(BlkRequestType.Out, 0), new byte[4096]).BlkStatus, Is.EqualTo(BlkStatus.IoError));
        Assert.That(d.Execute(new BlkRequestHeader(BlkRequestType.In, 0), inLength: 4096).BlkStatus, Is.EqualTo(BlkStatus.Ok));
    }
}
