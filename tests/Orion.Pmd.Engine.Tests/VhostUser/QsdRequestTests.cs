using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Engine.Tests.VhostUser.Support;
using Orion.Pmd.Virtio;
using static Orion.Pmd.Engine.Tests.VhostUser.QsdTestKit;

namespace Orion.Pmd.Engine.Tests.VhostUser;

/// <summary>
/// Every request type qemu-storage-daemon 7.2's vhost-user-blk export supports, with the status it returns
/// (../shared/reference/vhost-user-qsd.md §4): read, write, flush, get-id, discard and write-zeroes on a file export
/// (checked in the file), the same on a null-co export, a read-only export, and the arguments the device would fail
/// with IOERR, which <see cref="BlockDevice"/> refuses itself before anything reaches the daemon. The API cannot
/// issue the types the export answers UNSUPP to (GET_LIFETIME, SECURE_ERASE, discard with UNMAP).
/// </summary>
[NonParallelizable]
public class QsdRequestTests
{
    private const int MiB = 1 << 20;

    [Test]
    [CancelAfter(60_000)]
    public async Task FileExportServesEveryRequestType([Values(512, 4096)] int blockSize, [Values] bool direct)
    {
        QemuStorageDaemon.RequireInstalled();
        const long ImageBytes = 32L << 20;                     // more than one discard's limit (32768 sectors = 16 MiB)
        string dir = QemuStorageDaemon.NewDirectory();
        string image = CreateImage(dir, ImageBytes);
        using var daemon = QemuStorageDaemon.StartFile(image, writable: true, direct: direct, logicalBlockSize: blockSize, directory: dir);
        var engine = PmdEngine.Start(Options(daemon.DeviceString));
        try
        {
            var dev = engine.Device;
            var queue = dev.GetQueue(0);
            int spb = blockSize / 512;
            long Lba(long byteOffset) => byteOffset / blockSize;

            // What the export reports (§4).
            Assert.That(dev.Features.HasFlag(VirtioFeatures.BlkFlush | VirtioFeatures.BlkDiscard | VirtioFeatures.BlkWriteZeroes |
                                             VirtioFeatures.BlkConfigWce | VirtioFeatures.BlkBlockSize | VirtioFeatures.BlkMultiQueue), Is.True,
                        dev.Features.Describe());
            Assert.That(dev.Config.BlockSize, Is.EqualTo((uint)blockSize));
            Assert.That(dev.Config.SegMax, Is.EqualTo(126u));
            Assert.That(dev.Config.MaxDiscardSectors, Is.EqualTo(32768u));
            Assert.That(dev.Config.MaxDiscardSeg, Is.EqualTo(1u));
            Assert.That(dev.Config.DiscardSectorAlignment, Is.EqualTo((uint)spb));
            Assert.That(dev.Config.MaxWriteZeroesSectors, Is.EqualTo(32768u));
            Assert.That(dev.WriteCacheEnabled, Is.False, "qemu-storage-daemon 7.2 starts with wce = 0");

            // GET_ID: qemu-storage-daemon 7.2 has no serial option and always answers this.
            Assert.That(await dev.GetIdAsync(), Is.EqualTo("vhost_user_blk"));

            // WRITE, FLUSH, READ: 1 MiB of data at 1 MiB.
            var data = Pattern(MiB, MiB, seed: 11);
            await dev.WriteAsync(Lba(MiB), data);
            await dev.FlushAsync();
            AssertSameBytes(ReadFile(image, MiB, MiB), data, "written data in the file");
            var back = new byte[MiB];
            await dev.ReadAsync(Lba(MiB), back);
            AssertSameBytes(back, data, "read back");

            // WRITE_ZEROES in the middle (without and with may-unmap): zeroes through the engine and in the file; the
            // data on either side is untouched.
            long z1 = MiB + 64 * 1024, z2 = MiB + 512 * 1024;
            const int ZeroBytes = 128 * 1024;
            await dev.WriteZeroesAsync(Lba(z1), ZeroBytes / blockSize);
            await dev.WriteZeroesAsync(Lba(z2), ZeroBytes / blockSize, mayUnmap: true);
            await dev.FlushAsync();
            Array.Clear(data, (int)(z1 - MiB), ZeroBytes);
            Array.Clear(data, (int)(z2 - MiB), ZeroBytes);
            await dev.ReadAsync(Lba(MiB), back);
            AssertSameBytes(back, data, "write-zeroes read back through the engine");
            AssertSameBytes(ReadFile(image, MiB, MiB), data, "write-zeroes in the file");

            // DISCARD (one segment, no UNMAP flag: OK). The file driver's default discard=ignore keeps the data, so
            // only the status and the neighbours are checked.
            long d = 4L * MiB;
            var around = Pattern(d - 4096, 3 * 64 * 1024, seed: 12);
            await dev.WriteAsync(Lba(d - 4096), around);
            await dev.DiscardAsync(Lba(d), 64 * 1024 / blockSize);
            await dev.DiscardAsync(Lba(16L * MiB), 32768 / spb);  // exactly the device's per-range limit, away from the data
            await dev.FlushAsync();
            var file = ReadFile(image, d - 4096, around.Length);
            AssertSameBytes(file.AsSpan(0, 4096), around.AsSpan(0, 4096), "before the discarded range");
            AssertSameBytes(file.AsSpan(4096 + 64 * 1024), around.AsSpan(4096 + 64 * 1024), "after the discarded range");

            // The callback forms, on the reactor: flush and discard.
            var tally = new Tally(2);
            queue.Reactor.Post(_ =>
            {
                Assert.That(queue.TrySubmitFlush(tally, 0), Is.True);
                Assert.That(queue.TrySubmitDiscard(Lba(8L * MiB), 8, tally, 1), Is.True);
            }, null);
            Assert.That(tally.All.Wait(TimeSpan.FromSeconds(10)), Is.True, $"daemon log: {daemon.Log}");
            Assert.That(tally.Statuses, Is.All.EqualTo(IoStatus.Ok));

            // A range beyond the device's per-range limit is refused before it reaches the daemon.
            long before = queue.Counters.Requests;
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => { _ = dev.DiscardAsync(0, 32768 / spb + 1); });
            Assert.That(e!.Message, Does.Contain("limit of 32768 sectors"));
            e = Assert.Throws<ArgumentOutOfRangeException>(() => { _ = dev.WriteZeroesAsync(0, 32768 / spb + 1); });
            Assert.That(e!.Message, Does.Contain("limit of 32768 sectors"));
            Assert.That(queue.Counters.Requests, Is.EqualTo(before), "nothing was submitted");

            // GET_ID, 2 writes, 4 flushes, 2 reads, 2 write-zeroes, 3 discards.
            Assert.That(queue.Counters.Requests, Is.EqualTo(14));
            AssertHealthy(engine, daemon);
        }
        finally
        {
            engine.Dispose();
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task NullExportAnswersEveryRequestTypeOk()
    {
        using var daemon = QemuStorageDaemon.StartNull(sizeBytes: 64 << 20);
        var engine = PmdEngine.Start(Options(daemon.DeviceString));
        try
        {
            var dev = engine.Device;
            Assert.That(dev.CapacityBytes, Is.EqualTo(64L << 20));
            using var buf = dev.Rent(64 * 1024);
            buf.Span.Fill(0x5A);
            await dev.WriteAsync(0, buf.Memory);
            await dev.FlushAsync();
            buf.Span.Fill(0xFF);
            await dev.ReadAsync(0, buf.Memory);
            Assert.That(buf.Span.IndexOfAnyExcept((byte)0), Is.EqualTo(-1), "read-zeroes=on: a null device reads zeroes, whatever was written");
            await dev.DiscardAsync(0, 128);
            await dev.WriteZeroesAsync(128, 128);
            await dev.WriteZeroesAsync(256, 128, mayUnmap: true);
            Assert.That(await dev.GetIdAsync(), Is.EqualTo("vhost_user_blk"));
            Assert.That(dev.GetQueue(0).Counters.Requests, Is.EqualTo(7));
            AssertHealthy(engine, daemon);
        }
        finally
        {
            engine.Dispose();
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task TheWriteCacheModeIsSetInTheDaemon()
    {
        using var daemon = QemuStorageDaemon.StartNull(sizeBytes: 64 << 20);
        using (var engine = PmdEngine.Start(Options(daemon.DeviceString)))
        {
            var dev = engine.Device;
            Assert.That(dev.WriteCacheEnabled, Is.False);
            dev.SetWriteCache(true);
            Assert.That(dev.WriteCacheEnabled, Is.True);
            using var buf = dev.Rent(4096);
            await dev.WriteAsync(0, buf.Memory);
            await dev.FlushAsync();
            AssertHealthy(engine, daemon);
        }
        // The export keeps the mode: a new connection reads it back from the daemon's config space.
        using (var engine = PmdEngine.Start(Options(daemon.DeviceString)))
        {
            Assert.That(engine.Device.Config.Writeback, Is.EqualTo(1), "SET_CONFIG reached the daemon");
            Assert.That(engine.Device.WriteCacheEnabled, Is.True);
            engine.Device.SetWriteCache(false);
            AssertHealthy(engine, daemon);
        }
        using (var engine = PmdEngine.Start(Options(daemon.DeviceString)))
        {
            Assert.That(engine.Device.Config.Writeback, Is.Zero);
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AReadOnlyExportIsReadOnlyInTheEngine([Values(512, 4096)] int blockSize)
    {
        QemuStorageDaemon.RequireInstalled();
        const long ImageBytes = 8L << 20;
        string dir = QemuStorageDaemon.NewDirectory();
        string image = CreateImage(dir, ImageBytes);
        var content = Pattern(0, (int)ImageBytes, seed: 21);
        WriteFile(image, 0, content);
        using var daemon = QemuStorageDaemon.StartFile(image, writable: false, logicalBlockSize: blockSize, directory: dir);
        var engine = PmdEngine.Start(Options(daemon.DeviceString));
        try
        {
            var dev = engine.Device;
            var queue = dev.GetQueue(0);
            Assert.That(dev.Features.HasFlag(VirtioFeatures.BlkReadOnly), Is.True, "writable=off sets VIRTIO_BLK_F_RO");
            Assert.That(dev.ReadOnly, Is.True);
            Assert.That(dev.BlockSize, Is.EqualTo(blockSize));
            Assert.That(dev.CapacityBytes, Is.EqualTo(ImageBytes));

            // Reads, flush and get-id work on a read-only export.
            var back = new byte[256 * 1024];
            await dev.ReadAsync(MiB / blockSize, back);
            AssertSameBytes(back, content.AsSpan(MiB, back.Length), "read from a read-only export");
            await dev.FlushAsync();
            Assert.That(await dev.GetIdAsync(), Is.EqualTo("vhost_user_blk"));
            long requests = queue.Counters.Requests;
            Assert.That(requests, Is.EqualTo(3));

            // Every kind of write is refused by the engine before it reaches the daemon (which would answer IOERR).
            using var buf = dev.Rent(blockSize);
            var refusals = new List<InvalidOperationException>
            {
                Assert.Throws<InvalidOperationException>(() => { _ = dev.WriteAsync(0, buf.Memory); })!,
                Assert.Throws<InvalidOperationException>(() => { _ = dev.WriteAsync(0, new byte[blockSize]); })!,
                Assert.Throws<InvalidOperationException>(() => { _ = dev.WriteVectoredAsync(0, new ReadOnlyMemory<byte>[] { buf.Memory }); })!,
                Assert.Throws<InvalidOperationException>(() => { _ = dev.DiscardAsync(0, 1); })!,
                Assert.Throws<InvalidOperationException>(() => { _ = dev.WriteZeroesAsync(0, 1); })!,
                Assert.Throws<InvalidOperationException>(() => queue.TrySubmitWrite(0, buf, 0, blockSize, new Tally(1), 0))!,
            };
            foreach (var r in refusals) Assert.That(r.Message, Does.Contain("read-only").And.Contain("VIRTIO_BLK_F_RO"));
            Assert.That(queue.Counters.Requests, Is.EqualTo(requests), "no write reached the daemon");

            AssertSameBytes(ReadFile(image, 0, (int)ImageBytes), content, "the file is untouched");
            AssertHealthy(engine, daemon);
        }
        finally
        {
            engine.Dispose();
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ArgumentsTheDeviceWouldFailAreRefusedBeforeReachingIt([Values(512, 4096)] int blockSize)
    {
        using var daemon = QemuStorageDaemon.StartNull(sizeBytes: 64 << 20, logicalBlockSize: blockSize);
        var engine = PmdEngine.Start(Options(daemon.DeviceString));
        try
        {
            var dev = engine.Device;
            var queue = dev.GetQueue(0);
            Assert.That(dev.BlockSize, Is.EqualTo(blockSize));
            long blocks = dev.BlockCount;
            Assert.That(blocks, Is.EqualTo((64L << 20) / blockSize));
            using var one = dev.Rent(blockSize);
            using var two = dev.Rent(2 * blockSize);

            // Past the capacity (the daemon would answer IOERR): a clear ArgumentOutOfRangeException naming the device's size.
            foreach (var (lba, buffer) in new[] { (blocks, one), (blocks - 1, two), (-1L, one), (long.MaxValue / blockSize, one) })
            {
                var e = Assert.Throws<ArgumentOutOfRangeException>(() => { _ = dev.ReadAsync(lba, buffer.Memory); }, $"read at {lba}")!;
                Assert.That(e.Message, Does.Contain("outside the device").And.Contain($"{blocks} blocks of {blockSize} bytes"));
                Assert.Throws<ArgumentOutOfRangeException>(() => { _ = dev.WriteAsync(lba, buffer.Memory); }, $"write at {lba}");
            }
            Assert.Throws<ArgumentOutOfRangeException>(() => { _ = dev.DiscardAsync(blocks - 1, 2); });
            Assert.Throws<ArgumentOutOfRangeException>(() => { _ = dev.WriteZeroesAsync(blocks, 1); });
            Assert.Throws<ArgumentOutOfRangeException>(() => { _ = dev.DiscardAsync(0, 0); });

            // Lengths that are not whole blocks (the daemon would answer IOERR for 100 bytes; for 4 KiB blocks the
            // engine also refuses 512 bytes, which it measures in its own block size).
            foreach (int bad in new[] { 100, blockSize / 2, blockSize + 512 })
            {
                if (bad % blockSize == 0) continue;
                var e = Assert.Throws<ArgumentException>(() => { _ = dev.ReadAsync(0, two.Memory[..bad]); })!;
                Assert.That(e.Message, Does.Contain($"not a multiple of the {blockSize}-byte block size"));
                Assert.Throws<ArgumentException>(() => { _ = dev.WriteAsync(0, two.Memory[..bad]); });
            }
            Assert.Throws<ArgumentException>(() => { _ = dev.ReadAsync(0, Memory<byte>.Empty); });

            // Vectored requests: none, too many, or memory the device cannot reach without a bounce.
            Assert.Throws<ArgumentException>(() => { _ = dev.ReadVectoredAsync(0, ReadOnlySpan<Memory<byte>>.Empty); });
            var many = Enumerable.Repeat(one.Memory, dev.MaxSegments + 1).ToArray();
            Assert.Throws<ArgumentException>(() => { _ = dev.ReadVectoredAsync(0, many); });
            Assert.Throws<ArgumentException>(() => { _ = dev.ReadVectoredAsync(0, new Memory<byte>[] { new byte[blockSize] }); });

            // The callback form checks the same, and a slice outside the buffer.
            var tally = new Tally(1);
            Assert.That(CatchOnReactor(queue, () => queue.TrySubmitRead(blocks, one, 0, blockSize, tally, 0)),
                        Is.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("outside the device"));
            Assert.That(CatchOnReactor(queue, () => queue.TrySubmitRead(0, one, blockSize, blockSize, tally, 0)),
                        Is.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("outside the"));
            Assert.That(CatchOnReactor(queue, () => queue.TrySubmitDiscard(blocks, 1, tally, 0)), Is.TypeOf<ArgumentOutOfRangeException>());

            Assert.That(queue.Counters.Requests, Is.Zero, "nothing reached the daemon");

            // The device's real edges work: the last block, and the whole device's last 1 MiB.
            await dev.ReadAsync(blocks - 1, one.Memory);
            using var mib = dev.Rent(MiB);
            await dev.ReadAsync(blocks - MiB / blockSize, mib.Memory);
            await dev.WriteAsync(blocks - 1, one.Memory);
            Assert.That(queue.Counters.Requests, Is.EqualTo(3));
            AssertHealthy(engine, daemon);
        }
        finally
        {
            engine.Dispose();
        }
    }
}
