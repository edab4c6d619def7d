using System.Globalization;
using Orion.Pmd.Device.Backends.Async;
using Orion.Pmd.Device.Backends.Rbd.Interop;
using Orion.Pmd.Device.Execution;
using Orion.Pmd.Linux;

namespace Orion.Pmd.Device.Backends.Rbd;

/// <summary>
/// A virtio-blk backend over a Ceph RBD image, through librbd's C API (librbd1): one cluster connection and one image
/// handle per device, shared by its queues (librbd's image handle is thread-safe and keeps its own per-image
/// dispatch), and one asynchronous channel per device queue (<see cref="RbdQueue"/>: <c>rbd_aio_*</c>, many requests in
/// flight, completions handed to the device thread without blocking it). The synchronous methods (<c>rbd_read</c>,
/// <c>rbd_write</c>, ...) serve what does not go asynchronously: injected faults and latency, multi-range discards.
/// </summary>
/// <remarks>
/// librbd's client-side cache follows <see cref="RbdBackendOptions.Cache"/> (off by default: a completed write is then
/// on the OSDs, and two devices opening the same image see each other's writes); in write-back mode the device reports
/// a volatile cache and FLUSH becomes <c>rbd_aio_flush</c>, which writes librbd's dirty data out. librados' operation timeouts are set from <see cref="RbdBackendOptions.RequestTimeout"/>,
/// so an outage longer than that fails requests with ETIMEDOUT (IOERR, the errno in the executor's last error) instead
/// of holding them for ever. Why librbd and not a RADOS client of our own: docs/architecture.md, "Ceph RBD".
/// </remarks>
public sealed unsafe class RbdBackend : IAsyncBlockBackend
{
    private nint _cluster, _ioctx, _image;
    private int _disposed;

    /// <summary>
    /// Connects to the cluster <paramref name="options"/> names and opens the image. Throws <see cref="IOException"/>
    /// naming the step and librados' or librbd's errno when that fails, <see cref="DllNotFoundException"/> with the
    /// package to install when librbd is missing, and <see cref="InvalidDataException"/> when the image's size is not a
    /// non-zero multiple of the logical block size.
    /// </summary>
    public RbdBackend(RbdBackendOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        try
        {
            Check(LibRados.rados_create(out _cluster, options.ClientId), "rados_create");
            Check(LibRados.rados_conf_read_file(_cluster, options.ConfPath),
                  options.ConfPath is null ? "reading the default ceph.conf" : $"reading {options.ConfPath}");
            foreach (var (key, value) in CacheConfiguration(options.Cache))
                Check(LibRados.rados_conf_set(_cluster, key, value), $"rados_conf_set({key})");
            string timeout = ((long)Math.Ceiling(options.RequestTimeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            Check(LibRados.rados_conf_set(_cluster, "rados_osd_op_timeout", timeout), "rados_conf_set(rados_osd_op_timeout)");
            Check(LibRados.rados_conf_set(_cluster, "rados_mon_op_timeout", timeout), "rados_conf_set(rados_mon_op_timeout)");
            Check(LibRados.rados_connect(_cluster), "connecting to the cluster (rados_connect)");
            CacheSettings = string.Join(' ', CacheKeys.Select(k => $"{k}={ConfGet(k)}"));
            Check(LibRados.rados_ioctx_create(_cluster, options.Pool, out _ioctx), $"opening pool '{options.Pool}'");
            Check(options.ReadOnly
                    ? LibRbd.rbd_open_read_only(_ioctx, options.Image, out _image, null)
                    : LibRbd.rbd_open(_ioctx, options.Image, out _image, null),
                  $"opening image '{options.Image}' in pool '{options.Pool}'");
            Check(LibRbd.rbd_get_size(_image, out ulong size), "rbd_get_size");
            int bs = options.LogicalBlockSize;
            if (size == 0 || size % (ulong)bs != 0 || size > long.MaxValue)
                throw new InvalidDataException(
                    $"{Description}: the image is {size} bytes, not a non-zero multiple of the {bs}-byte block size; resize it (rbd resize --size ...)");
            Capacity = (long)size;
        }
        catch (DllNotFoundException e)
        {
            Release();
            throw new DllNotFoundException($"{Description}: librbd is not installed (apt-get install librbd1): {e.Message}", e);
        }
        catch
        {
            Release();
            throw;
        }
    }

    /// <summary>
    /// The librbd settings <paramref name="mode"/> stands for, as QEMU's <c>rbd</c> driver sets <c>rbd_cache</c> from its
    /// cache mode: set on the cluster handle after the ceph.conf is read, so they win over it. Write-through keeps
    /// librbd's cache for reads but lets no write complete before the OSDs have it (<c>rbd_cache_max_dirty = 0</c>,
    /// whatever <c>rbd_cache_policy</c> says); write-back turns off librbd's "write-through until the first flush", since
    /// the device reports its volatile cache and the driver flushes.
    /// </summary>
    internal static IEnumerable<(string Key, string Value)> CacheConfiguration(RbdCacheMode mode) => mode switch
    {
        RbdCacheMode.None => [("rbd_cache", "false")],
        RbdCacheMode.WriteThrough => [("rbd_cache", "true"), ("rbd_cache_max_dirty", "0")],
        RbdCacheMode.WriteBack => [("rbd_cache", "true"), ("rbd_cache_writethrough_until_flush", "false")],
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "expected None, WriteThrough or WriteBack"),
    };

    /// <summary>The librbd cache settings reported by <see cref="CacheSettings"/>.</summary>
    private static readonly string[] CacheKeys =
        ["rbd_cache", "rbd_cache_policy", "rbd_cache_max_dirty", "rbd_cache_writethrough_until_flush"];

    /// <summary>
    /// librbd's cache settings as the connected cluster handle has them (after the ceph.conf and <see cref="RbdBackendOptions.Cache"/>),
    /// e.g. <c>rbd_cache=true rbd_cache_policy=writearound rbd_cache_max_dirty=0 rbd_cache_writethrough_until_flush=true</c>:
    /// for reports that compare with other librbd clients.
    /// </summary>
    public string CacheSettings { get; } = "";

    /// <summary>Whether completed writes may sit in librbd's volatile cache until a flush (<see cref="RbdCacheMode.WriteBack"/>).</summary>
    public bool HasVolatileCache => Options.Cache == RbdCacheMode.WriteBack;

    /// <summary>Flushes handed to librbd (<c>rbd_aio_flush</c> from the queues, <c>rbd_flush</c> from the synchronous path).</summary>
    public long FlushesSent => Interlocked.Read(ref _flushesSent);
    private long _flushesSent;

    internal void CountFlush() => Interlocked.Increment(ref _flushesSent);

    private string ConfGet(string key)
    {
        var buffer = stackalloc byte[128];
        int r = LibRados.rados_conf_get(_cluster, key, buffer, 128);
        return r < 0 ? "?" : System.Text.Encoding.UTF8.GetString(System.Runtime.InteropServices.MemoryMarshal.CreateReadOnlySpanFromNullTerminated(buffer));
    }

    /// <summary>What this backend opened.</summary>
    public RbdBackendOptions Options { get; }

    /// <inheritdoc />
    public long Capacity { get; }

    /// <inheritdoc />
    public string Description => $"rbd:{Options.Pool}/{Options.Image}{(Options.ReadOnly ? " (read-only)" : "")}";

    /// <inheritdoc />
    public string IoEngine => "librbd (rbd_aio)";

    /// <inheritdoc />
    /// <remarks>librbd.h: <c>rbd_aio_flush</c> calls back "when the currently pending writes are on disk".</remarks>
    public bool FlushCoversEarlierWrites => true;

    /// <inheritdoc />
    public IBackendQueueIo? OpenQueueIo(int depth, int maxSegments, BlkRequestExecutor executor, ReadOnlySpan<(nint Address, nuint Length)> memory = default)
    {
        ArgumentNullException.ThrowIfNull(executor);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return new RbdQueue(this, _image, depth, maxSegments, executor);
    }

    private void Check(int result, string what)
    {
        if (result >= 0) return;
        int errno = -result;
        string name = Errno.GetName(errno) ?? $"errno {errno}";
        string hint = errno switch
        {
            Errno.ENOENT => " (no such pool or image, or no ceph.conf: give conf=PATH)",
            110 => " (the monitors did not answer: is the cluster up and mon_host right?)",
            Errno.EACCES or Errno.EPERM => " (not authorized: give id=NAME with a keyring in the ceph.conf)",
            _ => "",
        };
        throw new IOException($"{Description}: {what} failed: {name}{hint}");
    }

    private void CheckRange(long offset, long length)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if ((ulong)offset > (ulong)Capacity || (ulong)length > (ulong)(Capacity - offset))
            throw new ArgumentOutOfRangeException(nameof(offset), $"[{offset}, +{length}) is outside the {Capacity}-byte image");
    }

