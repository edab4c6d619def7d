using Orion.Pmd.Linux.Interop;

namespace Orion.Pmd.Linux;

/// <summary>
/// A memfd-backed region mapped <c>MAP_SHARED</c> read-write: the memory a device may touch. The fd can be
/// handed to another mapper (an embedded device, or a vhost-user back-end over SCM_RIGHTS) who then sees
/// the same pages.
/// </summary>
/// <remarks>
/// There is deliberately no finalizer: raw pointers into the mapping live in rings and descriptors that do
/// not keep this object alive, so unmapping from the finalizer could turn a leak into a use-after-unmap.
/// Owners dispose explicitly, after everything that can touch the memory has stopped.
/// </remarks>
public sealed unsafe class SharedMemory : IDisposable
{
    /// <summary>Sizes are rounded up to this so regions are whole pages (and 4 KiB DMA alignment holds).</summary>
    public const int PageSize = 4096;

    private byte* _pointer;
    private readonly bool _ownsFd;
    private int _disposed;

    private SharedMemory(int fd, byte* pointer, long length, bool ownsFd)
    {
        Fd = fd;
        _pointer = pointer;
        Length = length;
        _ownsFd = ownsFd;
    }

    /// <summary>The seals <see cref="Create"/> puts on a new memfd by default, as QEMU's memory-backend-memfd does: its size is final.</summary>
    public const MemorySeal SizeSeals = MemorySeal.Shrink | MemorySeal.Grow | MemorySeal.Seal;

    /// <summary>
    /// Creates an anonymous memfd named <paramref name="name"/> (shown as <c>/memfd:name</c> in /proc), sizes it
    /// to <paramref name="size"/> rounded up to <see cref="PageSize"/>, seals it with <paramref name="seals"/>
    /// (by default <see cref="SizeSeals"/>: a vhost-user back-end that maps it may require that it never shrinks), and
    /// maps it. The fd is owned and close-on-exec.
    /// </summary>
    public static SharedMemory Create(string name, long size, MemorySeal seals = SizeSeals)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        long rounded = checked((size + PageSize - 1) & ~(long)(PageSize - 1));

        int fd = LibC.memfd_create(name, LibC.MFD_CLOEXEC | LibC.MFD_ALLOW_SEALING);
        if (fd < 0) throw LinuxException.FromLastError("memfd_create");
        try
        {
            if (LibC.ftruncate(fd, rounded) != 0) throw LinuxException.FromLastError("ftruncate");
            if (seals != MemorySeal.None) MemorySeals.Add(fd, seals);
            return new SharedMemory(fd, MapOrThrow(fd, rounded), rounded, ownsFd: true);
        }
        catch
        {
            LibC.close(fd);
            throw;
        }
    }

    /// <summary>
    /// Maps <paramref name="size"/> bytes of an fd someone else created (for example a device mapping the
    /// driver's memfd). With <paramref name="ownsFd"/> the fd is closed on <see cref="Dispose"/>, and also
    /// when mapping fails, so a caller can pass a fresh <see cref="FileDescriptor.Duplicate"/> without leaking it.
    /// </summary>
    public static SharedMemory Map(int fd, long size, bool ownsFd)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        try
        {
            return new SharedMemory(fd, MapOrThrow(fd, size), size, ownsFd);
        }
        catch when (ownsFd && fd >= 0)
        {
            LibC.close(fd);
            throw;
        }
    }

    private static byte* MapOrThrow(int fd, long size)
    {
        void* p = LibC.mmap(null, (nuint)size, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED, fd, 0);
        if (p == LibC.MAP_FAILED) throw LinuxException.FromLastError("mmap");
        return (byte*)p;
    }

    /// <summary>The memfd (still valid while this object is; duplicate it to hand it on).</summary>
    public int Fd { get; }

    /// <summary>The start of the mapping, page-aligned. Throws once disposed.</summary>
    public byte* Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            return _pointer;
        }
    }

    /// <summary>The mapped length in bytes.</summary>
    public long Length { get; }

    /// <summary>A span over <paramref name="length"/> bytes at <paramref name="offset"/>, bounds-checked against the mapping.</summary>
    public Span<byte> GetSpan(long offset, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        // Written as a subtraction so offset + length cannot overflow.
        if (offset > Length - length)
            throw new ArgumentOutOfRangeException(nameof(length),
                $"[{offset}, {offset + length}) is outside the {Length}-byte mapping");
        return new Span<byte>(Pointer + offset, length);
    }

    /// <summary>Unmaps, then closes the fd if owned. Idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        LibC.munmap(_pointer, (nuint)Length);
        _pointer = null;
        if (_ownsFd) LibC.close(Fd);
    }
}
