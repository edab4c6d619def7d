using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Orion.Pmd.Device.Backends.Async;
using Orion.Pmd.Device.Execution;
using Orion.Pmd.Linux;

namespace Orion.Pmd.Device.Backends;

/// <summary>Which I/O engine a <see cref="FileBackend"/> serves requests with.</summary>
public enum FileIoEngine
{
    /// <summary>io_uring when the kernel allows it, otherwise synchronous (said in <see cref="FileBackend.IoEngine"/>).</summary>
    Auto,
    /// <summary>io_uring or nothing: opening fails when the kernel refuses it.</summary>
    IoUring,
    /// <summary>Synchronous <c>pread</c>/<c>pwrite</c> on the device thread, one request at a time per queue.</summary>
    Sync,
}

/// <summary>How a <see cref="FileBackend"/> opens its file.</summary>
public sealed record FileBackendOptions
{
    /// <summary>The image file or block device.</summary>
    public required string Path { get; init; }

    /// <summary>Open with <c>O_DIRECT</c>, bypassing the page cache (unaligned buffers are bounced).</summary>
    public bool Direct { get; init; }

    /// <summary>Open read-only; writes, discards and write-zeroes are refused.</summary>
    public bool ReadOnly { get; init; }

    /// <summary>
    /// When above zero: create the file with this many bytes if it is missing, and extend it to this size if it is
    /// smaller (fio's <c>size=</c>); a larger file keeps its size. Zero: the file must exist.
    /// </summary>
    public long CreateSize { get; init; }

    /// <summary>The device's logical block size: the capacity must be a multiple of it.</summary>
    public int LogicalBlockSize { get; init; } = 512;

    /// <summary>How requests reach the file: io_uring (the default, where the kernel allows it) or synchronous calls.</summary>
    public FileIoEngine IoEngine { get; init; } = FileIoEngine.Auto;

    /// <summary>
    /// Test seam: the first this-many io_uring read and write completions of each queue come back as EAGAIN and EINTR
    /// in turn (what a kernel short of resources or a signal gives), instead of what the kernel answered.
    /// </summary>
    internal int TransientErrorsForTests { get; init; }

    /// <summary>
    /// Test seam (direct I/O only): the first this-many io_uring single-buffer writes of each queue go to the kernel one
    /// byte longer than asked, which O_DIRECT refuses (EINVAL) — a write the kernel fails, to prove what a flush linked
    /// behind it does.
    /// </summary>
    internal int KernelFailedWritesForTests { get; init; }
}

/// <summary>
/// A virtio-blk backend over an image file or a block device (<see cref="BlockFile"/>). Each device queue gets its own
/// io_uring (<see cref="OpenQueueIo"/>): reads, writes and flushes go to the kernel in batches, many in flight per
/// queue, straight between the file and guest memory. Where io_uring is refused (or <see cref="FileIoEngine.Sync"/>),
/// and for what io_uring does not carry (discard, write-zeroes, unaligned direct I/O), reads and writes are
/// <c>pread</c>/<c>pwrite</c> on the calling device thread, FLUSH is <c>fdatasync</c>, DISCARD punches a hole and
/// WRITE_ZEROES zeroes the range with <c>fallocate</c> (both fall back to writing zeroes where the file system
/// cannot). The capacity is the file's size at open.
/// </summary>
/// <remarks>
/// With <see cref="FileBackendOptions.Direct"/> a transfer whose buffer address is not 4 KiB aligned, or whose offset
/// or length is not a multiple of the file's direct-I/O alignment (<c>statx</c>'s <c>stx_dio_offset_align</c>, 512
/// when the kernel does not say), goes through a bounce buffer: one per thread, 4 KiB aligned, grown as needed, so
/// device threads never share or lock one. A piece of an alignment unit is read, patched and written back; that unit
/// is never larger than the logical block size (checked at open), so it never holds another request's data. Aligned
/// transfers go straight to the kernel without a copy.
/// </remarks>
public sealed unsafe class FileBackend : IAsyncBlockBackend
{
    /// <summary>Bounce buffers are aligned to this at least, whatever the file system says it needs.</summary>
    public const int BufferAlignment = 4096;

