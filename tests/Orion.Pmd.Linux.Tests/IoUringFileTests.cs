using System.Runtime.InteropServices;
using Orion.Pmd.Linux;
using static Orion.Pmd.Linux.Tests.IoUringTestKit;

namespace Orion.Pmd.Linux.Tests;

/// <summary>io_uring file I/O on a temporary file in /var/tmp (a real disk file system, unlike a tmpfs /tmp).</summary>
public class IoUringFileTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine("/var/tmp", $"orion-uring-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private BlockFile OpenFile(long size = 64 << 10, bool direct = false)
        => BlockFile.Open(Path.Combine(_dir, direct ? "direct.img" : "disk.img"), direct: direct, createSize: size);

    [Test]
    public void WriteThenRead_RoundTripsTheData()
    {
        using var ring = CreateRing();
        using var file = OpenFile();
        using var source = new NativeBuffer(8192);
        using var target = new NativeBuffer(8192);
        source.Fill(1);
        Assert.That(ring.PrepareWrite(file.Fd, source.Address, 8192, 4096, 1), Is.True);
        Assert.That(Complete(ring, 1)[0], Is.EqualTo(new IoCompletion(1, 8192, 0)));
        Assert.That(ring.PrepareRead(file.Fd, target.Address, 8192, 4096, 2), Is.True);
        Assert.That(Complete(ring, 1)[0], Is.EqualTo(new IoCompletion(2, 8192, 0)));
        Assert.That(target.Span.SequenceEqual(source.Span), Is.True);

        var check = new byte[8192];
        file.Read(4096, check);
        Assert.That(check.AsSpan().SequenceEqual(source.Span), Is.True, "what pread sees");
    }

    [Test]
    public void ReadAtTheEndOfTheFile_IsShort()
    {
        using var ring = CreateRing();
        using var file = OpenFile(size: 8192);
        using var target = new NativeBuffer(4096);
        Assert.That(ring.PrepareRead(file.Fd, target.Address, 4096, 6144, 1), Is.True);
        Assert.That(ring.PrepareRead(file.Fd, target.Address, 4096, 8192, 2), Is.True);
        var done = Complete(ring, 2);
        Assert.That(For(done, 1).Result, Is.EqualTo(2048));
        Assert.That(For(done, 2).Result, Is.Zero);
    }

    [Test]
    public unsafe void WritevThenReadv_GatherAndScatter()
    {
        using var ring = CreateRing();
        using var file = OpenFile();
        using var source = new NativeBuffer(3 * 4096);
        using var target = new NativeBuffer(3 * 4096);
        using var vectors = new NativeBuffer(4096);
        source.Fill(2);
        // Gather the pieces out of order, scatter them back in order: the file holds source[2], [0], [1].
        var iov = (nint*)vectors.Address;
        int[] order = [2, 0, 1];
        for (int i = 0; i < 3; i++)
        {
            iov[2 * i] = source.Address + order[i] * 4096;
            iov[2 * i + 1] = 4096;
            iov[6 + 2 * i] = target.Address + i * 4096;
            iov[6 + 2 * i + 1] = 4096;
        }
        Assert.That(ring.PrepareWritev(file.Fd, vectors.Address, 3, 0, 1), Is.True);
        Assert.That(Complete(ring, 1)[0].Result, Is.EqualTo(3 * 4096));
        Assert.That(ring.PrepareReadv(file.Fd, vectors.Address + 48, 3, 0, 2), Is.True);
        Assert.That(Complete(ring, 1)[0].Result, Is.EqualTo(3 * 4096));
        for (int i = 0; i < 3; i++)
            Assert.That(target.Slice(i * 4096, 4096).SequenceEqual(source.Slice(order[i] * 4096, 4096)), Is.True, $"piece {i}");
    }

    [Test]
    public void FixedBuffersAndFixedFiles_RoundTripTheData()
    {
        using var ring = CreateRing();
        using var file = OpenFile();
        using var memory = new NativeBuffer(64 << 10);
        memory.Slice(0, 16384).Fill(3);
        ring.RegisterFiles([file.Fd]);
        ring.RegisterBuffers([(memory.Address, (nuint)memory.Length)]);

        Assert.That(ring.PrepareWriteFixed(0, memory.Address, 16384, 8192, 0, 1, IoSqeFlags.FixedFile), Is.True);
        Assert.That(Complete(ring, 1)[0], Is.EqualTo(new IoCompletion(1, 16384, 0)));
        Assert.That(ring.PrepareReadFixed(0, memory.Address + 32768, 16384, 8192, 0, 2, IoSqeFlags.FixedFile), Is.True);
        Assert.That(ring.PrepareRead(0, memory.Address + 49152, 4096, 8192, 3, IoSqeFlags.FixedFile), Is.True);
        var done = Complete(ring, 2);
        Assert.That(For(done, 2).Result, Is.EqualTo(16384));
        Assert.That(For(done, 3).Result, Is.EqualTo(4096));
        Assert.That(memory.Slice(32768, 16384).SequenceEqual(memory.Slice(0, 16384)), Is.True);
        Assert.That(memory.Slice(49152, 4096).SequenceEqual(memory.Slice(0, 4096)), Is.True);

        ring.UnregisterBuffers();
        ring.UnregisterFiles();
        Assert.Throws<LinuxException>(() => ring.UnregisterFiles(), "nothing left to unregister");
        Assert.That(ring.PrepareReadFixed(file.Fd, memory.Address, 4096, 0, 0, 4), Is.True);
        Assert.That(Complete(ring, 1)[0].Result, Is.Negative, "no registered buffer any more");
    }

    [Test]
    public void DirectIo_WithAlignedMemory_RoundTripsTheData()
    {
        using var ring = CreateRing();
        BlockFile file;
        try
        {
            file = OpenFile(size: 1 << 20, direct: true);
        }
        catch (LinuxException e) when (e.Errno == Errno.EINVAL)
        {
            Assert.Ignore($"/var/tmp does not do O_DIRECT: {e.Message}");
            return;
        }
        using (file)
        using (var memory = new NativeBuffer(64 << 10))
        {
            memory.Slice(0, 16384).Fill(4);
            ring.RegisterBuffers([(memory.Address, (nuint)memory.Length)]);
            Assert.That(ring.PrepareWrite(file.Fd, memory.Address, 16384, 4096, 1, rwFlags: RwFlags.Dsync), Is.True);
            Assert.That(Complete(ring, 1)[0].Result, Is.EqualTo(16384));
            Assert.That(ring.PrepareRead(file.Fd, memory.Address + 16384, 16384, 4096, 2), Is.True);
            Assert.That(ring.PrepareReadFixed(file.Fd, memory.Address + 32768, 16384, 4096, 0, 3), Is.True);
            var done = Complete(ring, 2);
            Assert.That(For(done, 2).Result, Is.EqualTo(16384));
            Assert.That(For(done, 3).Result, Is.EqualTo(16384));
            Assert.That(memory.Slice(16384, 16384).SequenceEqual(memory.Slice(0, 16384)), Is.True);
            Assert.That(memory.Slice(32768, 16384).SequenceEqual(memory.Slice(0, 16384)), Is.True);

            // Misalignment is caught where the file has blocks: a direct read of a hole only zeroes the memory, and
            // the kernel checks nothing there (offset 0 of this sparse file would read fine into a misaligned buffer).
            Assert.That(ring.PrepareRead(file.Fd, memory.Address + 1, 4096, 4096, 4), Is.True);
            Assert.That(ring.PrepareRead(file.Fd, memory.Address, 4096, 4097, 5), Is.True);
            done = Complete(ring, 2);
            Assert.That(For(done, 4).Result, Is.EqualTo(-Errno.EINVAL), "O_DIRECT wants aligned memory");
            Assert.That(For(done, 5).Result, Is.EqualTo(-Errno.EINVAL), "O_DIRECT wants aligned offsets");
        }
    }

    [Test]
    public void Fsync_AndDataSync_CompleteWithZero()
    {
        using var ring = CreateRing();
        using var file = OpenFile();
        Assert.That(ring.PrepareFsync(file.Fd, dataSync: true, 1), Is.True);
        Assert.That(ring.PrepareFsync(file.Fd, dataSync: false, 2), Is.True);
        var done = Complete(ring, 2);
        Assert.That(For(done, 1).Result, Is.Zero);
        Assert.That(For(done, 2).Result, Is.Zero);
    }

    [TestCase(FallocateMode.PunchHole | FallocateMode.KeepSize)]
    [TestCase(FallocateMode.ZeroRange | FallocateMode.KeepSize)]
    [TestCase(FallocateMode.ZeroRange)]
    public void Fallocate_MakesTheRangeReadAsZeroes(int mode)
    {
        using var ring = CreateRing();
        using var file = OpenFile(size: 64 << 10);
        var pattern = new byte[64 << 10];
        new Random(5).NextBytes(pattern);
        file.Write(0, pattern);

        Assert.That(ring.PrepareFallocate(file.Fd, mode, 8192, 16384, 1), Is.True);
        int result = Complete(ring, 1)[0].Result;
        if (result == -Errno.EOPNOTSUPP) Assert.Ignore("the file system does not support this fallocate mode");
        Assert.That(result, Is.Zero);

        var back = new byte[64 << 10];
        file.Read(0, back);
        Assert.That(back.AsSpan(8192, 16384).ContainsAnyExcept((byte)0), Is.False, "the range reads as zeroes");
        Assert.That(back.AsSpan(0, 8192).SequenceEqual(pattern.AsSpan(0, 8192)), Is.True);
        Assert.That(back.AsSpan(24576).SequenceEqual(pattern.AsSpan(24576)), Is.True);
        Assert.That(file.Length, Is.EqualTo(64 << 10));
    }

    [Test]
    public void LinkedWriteThenFsync_BothComplete()
    {
        using var ring = CreateRing();
        using var file = OpenFile();
        using var source = new NativeBuffer(4096);
        source.Fill(6);
        Assert.That(ring.PrepareWrite(file.Fd, source.Address, 4096, 0, 1, IoSqeFlags.IoLink), Is.True);
        Assert.That(ring.PrepareFsync(file.Fd, dataSync: true, 2), Is.True);
        var done = Complete(ring, 2);
        Assert.That(For(done, 1).Result, Is.EqualTo(4096));
        Assert.That(For(done, 2).Result, Is.Zero);
    }

    [Test]
    public void AFailedLink_CancelsTheRestOfTheChain()
    {
        using var ring = CreateRing();
        using var file = OpenFile();
        using var source = new NativeBuffer(4096);
        Assert.That(ring.PrepareWrite(-1, source.Address, 4096, 0, 1, IoSqeFlags.IoLink), Is.True);
        Assert.That(ring.PrepareFsync(file.Fd, dataSync: true, 2), Is.True);
        var done = Complete(ring, 2);
        Assert.That(For(done, 1).Result, Is.EqualTo(-Errno.EBADF));
        Assert.That(For(done, 2).Result, Is.EqualTo(-Errno.ECANCELED));
    }

    [Test]
    public void FileReadsAndWrites_AllocateNothing()
    {
        using var ring = CreateRing();
        using var file = OpenFile();
        using var memory = new NativeBuffer(8192);
        memory.Slice(0, 4096).Fill(7);
        int fd = file.Fd;
        Span<IoCompletion> batch = stackalloc IoCompletion[4];
        void Cycles(int count, Span<IoCompletion> reaped)
        {
            for (int i = 0; i < count; i++)
            {
                ring.PrepareWrite(fd, memory.Address, 4096, (i % 16) * 4096L, 1, IoSqeFlags.IoLink);
                ring.PrepareRead(fd, memory.Address + 4096, 4096, (i % 16) * 4096L, 2);
                int got = 0;
                while (got < 2)
                {
                    if (ring.SubmitAndWait(1, Patience)) got += ring.Reap(reaped);
                }
            }
        }
        Cycles(500, batch);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Cycles(2_000, batch);
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
        Assert.That(memory.Slice(4096, 4096).SequenceEqual(memory.Slice(0, 4096)), Is.True);
    }
}
