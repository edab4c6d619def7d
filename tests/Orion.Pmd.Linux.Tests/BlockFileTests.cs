using Orion.Pmd.Linux;

namespace Orion.Pmd.Linux.Tests;

/// <summary>Positional file I/O: open modes, size, pread/pwrite, fdatasync, fallocate, and errors that name the path.</summary>
public class BlockFileTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("orion-blockfile-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    private static byte[] Pattern(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    [Test]
    public void CreatesAMissingFileWithTheGivenSize()
    {
        string path = PathOf("new.img");
        using (var f = BlockFile.Open(path, createSize: 1 << 20))
        {
            Assert.That(f.Length, Is.EqualTo(1 << 20));
            Assert.That(f.IsBlockDevice, Is.False);
            Assert.That(f.IsReadOnly, Is.False);
            Assert.That(f.Path, Is.EqualTo(path));
        }
        Assert.That(new FileInfo(path).Length, Is.EqualTo(1 << 20));
        Assert.That(File.ReadAllBytes(path), Is.All.Zero);
    }

    [Test]
    public void ExtendsASmallerFileAndKeepsALargerOne()
    {
        string path = PathOf("grow.img");
        var head = Pattern(4096, 1);
        File.WriteAllBytes(path, head);
        using (var f = BlockFile.Open(path, createSize: 64 << 10)) Assert.That(f.Length, Is.EqualTo(64 << 10));
        var bytes = File.ReadAllBytes(path);
        Assert.That(bytes.AsSpan(0, 4096).SequenceEqual(head), Is.True, "extending keeps the data");
        Assert.That(bytes.AsSpan(4096).ContainsAnyExcept((byte)0), Is.False, "the new part reads as zeroes");
        using (var f = BlockFile.Open(path, createSize: 8192)) Assert.That(f.Length, Is.EqualTo(64 << 10), "a larger file is not shrunk");
    }

    [Test]
    public void WithoutASizeTheFileMustExist()
    {
        string path = PathOf("missing.img");
        var e = Assert.Throws<LinuxException>(() => BlockFile.Open(path));
        Assert.That(e!.Errno, Is.EqualTo(Errno.ENOENT));
        Assert.That(e.Message, Does.Contain(path).And.Contain("open").And.Contain("ENOENT"));
        Assert.That(File.Exists(path), Is.False);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void WritesReadBackAndAnIndependentReaderSeesThem(bool direct)
    {
        string path = PathOf("rw.img");
        var data = Pattern(64 << 10, 2);
        using (var f = BlockFile.Open(path, direct: direct, createSize: 1 << 20))
        {
            Assert.That(f.IsDirect, Is.EqualTo(direct));
            using var buffer = new AlignedBuffer(data.Length);
            data.CopyTo(buffer.Span);
            f.Write(8192, buffer.Span);
            f.Flush();
            using var back = new AlignedBuffer(data.Length);
            f.Read(8192, back.Span);
            Assert.That(back.Span.SequenceEqual(data), Is.True);
        }
        var onDisk = File.ReadAllBytes(path);
        Assert.That(onDisk.AsSpan(8192, data.Length).SequenceEqual(data), Is.True);
        Assert.That(onDisk.AsSpan(0, 8192).ContainsAnyExcept((byte)0), Is.False);
    }

    [Test]
    public void ReadingPastTheEndIsAnErrorNotZeroes()
    {
        string path = PathOf("short.img");
        File.WriteAllBytes(path, Pattern(4096, 3));
        using var f = BlockFile.Open(path);
        var buffer = new byte[4096];
        var e = Assert.Throws<EndOfStreamException>(() => f.Read(2048, buffer));
        Assert.That(e!.Message, Does.Contain(path).And.Contain("past the end").And.Contain("after 2048 bytes"));
        Assert.That(() => f.Read(4096, buffer.AsSpan(0, 1)), Throws.TypeOf<EndOfStreamException>());
        Assert.That(() => f.Read(4096, Span<byte>.Empty), Throws.Nothing, "an empty read reads nothing");
    }

    [Test]
    public void ReadOnlyRefusesWrites()
    {
        string path = PathOf("ro.img");
        var data = Pattern(8192, 4);
        File.WriteAllBytes(path, data);
        using var f = BlockFile.Open(path, readOnly: true);
        Assert.That(f.IsReadOnly, Is.True);
        var back = new byte[8192];
        f.Read(0, back);
        Assert.That(back, Is.EqualTo(data));
        var e = Assert.Throws<LinuxException>(() => f.Write(0, new byte[512]));
        Assert.That(e!.Errno, Is.EqualTo(Errno.EBADF));
        Assert.That(e.Message, Does.Contain(path).And.Contain("pwrite"));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(data));
    }

    [Test]
    public void ReadOnlyCannotCreate()
        => Assert.That(() => BlockFile.Open(PathOf("x.img"), readOnly: true, createSize: 4096),
                       Throws.ArgumentException.With.Message.Contains("read-only cannot be created"));

    [Test]
    public void ADirectoryIsNotABlockFile()
    {
        var e = Assert.Throws<IOException>(() => BlockFile.Open(_dir, readOnly: true));
        Assert.That(e!.Message, Does.Contain(_dir).And.Contain("neither a regular file nor a block device"));
    }

    [Test]
    public void PunchHoleAndZeroRangeZeroExactlyTheRangeAndKeepTheSize()
    {
        string path = PathOf("holes.img");
        var data = Pattern(256 << 10, 5);
        File.WriteAllBytes(path, data);
        using (var f = BlockFile.Open(path))
        {
            // /tmp is ext4 here, which supports both; a file system that does not answers false, not an exception.
            Assert.That(f.TryPunchHole(64 << 10, 64 << 10), Is.True);
            Assert.That(f.TryZeroRange(160 << 10, 4096), Is.True);
            Assert.That(f.TryPunchHole(0, 0), Is.True, "an empty range is nothing to do");
            Assert.That(f.Length, Is.EqualTo(data.Length));
        }
        var expected = (byte[])data.Clone();
        Array.Clear(expected, 64 << 10, 64 << 10);
        Array.Clear(expected, 160 << 10, 4096);
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(expected));
    }

    [Test]
    public void DirectIoAlignmentIsReported()
    {
        using var f = BlockFile.Open(PathOf("dio.img"), direct: true, createSize: 1 << 20);
        // Linux 6.1+ reports it through statx; older kernels leave both at 0.
        Assert.That(f.DirectIoOffsetAlignment, Is.Zero.Or.Matches<int>(a => a >= 1 && (a & (a - 1)) == 0));
        Assert.That(f.DirectIoMemoryAlignment, Is.Zero.Or.Matches<int>(a => a >= 1 && (a & (a - 1)) == 0));
    }

    [Test]
    public void DirectIoWithAnUnalignedBufferIsEinvalNamingThePath()
    {
        string path = PathOf("einval.img");
        File.WriteAllBytes(path, Pattern(1 << 20, 6));      // allocated blocks: ext4 serves holes without checking alignment
        using var f = BlockFile.Open(path, direct: true);
        using var buffer = new AlignedBuffer(8192);
        var e = Assert.Throws<LinuxException>(() => f.Read(0, buffer.Span.Slice(1, 4096)));
        Assert.That(e!.Errno, Is.EqualTo(Errno.EINVAL));
        Assert.That(e.Message, Does.Contain(path).And.Contain("pread"));
    }

    [Test]
    public void DisposeIsIdempotentAndUseAfterIsRefused()
    {
        var f = BlockFile.Open(PathOf("d.img"), createSize: 4096);
        f.Dispose();
        f.Dispose();
        Assert.That(() => f.Read(0, new byte[512]), Throws.TypeOf<ObjectDisposedException>());
        Assert.That(() => f.Flush(), Throws.TypeOf<ObjectDisposedException>());
    }

    [Test]
    public void ConcurrentWritersAtDifferentOffsetsDoNotInterfere()
    {
        string path = PathOf("par.img");
        const int Chunk = 64 << 10, Writers = 4;
        using (var f = BlockFile.Open(path, createSize: Chunk * Writers))
        {
            Parallel.For(0, Writers, i => f.Write((long)i * Chunk, Pattern(Chunk, 100 + i)));
        }
        var bytes = File.ReadAllBytes(path);
        for (int i = 0; i < Writers; i++)
            Assert.That(bytes.AsSpan(i * Chunk, Chunk).SequenceEqual(Pattern(Chunk, 100 + i)), Is.True, $"writer {i}");
    }

    /// <summary>A 4 KiB-aligned native buffer, as O_DIRECT needs.</summary>
    private sealed unsafe class AlignedBuffer(int length) : IDisposable
    {
        private readonly byte* _p = (byte*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)length, 4096);
        public Span<byte> Span => new(_p, length);
        public void Dispose() => System.Runtime.InteropServices.NativeMemory.AlignedFree(_p);
    }
}
