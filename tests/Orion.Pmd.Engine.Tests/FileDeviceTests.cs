using Orion.Pmd.Device;
using Orion.Pmd.Device.Backends;
using Orion.Pmd.Engine;
using Orion.Pmd.Engine.Transport;

namespace Orion.Pmd.Engine.Tests;

/// <summary>
/// <c>file:</c> devices through the whole engine: what the API writes is in the backing file byte for byte (read with
/// an independent reader), with and without O_DIRECT, at 512- and 4096-byte blocks; discard and write-zeroes leave
/// zeroes, flush works, read-only refuses writes, and buffers that are not aligned for O_DIRECT are bounced.
/// </summary>
public class FileDeviceTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("orion-filedevice-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name = "disk.img") => Path.Combine(_dir, name);

    private static byte[] Random(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    private static FileBackend BackendOf(PmdEngine engine) => (FileBackend)((EmbeddedTransport)engine.Transport).Device.Backend;

    [TestCase("", 512)]
    [TestCase(",direct", 512)]
    [TestCase(",bs=4096", 4096)]
    [TestCase(",direct,bs=4096", 4096)]
    public void WritesLandInTheFileByteForByte(string options, int blockSize)
    {
        string path = PathOf();
        var expected = new byte[4 << 20];
        var rnd = new Random(42);
        using (var engine = ManualEngine.Start($"file:{path},size=4M{options}"))
        {
            var dev = engine.Device;
            Assert.That(dev.BlockSize, Is.EqualTo(blockSize));
            Assert.That(dev.CapacityBytes, Is.EqualTo(4L << 20));
            Assert.That(dev.Description, Does.Contain($"file:{path} (4 MiB{(options.Contains("direct") ? ", direct" : "")})"));
            for (int i = 0; i < 40; i++)
            {
                int blocks = rnd.Next(1, 16);
                long lba = rnd.NextInt64(0, dev.BlockCount - blocks);
                using var w = dev.Rent(blocks * blockSize);
                rnd.NextBytes(w.Span);
                engine.Wait(dev.WriteAsync(lba, w.Memory));
                w.Span.CopyTo(expected.AsSpan((int)(lba * blockSize)));
                using var r = dev.Rent(blocks * blockSize);
                engine.Wait(dev.ReadAsync(lba, r.Memory));
                Assert.That(r.Span.SequenceEqual(w.Span), Is.True, $"read back at LBA {lba}, {blocks} blocks");
            }
            engine.Wait(dev.FlushAsync());
            Assert.That(BackendOf(engine).BouncedTransfers, Is.Zero, "DMA buffers are aligned: no copy in the backend");
            // An independent reader sees the data while the engine still runs (O_DIRECT writes bypass no one's cache but their own).
            Assert.That(ReadShared(path), Is.EqualTo(expected));
        }
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(expected));
    }

    private static byte[] ReadShared(string path)
    {
        using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var bytes = new byte[s.Length];
        s.ReadExactly(bytes);
        return bytes;
    }

    [TestCase("")]
    [TestCase(",direct")]
    public void AnExistingFileIsServedAsItIs(string options)
    {
        string path = PathOf();
        var contents = Random(3 << 20, 1);
        File.WriteAllBytes(path, contents);
        using (var engine = ManualEngine.Start($"file:{path}{options}"))
        {
            var dev = engine.Device;
            Assert.That(dev.CapacityBytes, Is.EqualTo(contents.Length), "the capacity is the file's size");
            using var r = dev.Rent(1 << 20);
            engine.Wait(dev.ReadAsync(2048, r.Memory));
            Assert.That(r.Span.SequenceEqual(contents.AsSpan(2048 * 512, 1 << 20)), Is.True);
        }
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(contents), "reading changes nothing");
    }

    [Test]
    public void SizeExtendsASmallerFileAndLeavesALargerOne()
    {
        string path = PathOf();
        var head = Random(8192, 2);
        File.WriteAllBytes(path, head);
        using (var engine = ManualEngine.Start($"file:{path},size=1M"))
        {
            Assert.That(engine.Device.CapacityBytes, Is.EqualTo(1 << 20));
            using var r = engine.Device.Rent(8192);
            engine.Wait(engine.Device.ReadAsync(0, r.Memory));
            Assert.That(r.Span.SequenceEqual(head), Is.True, "extending keeps what was there");
        }
        using (var engine = ManualEngine.Start($"file:{path},size=512k"))
            Assert.That(engine.Device.CapacityBytes, Is.EqualTo(1 << 20), "a larger file keeps its size (size= is a minimum, as in fio)");
        Assert.That(new FileInfo(path).Length, Is.EqualTo(1 << 20));
    }

    [Test]
    public void WithoutSizeTheFileMustExist()
    {
        string path = PathOf("missing.img");
        var e = Assert.Throws<Linux.LinuxException>(() => ManualEngine.Start($"file:{path}"));
        Assert.That(e!.Message, Does.Contain(path).And.Contain("ENOENT"));
        Assert.That(File.Exists(path), Is.False, "nothing is created without size=");
    }

    [Test]
    public void AFileWhoseSizeIsNoMultipleOfTheBlockIsRefusedClearly()
    {
        string path = PathOf();
        File.WriteAllBytes(path, new byte[6144]);
        var e = Assert.Throws<InvalidDataException>(() => ManualEngine.Start($"file:{path},bs=4096"));
        Assert.That(e!.Message, Does.Contain(path).And.Contain("6144 bytes").And.Contain("4096 or 8192 bytes"));
        File.WriteAllBytes(path, []);
        Assert.That(() => ManualEngine.Start($"file:{path}"), Throws.TypeOf<InvalidDataException>().With.Message.Contains("is empty"));
    }

    [TestCase("")]
    [TestCase(",direct")]
    public void ReadOnlyRefusesWritesAndLeavesTheFileAlone(string options)
    {
        string path = PathOf();
        var contents = Random(1 << 20, 3);
        File.WriteAllBytes(path, contents);
        using (var engine = ManualEngine.Start($"file:{path},ro{options}"))
        {
            var dev = engine.Device;
            Assert.That(dev.ReadOnly, Is.True);
            Assert.That(BackendOf(engine).ReadOnly, Is.True, "the file itself is open read-only");
            using var buf = dev.Rent(4096);
            Assert.That(() => dev.WriteAsync(0, buf.Memory), Throws.InvalidOperationException.With.Message.Contains("read-only"));
            Assert.That(() => dev.DiscardAsync(0, 8), Throws.InvalidOperationException.With.Message.Contains("read-only"));
            Assert.That(() => dev.WriteZeroesAsync(0, 8), Throws.InvalidOperationException.With.Message.Contains("read-only"));
            engine.Wait(dev.ReadAsync(8, buf.Memory));
            Assert.That(buf.Span.SequenceEqual(contents.AsSpan(8 * 512, 4096)), Is.True);
            engine.Wait(dev.FlushAsync());
        }
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(contents));
    }

    [TestCase("", false)]
    [TestCase(",direct", false)]
    [TestCase("", true)]
    [TestCase(",direct,bs=4096", true)]
    public void DiscardAndWriteZeroesLeaveZeroesInTheFile(string options, bool writeZeroes)
    {
        string path = PathOf();
        var contents = Random(2 << 20, 4);
        File.WriteAllBytes(path, contents);
        var expected = (byte[])contents.Clone();
        using (var engine = ManualEngine.Start($"file:{path}{options}"))
        {
            var dev = engine.Device;
            int bs = dev.BlockSize;
            long lba = (64 << 10) / bs, blocks = (256 << 10) / bs;
            engine.Wait(writeZeroes ? dev.WriteZeroesAsync(lba, blocks) : dev.DiscardAsync(lba, blocks));
            Array.Clear(expected, 64 << 10, 256 << 10);
            using var r = dev.Rent(512 << 10);
            engine.Wait(dev.ReadAsync(0, r.Memory));
            Assert.That(r.Span.SequenceEqual(expected.AsSpan(0, 512 << 10)), Is.True, "the device reads zeroes in exactly that range");
        }
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(expected));
    }

    [TestCase(true)]
    [TestCase(false)]
    public void FlushWorksWithTheWriteCacheOnAndOff(bool writeCache)
    {
        string path = PathOf();
        var data = Random(64 << 10, 5);
        using (var engine = ManualEngine.Start($"file:{path},size=1M,direct"))
        {
            var dev = engine.Device;
            dev.SetWriteCache(writeCache);
            Assert.That(dev.WriteCacheEnabled, Is.EqualTo(writeCache));
            using var w = dev.Rent(data.Length);
            data.CopyTo(w.Span);
            engine.Wait(dev.WriteAsync(16, w.Memory));     // write-through: fdatasync before it completes
            engine.Wait(dev.FlushAsync());
            Assert.That(ReadShared(path).AsSpan(16 * 512, data.Length).SequenceEqual(data), Is.True);
        }
    }

    [Test]
    public void UnalignedBuffersWithDirectIoAreBouncedAndExact()
    {
        string path = PathOf();
        var contents = Random(1 << 20, 6);
        File.WriteAllBytes(path, contents);
        var expected = (byte[])contents.Clone();
        using (var engine = ManualEngine.Start($"file:{path},direct"))
        {
            var dev = engine.Device;
            var backend = BackendOf(engine);
            // A DMA buffer slice 100 bytes into a 4 KiB-aligned buffer travels zero-copy to the device, and reaches the
            // file backend at an address O_DIRECT cannot take (statx's dio_mem_align is 512 here): the backend bounces it.
            using var big = dev.Rent(16384);
            var slice = big.Memory.Slice(100, 8192);
            Random(8192, 7).CopyTo(slice.Span);
            engine.Wait(dev.WriteAsync(3, slice));
            slice.Span.CopyTo(expected.AsSpan(3 * 512));
            Assert.That(backend.BouncedTransfers, Is.EqualTo(1));

            // Vectored: pieces of 512 bytes at odd places in their buffers.
            using var a = dev.Rent(4096);
            using var b = dev.Rent(4096);
            var pieces = new ReadOnlyMemory<byte>[] { a.Memory.Slice(1024, 512), b.Memory.Slice(3584, 512), a.Memory[..1024] };
            Random(4096, 8).CopyTo(a.Span);
            Random(4096, 9).CopyTo(b.Span);
            engine.Wait(dev.WriteVectoredAsync(100, pieces));
            int at = 100 * 512;
            foreach (var p in pieces) { p.Span.CopyTo(expected.AsSpan(at)); at += p.Length; }

            // Managed memory is bounced by the engine into an aligned DMA buffer: straight through in the backend.
            var managed = Random(4096, 10);
            long before = backend.BouncedTransfers;
            engine.Wait(dev.WriteAsync(1000, managed));
            managed.CopyTo(expected.AsSpan(1000 * 512));
            Assert.That(backend.BouncedTransfers, Is.EqualTo(before));

            // A slice at a 512-byte boundary is what O_DIRECT asks for here: it goes to the kernel as it is.
            long aligned = backend.BouncedTransfers;
            engine.Wait(dev.WriteAsync(1100, big.Memory.Slice(512, 4096)));
            big.Memory.Slice(512, 4096).Span.CopyTo(expected.AsSpan(1100 * 512));
            Assert.That(backend.BouncedTransfers, Is.EqualTo(aligned), "a 512-aligned buffer is not bounced");

            var back = big.Memory.Slice(1500, 8192);
            engine.Wait(dev.ReadAsync(3, back));
            Assert.That(back.Span.SequenceEqual(expected.AsSpan(3 * 512, 8192)), Is.True, "read back through the bounce buffer");
            Assert.That(backend.BouncedTransfers, Is.GreaterThan(before));
        }
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(expected));
    }

    private const int Tasks = 4, PerTask = 64;

    [Test]
    [CancelAfter(60_000)]
    public async Task DeviceThreadsAndSeveralQueuesWriteTheFileConcurrently()
    {
        string path = PathOf();
        using (var engine = PmdEngine.Start(new EngineOptions
        {
            Device = $"file:{path},size=8M,direct",
            Queues = 2,
            QueueSize = 64,
            Pin = false,
            DeviceMode = EmbeddedDeviceMode.Adaptive,
            BufferMemoryBytes = 16 << 20,
        }))
        {
            var dev = engine.Device;
            await Task.WhenAll(Enumerable.Range(0, Tasks).Select(t => Task.Run(async () =>
            {
                using var buf = dev.Rent(8192);
                for (int i = 0; i < PerTask; i++)
                {
                    // Unaligned by 512 half the time: device threads bounce concurrently.
                    var slice = buf.Memory.Slice(i % 2 == 0 ? 0 : 512, 4096);
                    slice.Span.Fill((byte)(t * 61 + i));
                    await dev.WriteAsync((t * PerTask + i) * 8L, slice);
                }
            })));
            await dev.FlushAsync();
        }
        var bytes = File.ReadAllBytes(path);
        for (int t = 0; t < Tasks; t++)
            for (int i = 0; i < PerTask; i++)
                Assert.That(bytes.AsSpan((t * PerTask + i) * 4096, 4096).ContainsAnyExcept((byte)(t * 61 + i)), Is.False, $"task {t} write {i}");
    }

    [Test]
    public void CreateBackendOpensTheFileTheStringNames()
    {
        string path = PathOf();
        using (var backend = DeviceString.Parse($"file:{path},size=2M,direct,bs=4096").CreateBackend())
        {
            Assert.That(backend, Is.TypeOf<FileBackend>());
            var file = (FileBackend)backend;
            Assert.That(file.Capacity, Is.EqualTo(2L << 20));
            Assert.That(file.Direct, Is.True);
            Assert.That(file.Path, Is.EqualTo(path));
            Assert.That(file.Description, Is.EqualTo($"file:{path} (2 MiB, direct)"));
        }
        Assert.That(new FileInfo(path).Length, Is.EqualTo(2L << 20));
    }
}
