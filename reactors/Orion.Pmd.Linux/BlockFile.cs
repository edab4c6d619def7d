using System.Runtime.InteropServices;
using Orion.Pmd.Linux.Interop;

namespace Orion.Pmd.Linux;

/// <summary>
/// A regular file or a block device opened for positional I/O: <c>pread</c>/<c>pwrite</c> at explicit offsets (so
/// several threads can use one instance at once), <c>fdatasync</c>, and <c>fallocate</c> to punch holes or zero
/// ranges. Optionally opened with <c>O_DIRECT</c>, bypassing the page cache; buffers, offsets and lengths must then
/// meet <see cref="DirectIoMemoryAlignment"/> and <see cref="DirectIoOffsetAlignment"/> (the kernel answers EINVAL
/// otherwise), which this type does not check: the caller bounces what is not aligned.
/// </summary>
/// <remarks>
/// Errors are <see cref="LinuxException"/>s whose <see cref="LinuxException.Call"/> names the call and the path, for
/// example <c>open(/var/tmp/disk.img) failed: errno 2 (ENOENT): No such file or directory</c>. No finalizer, as for
/// <see cref="SharedMemory"/>: the owner disposes it once nothing can be using it.
/// </remarks>
public sealed unsafe class BlockFile : IDisposable
{
    private const uint CreateMode = 0x1B6;   // 0666, less the umask, as any tool creating a file

    private readonly int _fd;
    private int _disposed;

    private BlockFile(int fd, string path, bool readOnly, bool direct, bool blockDevice, int memAlign, int offsetAlign)
    {
        _fd = fd;
        Path = path;
        IsReadOnly = readOnly;
        IsDirect = direct;
        IsBlockDevice = blockDevice;
        DirectIoMemoryAlignment = memAlign;
        DirectIoOffsetAlignment = offsetAlign;
    }

    /// <summary>
    /// Opens <paramref name="path"/>, a regular file or a block device, close-on-exec: read-write, or read-only with
    /// <paramref name="readOnly"/>; with <paramref name="direct"/> through <c>O_DIRECT</c> (a file system that cannot
    /// do direct I/O fails with EINVAL). With <paramref name="createSize"/> above zero a missing file is created and a
    /// smaller one extended (sparsely, with <c>ftruncate</c>) to that many bytes; a larger one keeps its size, and a
    /// block device smaller than that is an error. Without it the file must exist.
    /// </summary>
    /// <exception cref="LinuxException">A call failed, for example <c>open</c> with ENOENT, EACCES or EINVAL.</exception>
    /// <exception cref="IOException">The path is neither a regular file nor a block device, or a block device is too small.</exception>
    public static BlockFile Open(string path, bool readOnly = false, bool direct = false, long createSize = 0)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (path.Contains('\0')) throw new ArgumentException("a path cannot contain a NUL character", nameof(path));
        ArgumentOutOfRangeException.ThrowIfNegative(createSize);
        if (readOnly && createSize > 0)
            throw new ArgumentException($"{path}: a file opened read-only cannot be created or extended", nameof(createSize));