    /// <summary>Most bytes bounced by one system call; larger unaligned transfers go in pieces.</summary>
    private const int BounceChunk = 1 << 20;

    /// <summary>Bytes of the shared zero buffer used when the file system cannot zero a range itself.</summary>
    private const int ZeroChunk = 256 << 10;

    [ThreadStatic] private static byte[]? t_bounce;

    private readonly BlockFile _file;
    private readonly int _memAlign;
    private readonly int _ioAlign;
    private volatile bool _noPunchHole;
    private volatile bool _noZeroRange;
    private nint _zeroes;       // a ZeroChunk of zeroes, allocated on first use
    private long _bounced;
    private int _disposed;

    private readonly int _transientErrorsForTests, _kernelFailedWritesForTests;

    /// <summary>
    /// Opens the file <paramref name="options"/> describes. Throws <see cref="NotSupportedException"/> when direct I/O
    /// was asked for and the file system cannot do it, <see cref="InvalidDataException"/> when the size is not a
    /// non-zero multiple of the logical block size, and <see cref="LinuxException"/> when the file cannot be opened.
    /// </summary>
    public FileBackend(FileBackendOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        int bs = options.LogicalBlockSize;
        if (bs < 512 || (bs & (bs - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(options), bs, "the logical block size must be a power of two of at least 512");
        Path = options.Path;
        _transientErrorsForTests = options.TransientErrorsForTests;
        _kernelFailedWritesForTests = options.KernelFailedWritesForTests;
        Direct = options.Direct;
        ReadOnly = options.ReadOnly;
        try
        {
            _file = BlockFile.Open(options.Path, options.ReadOnly, options.Direct, options.CreateSize);
        }
        catch (LinuxException e) when (options.Direct && e.Errno == Errno.EINVAL && e.Call.StartsWith("open(", StringComparison.Ordinal))
        {
            throw new NotSupportedException(
                $"{options.Path}: the file system does not support direct I/O (O_DIRECT); drop the direct option (,direct) to go through the page cache", e);
        }
        try
        {
            long size = _file.Length;
            if (size <= 0 || size % bs != 0)
                throw new InvalidDataException(SizeError(options.Path, size, bs));
            Capacity = size;
            if (options.Direct)
            {
                // The open succeeded, so the file system takes O_DIRECT; a kernel that does not report the alignment
                // (before Linux 6.1) gets the common 512 bytes.
                _memAlign = Math.Max(BufferAlignment, _file.DirectIoMemoryAlignment);
                _ioAlign = _file.DirectIoOffsetAlignment > 0 ? _file.DirectIoOffsetAlignment : 512;
                if (_ioAlign > bs)
                    throw new NotSupportedException(
                        $"{options.Path}: direct I/O there needs offsets aligned to {_ioAlign} bytes, more than the {bs}-byte logical block; " +
                        $"use a {_ioAlign}-byte block size (bs={_ioAlign}) or drop the direct option (,direct)");
            }
            else
            {
                _memAlign = 1;
                _ioAlign = 1;
            }
            _engine = options.IoEngine;
            if (_engine != FileIoEngine.Sync)
            {
                // Probe once, so the choice is known (and reported) before any queue starts.
                if (IoUring.TryCreate(2, out var probe, out string? why)) probe!.Dispose();
                else if (_engine == FileIoEngine.IoUring)
                    throw new NotSupportedException($"{options.Path}: io_uring was asked for (io=uring) but the kernel refused it: {why}; use io=sync or io=auto");
                else _uringRefusal = why ?? "refused";
            }
        }
        catch
        {
            _file.Dispose();
            throw;
        }
    }

    private readonly FileIoEngine _engine;
    private readonly string? _uringRefusal;

    /// <summary>Why io_uring is not used although it was not turned off (the kernel's refusal); null otherwise.</summary>
    public string? IoUringRefusal => _uringRefusal;

    /// <summary>Whether queues are served through io_uring.</summary>
    public bool UsesIoUring => _engine != FileIoEngine.Sync && _uringRefusal is null;

    /// <inheritdoc />
    public bool FlushCoversEarlierWrites => true;     // the io_uring queue holds a flush behind earlier writes; sync is in order

    /// <inheritdoc />
    public string IoEngine => _engine == FileIoEngine.Sync
        ? "sync (pread/pwrite; io=sync)"
        : _uringRefusal is null ? "io_uring" : $"sync (pread/pwrite; io_uring refused: {_uringRefusal})";

    /// <inheritdoc />
    public IBackendQueueIo? OpenQueueIo(int depth, int maxSegments, BlkRequestExecutor executor, ReadOnlySpan<(nint Address, nuint Length)> memory = default)
    {
        ArgumentNullException.ThrowIfNull(executor);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (!UsesIoUring) return null;
        if (!IoUring.TryCreate((uint)Math.Clamp(depth, 1, 4096), out var ring, out _)) return null;
        // Direct I/O needs what statx says of buffer addresses (512 when it does not say); buffered I/O needs nothing.
        int memAlign = Direct ? Math.Max(1, _file.DirectIoMemoryAlignment > 0 ? _file.DirectIoMemoryAlignment : 512) : 1;
        try
        {
            return new UringFileQueue(ring!, _file.Fd, depth, maxSegments, memAlign, _ioAlign, executor, memory)
            {
                TransientErrorsForTests = _transientErrorsForTests,
                KernelFailedWritesForTests = _kernelFailedWritesForTests,
            };
        }
        catch
        {
            ring!.Dispose();
            throw;
        }
    }

    private static string SizeError(string path, long size, int bs)
    {
        if (size <= 0)
            return $"{path} is empty: a file device needs a size that is a non-zero multiple of {bs} bytes; give size=SIZE to create or extend it";
        long down = size / bs * bs, up = down + bs;
        return $"{path} is {size} bytes ({SizeText.Describe(size)}), not a multiple of the {bs}-byte block size: " +
               $"resize it to {(down > 0 ? $"{down} or " : "")}{up} bytes (for example truncate -s {up} {path}), or give size={up}";
    }

    /// <summary>The path of the file.</summary>
    public string Path { get; }

    /// <summary>Whether the file is open with <c>O_DIRECT</c>.</summary>
    public bool Direct { get; }

    /// <summary>Whether the file is open read-only.</summary>
    public bool ReadOnly { get; }

    /// <summary>Transfers that went through a bounce buffer because they were not aligned for direct I/O.</summary>
    public long BouncedTransfers => Interlocked.Read(ref _bounced);

    /// <summary>The file offset and length alignment transfers need to go straight through (1 without direct I/O).</summary>
    public int IoAlignment => _ioAlign;

    /// <inheritdoc />
    public long Capacity { get; }

    /// <inheritdoc />
    public string Description =>
        $"file:{Path} ({SizeText.Describe(Capacity)}{(Direct ? ", direct" : "")}{(ReadOnly ? ", read-only" : "")})";

    private void CheckRange(long offset, long length)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if ((ulong)offset > (ulong)Capacity || (ulong)length > (ulong)(Capacity - offset))
            throw new ArgumentOutOfRangeException(nameof(offset), $"[{offset}, +{length}) is outside the {Capacity}-byte device");
    }

    private void CheckWritable()
    {
        if (ReadOnly) throw new InvalidOperationException($"{Description} is read-only");
    }

    private bool Aligned(void* p, long offset, int length) =>
        (((nuint)p & (nuint)(_memAlign - 1)) | (nuint)(offset & (_ioAlign - 1)) | (nuint)(length & (_ioAlign - 1))) == 0;

    /// <inheritdoc />
    public void Read(long offset, Span<byte> destination)
    {
        CheckRange(offset, destination.Length);
        if (destination.IsEmpty) return;
        fixed (byte* p = destination)
        {
            if (Aligned(p, offset, destination.Length))
            {
                _file.Read(offset, destination);
                return;
            }
        }
        Interlocked.Increment(ref _bounced);
        for (int done = 0; done < destination.Length;)
        {
            int n = Math.Min(destination.Length - done, BounceChunk);
            long start = offset + done;
            long windowStart = start & ~(long)(_ioAlign - 1);
            int windowLength = (int)(AlignUp(start + n) - windowStart);
            var window = Bounce(windowLength);
            _file.Read(windowStart, window);
            window.Slice((int)(start - windowStart), n).CopyTo(destination.Slice(done, n));
            done += n;
        }
    }

    /// <inheritdoc />
    public void Write(long offset, ReadOnlySpan<byte> source)
    {
        CheckWritable();
        CheckRange(offset, source.Length);
        if (source.IsEmpty) return;
        fixed (byte* p = source)
        {
            if (Aligned(p, offset, source.Length))
            {
                _file.Write(offset, source);
                return;
            }
        }
        Interlocked.Increment(ref _bounced);
        for (int done = 0; done < source.Length;)
        {
            int n = Math.Min(source.Length - done, BounceChunk);
            long start = offset + done, end = start + n;
            long windowStart = start & ~(long)(_ioAlign - 1);
            long windowEnd = AlignUp(end);
            int windowLength = (int)(windowEnd - windowStart);
            var window = Bounce(windowLength);
            // Read back the partial alignment units at either end, so the rest of them is written unchanged.
            bool head = windowStart != start, tail = windowEnd != end;
            if (head) _file.Read(windowStart, window[.._ioAlign]);
            if (tail && !(head && windowLength == _ioAlign)) _file.Read(windowEnd - _ioAlign, window[(windowLength - _ioAlign)..]);
            source.Slice(done, n).CopyTo(window[(int)(start - windowStart)..]);
            _file.Write(windowStart, window);
            done += n;
        }
    }

    private long AlignUp(long value) => (value + _ioAlign - 1) & ~(long)(_ioAlign - 1);

    /// <summary>This thread's bounce buffer, at least <paramref name="length"/> bytes at a <see cref="BufferAlignment"/> (or the file's) boundary.</summary>
    private Span<byte> Bounce(int length)
    {
        // A pinned array on the pinned object heap never moves, and goes away with the thread that used it.
        var array = t_bounce;
        if (array is null || array.Length < length + _memAlign)
            t_bounce = array = GC.AllocateUninitializedArray<byte>(Math.Max(length, 64 << 10) + _memAlign, pinned: true);
        byte* start = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        int skip = (int)((nuint)(-(nint)start) & (nuint)(_memAlign - 1));
        return array.AsSpan(skip, length);
    }

    /// <inheritdoc />
    public void Flush()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        _file.Flush();
    }