    private void CheckWritable()
    {
        if (Options.ReadOnly) throw new InvalidOperationException($"{Description} is read-only");
    }

    private void CheckTransfer(nint result, int expected, string what)
    {
        if (result == expected) return;
        if (result < 0) Check((int)result, what);
        throw new IOException($"{Description}: {what} moved {result} of {expected} bytes");
    }

    /// <inheritdoc />
    public void Read(long offset, Span<byte> destination)
    {
        CheckRange(offset, destination.Length);
        fixed (byte* p = destination)
            CheckTransfer(LibRbd.rbd_read(_image, (ulong)offset, (nuint)destination.Length, p), destination.Length, $"read at {offset}");
    }

    /// <inheritdoc />
    public void Write(long offset, ReadOnlySpan<byte> source)
    {
        CheckWritable();
        CheckRange(offset, source.Length);
        fixed (byte* p = source)
            CheckTransfer(LibRbd.rbd_write(_image, (ulong)offset, (nuint)source.Length, p), source.Length, $"write at {offset}");
    }

    /// <inheritdoc />
    public void Flush()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        CountFlush();
        Check(LibRbd.rbd_flush(_image), "flush");
    }

    /// <inheritdoc />
    public void Discard(long offset, long length)
    {
        CheckWritable();
        CheckRange(offset, length);
        Check(LibRbd.rbd_discard(_image, (ulong)offset, (ulong)length), $"discard at {offset}");
    }

    /// <inheritdoc />
    public void WriteZeroes(long offset, long length)
    {
        CheckWritable();
        CheckRange(offset, length);
        Check((int)LibRbd.rbd_write_zeroes(_image, (ulong)offset, (nuint)length, 0, 0), $"write-zeroes at {offset}");
    }

    private void Release()
    {
        if (_image != 0) LibRbd.rbd_close(_image);
        if (_ioctx != 0) LibRados.rados_ioctx_destroy(_ioctx);
        if (_cluster != 0) LibRados.rados_shutdown(_cluster);
        _image = _ioctx = _cluster = 0;
    }

    /// <summary>Closes the image and the cluster connection (after every queue channel was disposed). Idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Release();
    }
}
