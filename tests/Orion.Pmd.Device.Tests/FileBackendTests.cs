using System.Runtime.InteropServices;
using Orion.Pmd.Device.Backends;
using Orion.Pmd.Device.Tests.Support;
using Orion.Pmd.Linux;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Device.Tests;

/// <summary>
/// The file backend, alone and behind the software device: data lands in the file byte-exact (checked with an
/// independent reader), with and without O_DIRECT, aligned buffers go straight through and unaligned ones through the
/// per-thread bounce buffer, discard and write-zeroes read back zeroes, read-only refuses changes.
/// </summary>
public class FileBackendTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("orion-filebackend-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    private string FileWith(byte[] contents, string name = "disk.img")
    {
        string path = PathOf(name);
        File.WriteAllBytes(path, contents);
        return path;
    }

    private static byte[] Random(int length, int seed) => Payload.RandomBytes(length, seed);

    // ------------------------------------------------------------------ opening

    [Test]
    public void CapacityIsTheFileSize_AndTheDescriptionSaysWhatItIs()
    {
        string path = FileWith(new byte[3 << 20]);
        using var plain = new FileBackend(new FileBackendOptions { Path = path });
        using var direct = new FileBackend(new FileBackendOptions { Path = path, Direct = true, ReadOnly = true });
        using (Assert.EnterMultipleScope())
        {
            Assert.That(plain.Capacity, Is.EqualTo(3L << 20));
            Assert.That(plain.Description, Is.EqualTo($"file:{path} (3 MiB)"));
            Assert.That(direct.Description, Is.EqualTo($"file:{path} (3 MiB, direct, read-only)"));
            Assert.That(plain.IoAlignment, Is.EqualTo(1));
            Assert.That(direct.IoAlignment, Is.InRange(1, 512), "ext4 on a 512-byte-sector disk");
        }
    }

    [Test]
    public void CreateSize_CreatesAMissingFile_AndExtendsASmallerOne()
    {
        string path = PathOf("new.img");
        using (var b = new FileBackend(new FileBackendOptions { Path = path, CreateSize = 1 << 20 }))
            Assert.That(b.Capacity, Is.EqualTo(1 << 20));
        Assert.That(new FileInfo(path).Length, Is.EqualTo(1 << 20));

        var head = Random(4096, 1);
        File.WriteAllBytes(path, head);
        using (var b = new FileBackend(new FileBackendOptions { Path = path, CreateSize = 2 << 20 }))
            Assert.That(b.Capacity, Is.EqualTo(2 << 20));
        Assert.That(File.ReadAllBytes(path).AsSpan(0, 4096).SequenceEqual(head), Is.True, "extending keeps the data");
    }

    [Test]
    public void WithoutCreateSize_AMissingFileIsAnErrorNamingIt()
    {
        string path = PathOf("missing.img");
        var e = Assert.Throws<LinuxException>(() => new FileBackend(new FileBackendOptions { Path = path }));
        Assert.That(e!.Errno, Is.EqualTo(Errno.ENOENT));
        Assert.That(e.Message, Does.Contain(path));
    }

    [Test]
    public void AnEmptyFileIsRefused()
    {
        string path = FileWith([]);
        var e = Assert.Throws<InvalidDataException>(() => new FileBackend(new FileBackendOptions { Path = path }));
        Assert.That(e!.Message, Does.Contain(path).And.Contain("is empty").And.Contain("size="));
    }

    [Test]
    public void ASizeThatIsNotAMultipleOfTheBlockIsRefusedSayingWhatWouldDo()
    {
        string path = FileWith(new byte[1000]);
        var e = Assert.Throws<InvalidDataException>(() => new FileBackend(new FileBackendOptions { Path = path }));
        Assert.That(e!.Message, Does.Contain(path).And.Contain("1000 bytes").And.Contain("512-byte block").And.Contain("512 or 1024 bytes"));

        string six = FileWith(new byte[6144], "six.img");
        var e4k = Assert.Throws<InvalidDataException>(() => new FileBackend(new FileBackendOptions { Path = six, LogicalBlockSize = 4096 }));
        Assert.That(e4k!.Message, Does.Contain("6144 bytes").And.Contain("4096-byte block").And.Contain("4096 or 8192 bytes"));
        using var ok = new FileBackend(new FileBackendOptions { Path = six });
        Assert.That(ok.Capacity, Is.EqualTo(6144), "6 KiB is fine with 512-byte blocks");
    }

    // ------------------------------------------------------------------ data

    [TestCase(false)]
    [TestCase(true)]
    public void AlignedBuffersGoStraightThroughAndLandInTheFile(bool direct)
    {
        string path = FileWith(new byte[1 << 20]);
        var data = Random(128 << 10, 2);
        using (var b = new FileBackend(new FileBackendOptions { Path = path, Direct = direct }))
        using (var buffer = new AlignedBuffer(data.Length))
        {
            data.CopyTo(buffer.Span);
            b.Write(64 << 10, buffer.Span);
            b.Flush();
            buffer.Span.Clear();
            b.Read(64 << 10, buffer.Span);
            Assert.That(buffer.Span.SequenceEqual(data), Is.True);
            Assert.That(b.BouncedTransfers, Is.Zero, "aligned transfers are not copied");
        }
        var expected = new byte[1 << 20];
        data.CopyTo(expected, 64 << 10);
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(expected));
    }

    [TestCase(0, 4096)]             // aligned offset and length, unaligned (managed) memory
    [TestCase(512, 512)]            // one sector
    [TestCase(100, 1000)]           // neither end on a sector: read-modify-write at both ends
    [TestCase(4000, 200)]           // inside one sector pair
    [TestCase(7, 3)]                // inside one sector
    [TestCase(513, (3 << 20) + 7)]  // more than one bounce chunk
    public void UnalignedTransfersWithDirectIoAreBouncedAndExact(int offset, int length)
    {
        var original = Random(4 << 20, 3);
        string path = FileWith(original);
        var data = Random(length + 1, 4);
        using (var b = new FileBackend(new FileBackendOptions { Path = path, Direct = true }))
        {
            // Slice 1 byte in so the address is unaligned whatever the allocator gave.
            b.Write(offset, data.AsSpan(1));
            var back = new byte[length + 1];
            b.Read(offset, back.AsSpan(1));
            Assert.That(back.AsSpan(1).SequenceEqual(data.AsSpan(1)), Is.True, "read back through the bounce buffer");
            Assert.That(b.BouncedTransfers, Is.EqualTo(2));
        }
        var expected = (byte[])original.Clone();
        data.AsSpan(1).CopyTo(expected.AsSpan(offset));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(expected), "exactly the range changed, the rest of its sectors kept");
    }

    [Test]
    public void WithoutDirectIoNothingIsBounced()
    {
        string path = FileWith(new byte[64 << 10]);
        using var b = new FileBackend(new FileBackendOptions { Path = path });
        var data = Random(1001, 5);
        b.Write(3, data.AsSpan(1));
        var back = new byte[1000];
        b.Read(3, back);
        Assert.That(back, Is.EqualTo(data.AsSpan(1).ToArray()));
        Assert.That(b.BouncedTransfers, Is.Zero);
    }

    [Test]
    public void DeviceThreadsBounceConcurrentlyWithoutDisturbingEachOther()
    {
        // Eight threads write interleaved sectors, so neighbouring sectors of every 4 KiB page come from different
        // threads at once: a bounce buffer shared between threads, or read-modify-write of more than a sector, would
        // lose some of them.
        const int Threads = 8, SectorsEach = 256;
        string path = FileWith(new byte[Threads * SectorsEach * 512]);
        using (var b = new FileBackend(new FileBackendOptions { Path = path, Direct = true }))
        {
            Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads }, t =>
            {
                var sector = new byte[513];
                for (int i = 0; i < SectorsEach; i++)
                {
                    sector.AsSpan(1).Fill((byte)(t * 31 + i));
                    b.Write(((long)i * Threads + t) * 512, sector.AsSpan(1));
                }
            });
        }
        var bytes = File.ReadAllBytes(path);
        for (int s = 0; s < Threads * SectorsEach; s++)
        {
            int t = s % Threads, i = s / Threads;
            Assert.That(bytes.AsSpan(s * 512, 512).ContainsAnyExcept((byte)(t * 31 + i)), Is.False, $"sector {s} (thread {t})");
        }
    }

    [Test]
    public void ReadingOutsideTheDeviceIsRefused()
    {
        string path = FileWith(new byte[8192]);
        using var b = new FileBackend(new FileBackendOptions { Path = path });
        Assert.That(() => b.Read(8192 - 512, new byte[1024]), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => b.Write(-512, new byte[512]), Throws.TypeOf<ArgumentOutOfRangeException>());
    }

    // ------------------------------------------------------------------ discard, write zeroes, flush

    [TestCase(false, false)]
    [TestCase(false, true)]
    [TestCase(true, false)]
    [TestCase(true, true)]
    public void DiscardAndWriteZeroesReadBackZeroesInExactlyTheRange(bool direct, bool discard)
    {
        var original = Random(1 << 20, 6);
        string path = FileWith(original);
        using (var b = new FileBackend(new FileBackendOptions { Path = path, Direct = direct }))
        {
            if (discard) b.Discard(64 << 10, 128 << 10);
            else b.WriteZeroes(64 << 10, 128 << 10);
            b.Flush();
            var back = new byte[128 << 10];
            b.Read(64 << 10, back);
            Assert.That(back, Is.All.Zero);
            Assert.That(b.Capacity, Is.EqualTo(1 << 20), "the size is kept");
        }
        var expected = (byte[])original.Clone();
        Array.Clear(expected, 64 << 10, 128 << 10);
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(expected));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void WhereTheFileSystemCannotZeroARange_ZeroesAreWritten(bool direct)
    {
        // tmpfs punches holes but answers FALLOC_FL_ZERO_RANGE with EOPNOTSUPP: the fallback path.
        if (!Directory.Exists("/dev/shm")) Assert.Ignore("no /dev/shm here");
        string path = Path.Combine("/dev/shm", $"orion-filebackend-{Guid.NewGuid():N}.img");
        try
        {
            var original = Random(2 << 20, 7);
            File.WriteAllBytes(path, original);
            try
            {
                using var b = new FileBackend(new FileBackendOptions { Path = path, Direct = direct });
                b.WriteZeroes(4096, (1 << 20) + 512);     // more than one zero chunk, ending mid-page
                b.WriteZeroes(3 << 19, 512);              // the second call skips the unsupported fallocate
            }
            catch (NotSupportedException) when (direct)
            {
                Assert.Ignore("this kernel's tmpfs does not do O_DIRECT");
            }
            var expected = (byte[])original.Clone();
            Array.Clear(expected, 4096, (1 << 20) + 512);
            Array.Clear(expected, 3 << 19, 512);
            Assert.That(File.ReadAllBytes(path), Is.EqualTo(expected));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void ReadOnlyRefusesEveryChangeAndLeavesTheFileAlone()
    {
        var original = Random(64 << 10, 8);
        string path = FileWith(original);
        using (var b = new FileBackend(new FileBackendOptions { Path = path, ReadOnly = true }))
        {
            Assert.That(b.ReadOnly, Is.True);
            Assert.That(() => b.Write(0, new byte[512]), Throws.InvalidOperationException.With.Message.Contains("read-only"));
            Assert.That(() => b.Discard(0, 512), Throws.InvalidOperationException);
            Assert.That(() => b.WriteZeroes(0, 512), Throws.InvalidOperationException);
            var back = new byte[4096];
            b.Read(4096, back);
            Assert.That(back, Is.EqualTo(original.AsSpan(4096, 4096).ToArray()));
            Assert.That(() => b.Flush(), Throws.Nothing);
        }
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(original));
    }

    [Test]
    public void DisposeClosesTheFileOnce()
    {
        string path = FileWith(new byte[4096]);
        var b = new FileBackend(new FileBackendOptions { Path = path });
        b.Dispose();
        b.Dispose();
        Assert.That(() => b.Read(0, new byte[512]), Throws.TypeOf<ObjectDisposedException>());
        Assert.That(() => b.Flush(), Throws.TypeOf<ObjectDisposedException>());
    }

    // ------------------------------------------------------------------ behind the software device

    [TestCase(false, 0)]
    [TestCase(true, 0)]
    [TestCase(true, 100)]     // descriptors of 100 bytes: pieces of sectors, each bounced with read-modify-write
    public void TheDeviceMovesDataBetweenTheRingAndTheFile(bool direct, int segmentBytes)
    {
        var original = Random(1 << 20, 9);
        string path = FileWith(original);
        var data = Random(16 << 10, 10);
        using (var driver = MiniDriver.Start(new FileBackend(new FileBackendOptions { Path = path, Direct = direct })))
        {
            Assert.That(driver.Device.Backend.Capacity, Is.EqualTo(1 << 20));
            var w = driver.Execute(new BlkRequestHeader(BlkRequestType.Out, 24), data, segmentBytes: segmentBytes);
            Assert.That(w.BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(driver.Execute(new BlkRequestHeader(BlkRequestType.Flush, 0)).BlkStatus, Is.EqualTo(BlkStatus.Ok));
            var r = driver.Execute(new BlkRequestHeader(BlkRequestType.In, 24), inLength: data.Length, segmentBytes: segmentBytes);
            Assert.That(r.BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(r.Data, Is.EqualTo(data));
            var old = driver.Read(0, 4096);
            Assert.That(old.Data, Is.EqualTo(original.AsSpan(0, 4096).ToArray()));
        }
        var expected = (byte[])original.Clone();
        data.CopyTo(expected, 24 * 512);
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(expected));
    }

    [TestCase(BlkRequestType.Discard)]
    [TestCase(BlkRequestType.WriteZeroes)]
    public void TheDevicesRangeCommandsZeroTheFile(BlkRequestType type)
    {
        var original = Random(1 << 20, 11);
        string path = FileWith(original);
        using (var driver = MiniDriver.Start(new FileBackend(new FileBackendOptions { Path = path, Direct = true })))
        {
            var done = driver.Execute(new BlkRequestHeader(type, 0), Payload.Ranges(new BlkDiscardWriteZeroes(16, 8), new BlkDiscardWriteZeroes(100, 1)));
            Assert.That(done.BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(driver.Read(16, 4096).Data, Is.All.Zero);
        }
        var expected = (byte[])original.Clone();
        Array.Clear(expected, 16 * 512, 8 * 512);
        Array.Clear(expected, 100 * 512, 512);
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(expected));
    }

    [Test]
    public void AReadOnlyDeviceAnswersWritesWithIoErrorAndTheFileStaysTheSame()
    {
        var original = Random(256 << 10, 12);
        string path = FileWith(original);
        using (var driver = MiniDriver.Start(new FileBackend(new FileBackendOptions { Path = path, ReadOnly = true }),
                   new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Manual, ReadOnly = true }))
        {
            Assert.That(driver.Negotiated.HasFlag(VirtioFeatures.BlkReadOnly), Is.True);
            Assert.That(driver.Write(0, new byte[4096]).BlkStatus, Is.EqualTo(BlkStatus.IoError));
            Assert.That(driver.Execute(new BlkRequestHeader(BlkRequestType.WriteZeroes, 0), Payload.Ranges(new BlkDiscardWriteZeroes(0, 8))).BlkStatus,
                        Is.EqualTo(BlkStatus.IoError));
            var r = driver.Read(8, 4096);
            Assert.That(r.BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(r.Data, Is.EqualTo(original.AsSpan(8 * 512, 4096).ToArray()));
        }
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(original));
    }

    /// <summary>A 4 KiB-aligned native buffer.</summary>
    private sealed unsafe class AlignedBuffer(int length) : IDisposable
    {
        private readonly byte* _p = (byte*)NativeMemory.AlignedAlloc((nuint)length, 4096);
        public Span<byte> Span => new(_p, length);
        public void Dispose() => NativeMemory.AlignedFree(_p);
    }
}