    /// <inheritdoc />
    /// <remarks>Punches a hole (the range then reads as zeroes); where the file system cannot, writes zeroes.</remarks>
    public void Discard(long offset, long length)
    {
        CheckWritable();
        CheckRange(offset, length);
        if (!_noPunchHole)
        {
            if (_file.TryPunchHole(offset, length)) return;
            _noPunchHole = true;
        }
        WriteZeroBytes(offset, length);
    }

    /// <inheritdoc />
    /// <remarks>Zeroes the range with <c>FALLOC_FL_ZERO_RANGE</c>; where the file system cannot, writes zeroes.</remarks>
    public void WriteZeroes(long offset, long length)
    {
        CheckWritable();
        CheckRange(offset, length);
        if (!_noZeroRange)
        {
            if (_file.TryZeroRange(offset, length)) return;
            _noZeroRange = true;
        }
        WriteZeroBytes(offset, length);
    }

    private void WriteZeroBytes(long offset, long length)
    {
        nint z = Volatile.Read(ref _zeroes);
        byte* zeroes = z != 0 ? (byte*)z : AllocateZeroes();
        for (long done = 0; done < length;)
        {
            int n = (int)Math.Min(length - done, ZeroChunk);
            Write(offset + done, new ReadOnlySpan<byte>(zeroes, n));
            done += n;
        }
    }

    private byte* AllocateZeroes()
    {
        byte* fresh = (byte*)NativeMemory.AlignedAlloc(ZeroChunk, BufferAlignment);
        NativeMemory.Clear(fresh, ZeroChunk);
        nint prior = Interlocked.CompareExchange(ref _zeroes, (nint)fresh, 0);
        if (prior == 0) return fresh;
        NativeMemory.AlignedFree(fresh);
        return (byte*)prior;
    }

    /// <summary>Closes the file. Idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _file.Dispose();
        nint zeroes = Interlocked.Exchange(ref _zeroes, 0);
        if (zeroes != 0) NativeMemory.AlignedFree((void*)zeroes);
    }
}