        int flags = (readOnly ? LibC.O_RDONLY : LibC.O_RDWR) | LibC.O_CLOEXEC | (direct ? LibC.O_DIRECT : 0) | (createSize > 0 ? LibC.O_CREAT : 0);
        int fd;
        while ((fd = LibC.open(path, flags, CreateMode)) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno != Errno.EINTR) throw new LinuxException($"open({path})", errno);
        }
        try
        {
            Statx st;
            if (LibC.statx(fd, "", LibC.AT_EMPTY_PATH, LibC.STATX_TYPE | LibC.STATX_MODE | LibC.STATX_SIZE | LibC.STATX_DIOALIGN, &st) != 0)
                throw LinuxException.FromLastError($"statx({path})");
            int type = st.Mode & LibC.S_IFMT;
            if (type != LibC.S_IFREG && type != LibC.S_IFBLK)
                throw new IOException($"{path} is neither a regular file nor a block device");
            bool blockDevice = type == LibC.S_IFBLK;
            bool dioKnown = (st.Mask & LibC.STATX_DIOALIGN) != 0;
            var file = new BlockFile(fd, path, readOnly, direct, blockDevice,
                dioKnown ? (int)st.DioMemAlign : 0, dioKnown ? (int)st.DioOffsetAlign : 0);
            if (createSize > 0)
            {
                long length = file.Length;
                if (length < createSize)
                {
                    if (blockDevice)
                        throw new IOException($"block device {path} holds {length} bytes, less than the {createSize} asked for");
                    while (LibC.ftruncate(fd, createSize) != 0)
                    {
                        int errno = Marshal.GetLastPInvokeError();
                        if (errno != Errno.EINTR) throw new LinuxException($"ftruncate({path}, {createSize})", errno);
                    }
                }
            }
            return file;
        }
        catch
        {
            LibC.close(fd);
            throw;
        }
    }

    /// <summary>The path it was opened with.</summary>
    public string Path { get; }

    /// <summary>Whether it was opened read-only (<c>O_RDONLY</c>).</summary>
    public bool IsReadOnly { get; }

    /// <summary>Whether it was opened with <c>O_DIRECT</c>.</summary>
    public bool IsDirect { get; }

    /// <summary>Whether the path is a block device rather than a regular file.</summary>
    public bool IsBlockDevice { get; }

    /// <summary>
    /// The memory alignment direct I/O needs for buffers, as <c>statx</c> reports it (<c>stx_dio_mem_align</c>); 0
    /// when the kernel does not say (before Linux 6.1) or the file does not support direct I/O.
    /// </summary>
    public int DirectIoMemoryAlignment { get; }

    /// <summary>
    /// The alignment direct I/O needs for file offsets and lengths (<c>stx_dio_offset_align</c>); 0 when the kernel does
    /// not say or the file does not support direct I/O.
    /// </summary>
    public int DirectIoOffsetAlignment { get; }

    /// <summary>The file descriptor.</summary>
    public int Fd
    {
        get
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            return _fd;
        }
    }

    /// <summary>The current size in bytes (<c>lseek(SEEK_END)</c>, which also works for block devices).</summary>
    public long Length
    {
        get
        {
            long end = LibC.lseek(Fd, 0, LibC.SEEK_END);
            if (end < 0) throw LinuxException.FromLastError($"lseek({Path})");
            return end;
        }
    }

    /// <summary>
    /// Reads exactly <paramref name="destination"/>.Length bytes at <paramref name="offset"/>, looping over short reads
    /// and EINTR. Reaching the end of the file first is an <see cref="EndOfStreamException"/>, never silent zeroes.
    /// </summary>
    public void Read(long offset, Span<byte> destination)
    {
        int fd = Fd;
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        fixed (byte* p = destination)
        {
            int done = 0;
            while (done < destination.Length)
            {
                nint n = LibC.pread(fd, p + done, (nuint)(destination.Length - done), offset + done);
                if (n > 0) { done += (int)n; continue; }
                if (n == 0)
                    throw new EndOfStreamException(
                        $"reading {destination.Length} bytes at offset {offset} of {Path} ran past the end of the file after {done} bytes");
                int errno = Marshal.GetLastPInvokeError();
                if (errno != Errno.EINTR) throw new LinuxException($"pread({Path}, {destination.Length} bytes at offset {offset})", errno);
            }
        }
    }

    /// <summary>Writes all of <paramref name="source"/> at <paramref name="offset"/>, looping over short writes and EINTR.</summary>
    public void Write(long offset, ReadOnlySpan<byte> source)
    {
        int fd = Fd;
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        fixed (byte* p = source)
        {
            int done = 0;
            while (done < source.Length)
            {
                nint n = LibC.pwrite(fd, p + done, (nuint)(source.Length - done), offset + done);
                if (n > 0) { done += (int)n; continue; }
                if (n == 0)
                    throw new IOException($"writing {source.Length} bytes at offset {offset} of {Path} made no progress after {done} bytes");
                int errno = Marshal.GetLastPInvokeError();
                if (errno != Errno.EINTR) throw new LinuxException($"pwrite({Path}, {source.Length} bytes at offset {offset})", errno);
            }
        }
    }

    /// <summary>Makes completed writes durable (<c>fdatasync</c>).</summary>
    public void Flush()
    {
        int fd = Fd;
        while (LibC.fdatasync(fd) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno != Errno.EINTR) throw new LinuxException($"fdatasync({Path})", errno);
        }
    }

    /// <summary>
    /// Deallocates [<paramref name="offset"/>, +<paramref name="length"/>) keeping the size
    /// (<c>fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)</c>); the range then reads as zeroes. False when the
    /// file system does not support it (EOPNOTSUPP), so the caller can fall back to writing zeroes.
    /// </summary>
    public bool TryPunchHole(long offset, long length)
        => Fallocate(LibC.FALLOC_FL_PUNCH_HOLE | LibC.FALLOC_FL_KEEP_SIZE, offset, length, "FALLOC_FL_PUNCH_HOLE");

    /// <summary>
    /// Zeroes [<paramref name="offset"/>, +<paramref name="length"/>) keeping the size
    /// (<c>fallocate(FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE)</c>). False when the file system does not support it
    /// (EOPNOTSUPP), so the caller can fall back to writing zeroes.
    /// </summary>
    public bool TryZeroRange(long offset, long length)
        => Fallocate(LibC.FALLOC_FL_ZERO_RANGE | LibC.FALLOC_FL_KEEP_SIZE, offset, length, "FALLOC_FL_ZERO_RANGE");

    private bool Fallocate(int mode, long offset, long length, string what)
    {
        int fd = Fd;
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length == 0) return true;
        while (LibC.fallocate(fd, mode, offset, length) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == Errno.EOPNOTSUPP) return false;
            if (errno != Errno.EINTR) throw new LinuxException($"fallocate({Path}, {what}, {length} bytes at offset {offset})", errno);
        }
        return true;
    }

    /// <summary>Closes the file. Idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        LibC.close(_fd);
    }
}
