using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Engine.Tests.VhostUser.Support;
using Orion.Pmd.Virtio;
using static Orion.Pmd.Engine.Tests.VhostUser.QsdTestKit;

namespace Orion.Pmd.Engine.Tests.VhostUser;

/// <summary>
/// Data through a real qemu-storage-daemon file export, checked against the backing file with an independent reader:
/// what the file held before is read through the engine, and what the engine wrote (single-buffer, vectored, bounced,
/// and from each queue's reactor) is in the file byte for byte after a flush. Every combination of page cache or
/// O_DIRECT with io_uring, 512- or 4096-byte logical blocks, 1 or 2 queues, indirect descriptors on or off and
/// EVENT_IDX on or off.
/// </summary>
[NonParallelizable]
public class QsdDataTests
{
    private const long ImageBytes = 16 << 20;
    private const int MiB = 1 << 20;

    [Test]
    [CancelAfter(60_000)]
    public async Task FileExportRoundTripsDataByteExact(
        [Values] bool direct,
        [Values(512, 4096)] int blockSize,
        [Values(1, 2)] int queues,
        [Values] bool indirect,
        [Values] bool eventIdx)
    {
        QemuStorageDaemon.RequireInstalled();
        string dir = QemuStorageDaemon.NewDirectory();
        string image = CreateImage(dir, ImageBytes);
        var expected = new byte[ImageBytes];                   // the model of the disk: what the file must hold at the end
        Fill(expected.AsSpan(0, 2 * MiB), 0, seed: 1);         // written into the file before the daemon opens it
        WriteFile(image, 0, expected.AsSpan(0, 2 * MiB));

        using var daemon = QemuStorageDaemon.StartFile(image, queues, writable: true, direct, blockSize, dir);
        var engine = PmdEngine.Start(Options(daemon.DeviceString, queues, indirect, eventIdx));
        try
        {
            var dev = engine.Device;
            Assert.That(dev.BlockSize, Is.EqualTo(blockSize));
            Assert.That(dev.CapacityBytes, Is.EqualTo(ImageBytes));
            Assert.That(dev.BlockCount, Is.EqualTo(ImageBytes / blockSize));
            Assert.That(dev.Config.Capacity, Is.EqualTo((ulong)(ImageBytes / 512)), "capacity is in 512-byte sectors whatever the block size");
            Assert.That(dev.Config.NumQueues, Is.EqualTo(queues));
            Assert.That(dev.QueueCount, Is.EqualTo(queues));
            Assert.That(dev.ReadOnly, Is.False);
            Assert.That(dev.Features.HasFlag(VirtioFeatures.RingIndirectDesc), Is.EqualTo(indirect));
            Assert.That(dev.Features.HasFlag(VirtioFeatures.RingEventIdx), Is.EqualTo(eventIdx));
            Assert.That(dev.Features & (VirtioFeatures.RingPacked | VirtioFeatures.BlkReadOnly), Is.EqualTo(VirtioFeatures.None));
            Assert.That(dev.Features.HasFlag(VirtioFeatures.BlkFlush | VirtioFeatures.BlkDiscard | VirtioFeatures.BlkWriteZeroes), Is.True);
            long Lba(long byteOffset) => byteOffset / blockSize;

            // 1. What the file held is read through the engine: 4 KiB reads from several callers, a 1 MiB read, a
            //    vectored read of 4 buffers.
            await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(async () =>
            {
                using var buf = dev.Rent(4096);
                for (long off = t * 4096L; off < MiB; off += 4 * 4096L)
                {
                    buf.Span.Fill(0xEE);
                    await dev.ReadAsync(Lba(off), buf.Memory);
                    AssertSameBytes(buf.Span, expected.AsSpan((int)off, 4096), $"pre-written data at byte {off}");
                }
            })));
            using (var big = dev.Rent(MiB))
            {
                await dev.ReadAsync(Lba(MiB), big.Memory);
                AssertSameBytes(big.Span, expected.AsSpan(MiB, MiB), "a 1 MiB read of pre-written data");
            }
            var segments = Enumerable.Range(0, 4).Select(_ => dev.Rent(4096)).ToArray();
            try
            {
                await dev.ReadVectoredAsync(Lba(64 << 10), segments.Select(s => s.Memory).ToArray());
                for (int i = 0; i < segments.Length; i++)
                    AssertSameBytes(segments[i].Span, expected.AsSpan((64 << 10) + i * 4096, 4096), $"vectored read segment {i}");

                // 2. Writes. From each queue's reactor (callback form): queue q writes 32 × 32 KiB at 4 MiB + q MiB.
                for (int q = 0; q < queues; q++)
                {
                    var queue = dev.GetQueue(q);
                    const int N = 32, Chunk = 32 << 10;
                    long at = 4L * MiB + q * MiB;
                    using var buf = dev.Rent(N * Chunk);
                    Fill(buf.Span, at, seed: 2);
                    buf.Span.CopyTo(expected.AsSpan((int)at, N * Chunk));
                    var tally = new Tally(N);
                    queue.Reactor.Post(_ =>
                    {
                        for (int i = 0; i < N; i++)
                            Assert.That(queue.TrySubmitWrite(Lba(at + i * Chunk), buf, i * Chunk, Chunk, tally, i), Is.True);
                    }, null);
                    Assert.That(tally.All.Wait(TimeSpan.FromSeconds(20)), Is.True, $"writes on queue {q}; daemon log: {daemon.Log}");
                    Assert.That(tally.Statuses, Is.All.EqualTo(IoStatus.Ok));
                    Assert.That(tally.Completions, Is.All.EqualTo(1));
                    Assert.That(queue.Counters.Requests, Is.GreaterThanOrEqualTo(N), $"queue {q} carried its writes");
                }

                // From tasks on the thread pool: 4 × 1 MiB at [6 MiB, 10 MiB) in chunks of 4 KiB to 256 KiB.
                int[] sizes = [4096, 8192, 64 << 10, 256 << 10, 12288];
                await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(async () =>
                {
                    using var buf = dev.Rent(256 << 10);
                    long off = 6L * MiB + t * MiB, end = off + MiB;
                    for (int i = 0; off < end; i++)
                    {
                        int n = (int)Math.Min(sizes[(i + t) % sizes.Length], end - off);
                        var span = buf.Memory[..n];
                        Fill(span.Span, off, seed: 3);
                        lock (expected) span.Span.CopyTo(expected.AsSpan((int)off, n));
                        await dev.WriteAsync(Lba(off), span);
                        off += n;
                    }
                })));

                // Vectored (4 buffers, one request), bounced (managed memory) and the device's last block.
                long vat = 10L * MiB;
                for (int i = 0; i < segments.Length; i++)
                {
                    Fill(segments[i].Span, vat + i * 4096, seed: 4);
                    segments[i].Span.CopyTo(expected.AsSpan((int)vat + i * 4096, 4096));
                }
                await dev.WriteVectoredAsync(Lba(vat), segments.Select(s => (ReadOnlyMemory<byte>)s.Memory).ToArray());
                var managed = Pattern(11L * MiB, 64 << 10, seed: 5);
                managed.CopyTo(expected.AsSpan(11 * MiB));
                await dev.WriteAsync(Lba(11L * MiB), managed);
                var last = Pattern(ImageBytes - blockSize, blockSize, seed: 6);
                last.CopyTo(expected.AsSpan((int)(ImageBytes - blockSize)));
                await dev.WriteAsync(dev.BlockCount - 1, last);
                await dev.FlushAsync();

                // 3. An independent reader sees every byte in the backing file.
                AssertSameBytes(ReadFile(image, 0, (int)ImageBytes), expected, "the backing file after flush");

                // 4. And the engine reads the same back (1 MiB at a time, and 4 KiB reads across a write boundary).
                using var chunk = dev.Rent(MiB);
                for (long off = 0; off < ImageBytes; off += MiB)
                {
                    await dev.ReadAsync(Lba(off), chunk.Memory);
                    AssertSameBytes(chunk.Span, expected.AsSpan((int)off, MiB), $"read back at {off / MiB} MiB");
                }
                var small = new byte[8192];
                await dev.ReadAsync(Lba(10L * MiB - 4096), small);
                AssertSameBytes(small, expected.AsSpan(10 * MiB - 4096, 8192), "a bounced read across the boundary of two writes");
            }
            finally
            {
                foreach (var s in segments) s.Dispose();
            }
            AssertHealthy(engine, daemon);
        }
        finally
        {
            engine.Dispose();
        }
        Assert.That(engine.Outstanding, Is.Zero);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task DataWrittenBeforeTheDaemonStartedIsReadAndWritesSurviveARestartOfEngineAndDaemon([Values] bool direct)
    {
        QemuStorageDaemon.RequireInstalled();
        string dir = QemuStorageDaemon.NewDirectory();          // the image's own: each daemon removes its directory when disposed
        string image = CreateImage(dir, ImageBytes);
        var before = Pattern(3L * MiB, MiB, seed: 7);
        WriteFile(image, 3L * MiB, before);
        var written = Pattern(5L * MiB, 256 << 10, seed: 8);

        try
        {
            using (var daemon = QemuStorageDaemon.StartFile(image, direct: direct))
            using (var engine = PmdEngine.Start(Options(daemon.DeviceString)))
            {
                var dev = engine.Device;
                var got = new byte[MiB];
                await dev.ReadAsync(3L * MiB / 512, got);
                AssertSameBytes(got, before, "data written into the file beforehand");
                await dev.WriteAsync(5L * MiB / 512, written);
                await dev.FlushAsync();
                AssertHealthy(engine, daemon);
            }
            // The daemon is gone (SIGTERM, clean exit); the file alone holds the data.
            AssertSameBytes(ReadFile(image, 5L * MiB, written.Length), written, "the file after the daemon stopped");

            using (var daemon = QemuStorageDaemon.StartFile(image, direct: !direct))
            using (var engine = PmdEngine.Start(Options(daemon.DeviceString)))
            {
                var got = new byte[written.Length];
                await engine.Device.ReadAsync(5L * MiB / 512, got);
                AssertSameBytes(got, written, "a fresh daemon and engine read what the first pair wrote");
                AssertHealthy(engine, daemon);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task NullExportServesConcurrentMixedTrafficOnEveryQueue([Values(1, 2)] int queues, [Values] bool indirect)
    {
        using var daemon = QemuStorageDaemon.StartNull(sizeBytes: 256L << 20, queues: queues);
        var engine = PmdEngine.Start(Options(daemon.DeviceString, queues, indirect));
        try
        {
            var dev = engine.Device;
            Assert.That(dev.CapacityBytes, Is.EqualTo(256L << 20));
            const int Tasks = 6, PerTask = 300;
            await Task.WhenAll(Enumerable.Range(0, Tasks).Select(t => Task.Run(async () =>
            {
                var rng = new Random(t);
                using var buf = dev.Rent(128 << 10);
                for (int i = 0; i < PerTask; i++)
                {
                    int n = 4096 << rng.Next(6);                      // 4 KiB .. 128 KiB
                    long lba = rng.NextInt64(dev.BlockCount - n / 512);
                    if (i % 3 == 0)
                    {
                        await dev.WriteAsync(lba, buf.Memory[..n]);
                    }
                    else
                    {
                        buf.Span[..n].Fill(0xFF);
                        await dev.ReadAsync(lba, buf.Memory[..n]);
                        // read-zeroes=on: the daemon really wrote into our memory.
                        Assert.That(buf.Span[..n].IndexOfAnyExcept((byte)0), Is.EqualTo(-1), $"task {t} read {i}");
                    }
                }
            })));
            // Each queue, from its own reactor: 32 reads in flight at once.
            for (int q = 0; q < queues; q++)
            {
                var queue = dev.GetQueue(q);
                using var buf = dev.Rent(32 * 4096);
                var tally = new Tally(32);
                queue.Reactor.Post(_ =>
                {
                    for (int i = 0; i < 32; i++) Assert.That(queue.TrySubmitRead(i * 8, buf, i * 4096, 4096, tally, i), Is.True);
                }, null);
                Assert.That(tally.All.Wait(TimeSpan.FromSeconds(20)), Is.True, $"queue {q}; daemon log: {daemon.Log}");
                Assert.That(tally.Statuses, Is.All.EqualTo(IoStatus.Ok));
            }
            long requests = Enumerable.Range(0, queues).Sum(q => dev.GetQueue(q).Counters.Requests);
            Assert.That(requests, Is.EqualTo(Tasks * PerTask + 32 * queues));
            AssertHealthy(engine, daemon);
        }
        finally
        {
            engine.Dispose();
        }
        Assert.That(engine.Outstanding, Is.Zero);
    }
}
