using Orion.Pmd.Linux;

namespace Orion.Pmd.Linux.Tests;

public class SharedMemoryTests
{
    [Test]
    public void Create_RoundsSizeUpToAPage()
    {
        using var mem = SharedMemory.Create("orion-test", 5000);
        Assert.That(mem.Length, Is.EqualTo(8192));
        Assert.That(mem.Fd, Is.GreaterThanOrEqualTo(0));
    }

    [Test]
    public unsafe void Create_MappingIsPageAlignedAndZeroed()
    {
        using var mem = SharedMemory.Create("orion-test", 4096);
        Assert.That((nuint)mem.Pointer % SharedMemory.PageSize, Is.EqualTo((nuint)0));
        Assert.That(mem.GetSpan(0, 4096).ContainsAnyExcept((byte)0), Is.False);
    }

    [Test]
    public void WriteThroughOneMapping_IsSeenThroughAMapOfADuplicatedFd()
    {
        using var owner = SharedMemory.Create("orion-test", 64 * 1024);
        using var peer = SharedMemory.Map(FileDescriptor.Duplicate(owner.Fd), owner.Length, ownsFd: true);
        Assert.That(peer.Fd, Is.Not.EqualTo(owner.Fd));

        owner.GetSpan(12_345, 4).Fill(0xAB);
        Assert.That(peer.GetSpan(12_345, 4).ToArray(), Is.EqualTo(new byte[] { 0xAB, 0xAB, 0xAB, 0xAB }));

        peer.GetSpan(60_000, 1)[0] = 7;   // and back the other way
        Assert.That(owner.GetSpan(60_000, 1)[0], Is.EqualTo(7));
    }

    [Test]
    public void Map_WithoutOwnership_LeavesTheFdOpen()
    {
        using var owner = SharedMemory.Create("orion-test", 4096);
        int dup = FileDescriptor.Duplicate(owner.Fd);
        try
        {
            SharedMemory.Map(dup, 4096, ownsFd: false).Dispose();
            using var again = SharedMemory.Map(dup, 4096, ownsFd: false);   // would be EBADF if closed
            Assert.That(again.Length, Is.EqualTo(4096));
        }
        finally
        {
            FileDescriptor.Close(dup);
        }
    }

    [Test]
    public void GetSpan_IsBoundsChecked()
    {
        using var mem = SharedMemory.Create("orion-test", 4096);
        Assert.That(mem.GetSpan(0, 4096).Length, Is.EqualTo(4096));
        Assert.That(mem.GetSpan(4096, 0).Length, Is.Zero);
        Assert.That(() => mem.GetSpan(4000, 97), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => mem.GetSpan(-1, 1), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => mem.GetSpan(0, -1), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => mem.GetSpan(long.MaxValue, 1), Throws.TypeOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void Dispose_IsIdempotentAndLaterUseThrows()
    {
        var mem = SharedMemory.Create("orion-test", 4096);
        mem.Dispose();
        mem.Dispose();
        Assert.That(() => mem.GetSpan(0, 1), Throws.TypeOf<ObjectDisposedException>());
    }

    [Test]
    public void Map_OfABadFd_ThrowsEbadf()
    {
        var ex = Assert.Throws<LinuxException>(() => SharedMemory.Map(-1, 4096, ownsFd: false));
        Assert.That(ex.Errno, Is.EqualTo(Errno.EBADF));
        Assert.That(ex.Call, Is.EqualTo("mmap"));
        Assert.That(ex.Message, Does.StartWith("mmap failed: errno 9 (EBADF): "));
    }

    [Test]
    public void Map_OwnedFd_IsClosedWhenMappingFails()
    {
        using var owner = SharedMemory.Create("orion-test", 4096);
        int dup = FileDescriptor.Duplicate(owner.Fd);
        // Length 0 is rejected before mmap; a huge length makes mmap itself fail (ENOMEM or EINVAL).
        Assert.That(() => SharedMemory.Map(dup, long.MaxValue / 2, ownsFd: true), Throws.TypeOf<LinuxException>());
        var closed = Assert.Throws<LinuxException>(() => FileDescriptor.Close(dup));
        Assert.That(closed.Errno, Is.EqualTo(Errno.EBADF));
    }

    [Test]
    public void Create_RejectsNonPositiveSizes()
    {
        Assert.That(() => SharedMemory.Create("orion-test", 0), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => SharedMemory.Create("orion-test", -4096), Throws.TypeOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void CreatedMemoryCannotShrinkOrGrow()
    {
        // A vhost-user back-end maps this memfd; a shrink would turn its next access into SIGBUS (issue 13).
        using var mem = SharedMemory.Create("orion-test", 8192);
        Assert.That(MemorySeals.Get(mem.Fd), Is.EqualTo(MemorySeal.Shrink | MemorySeal.Grow | MemorySeal.Seal));
        using var reopened = File.OpenHandle($"/proc/self/fd/{mem.Fd}", FileMode.Open, FileAccess.ReadWrite);
        Assert.Throws<UnauthorizedAccessException>(() => RandomAccess.SetLength(reopened, 4096));
        Assert.That(RandomAccess.GetLength(reopened), Is.EqualTo(8192));
    }

    [Test]
    public void ShrinkingIsPreventedWhereTheFdAllowsItAndExplainedWhereNot()
    {
        using (var open = SharedMemory.Create("orion-test", 4096, MemorySeal.None))
        {
            Assert.That(MemorySeals.TryPreventShrinking(open.Fd, out string why), Is.True, why);
            Assert.That(MemorySeals.Get(open.Fd)!.Value.HasFlag(MemorySeal.Shrink), Is.True, "the seal was added");
        }
        using (var locked = SharedMemory.Create("orion-test", 4096, MemorySeal.Seal))
        {
            Assert.That(MemorySeals.TryPreventShrinking(locked.Fd, out string why), Is.False);
            Assert.That(why, Does.Contain("F_SEAL_SEAL").And.Contain("F_SEAL_SHRINK"));
        }
        string path = Path.Combine(AppContext.BaseDirectory, $"orion-seal-{Guid.NewGuid():N}");   // on disk: a tmpfs file would carry F_SEAL_SEAL
        try
        {
            using var file = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite);
            Assert.That(MemorySeals.Get((int)file.DangerousGetHandle()), Is.Null, "a regular file carries no seals");
            Assert.That(MemorySeals.TryPreventShrinking((int)file.DangerousGetHandle(), out string why), Is.False);
            Assert.That(why, Does.Contain("cannot be sealed"));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
