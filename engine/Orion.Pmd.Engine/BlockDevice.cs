using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using Microsoft.Extensions.ObjectPool;
using Orion.Pmd.Engine.Audit;
using Orion.Pmd.Engine.Memory;
using Orion.Pmd.Engine.Queues;
using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Engine.Volumes;
using Orion.Pmd.Reactors;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Engine;

/// <summary>
/// The block device as a storage layer sees it. Addresses are logical blocks of <see cref="BlockSize"/> bytes.
/// Every method may be called from any thread; it hands the request to a reactor and returns a
/// <see cref="ValueTask"/> that completes on the thread pool (or throws <see cref="BlockDeviceException"/> when the
/// device fails the request). Buffers rented with <see cref="Rent"/> travel zero-copy; other memory is bounced
/// through the pool and the bounce is counted. When the queue is full callers wait; they are never failed for it.
/// Every asynchronous method takes a <see cref="CancellationToken"/>: a request still waiting for the ring is withdrawn
/// (it throws <see cref="OperationCanceledException"/> and the device never sees it); one the device already has runs
/// to its end, since VirtIO cannot take a request back.
/// </summary>
/// <remarks>
/// Arguments are checked before anything is submitted: a bad LBA or length throws at once and changes nothing.
/// The device can be carved into <see cref="BlockVolume"/>s (<see cref="CreateVolume"/>), LBA ranges with their own
/// access, for different users; a volume's requests go through the same checks and submission path as the device's.
/// </remarks>
public sealed partial class BlockDevice
{
    private readonly QueuePair[] _pairs;
    private readonly BlockQueue[] _queues;
    private readonly ObjectPool<BlockRequest> _requests;
    private readonly int _sectorsPerBlock;
    private volatile bool _closed;

    private readonly IVirtioTransport _transport;

    private PmdEngine? _engine;
    private readonly object _volumeLock = new();
    private BlockVolume[] _volumes = [];

    /// <summary>The engine; setting it picks up the engine's audit log and buffer-zeroing option.</summary>
    internal PmdEngine? Engine
    {
        get => _engine;
        set
        {
            _engine = value;
            if (value is null) return;
            Audit = value.AuditLog;                    // one audit log per engine
            Pool.ZeroOnReturn = value.Options.ZeroBuffersOnReturn;
        }
    }

    /// <summary>The operational log; logs nothing until the engine sets it.</summary>
    internal Diagnostics.EngineLog Log { get; set; } = Diagnostics.EngineLog.None;

    /// <summary>The audit log (<see cref="EngineOptions.LoggerFactory"/>); logs nothing until the engine is set.</summary>
    internal EngineAudit Audit { get; private set; } = EngineAudit.None;

    internal BlockDevice(QueuePair[] pairs, DmaBufferPool pool, BlkConfig config, NegotiatedFeatures features, int blockSize, int maxSegments,
                         string description, IVirtioTransport transport, bool openedReadOnly = false)
    {
        _transport = transport;
        _pairs = pairs;
        Pool = pool;
        Config = config;
        Features = features.Accepted;
        BlockSize = blockSize;
        _sectorsPerBlock = blockSize / BlkConstants.SectorSize;
        BlockCount = (long)(config.Capacity / (ulong)_sectorsPerBlock);
        MaxSegments = maxSegments;
        ReadOnly = features.Has(VirtioFeatures.BlkReadOnly) || openedReadOnly;
        _readOnlyReason = features.Has(VirtioFeatures.BlkReadOnly) ? "VIRTIO_BLK_F_RO" : "opened with ,ro";
        Description = description;
        _queues = pairs.Select(p => new BlockQueue(p, this)).ToArray();
        var recycle = new Action<BlockRequest>(r => _requests!.Return(r));
        _requests = new DefaultObjectPool<BlockRequest>(new RequestPolicy(maxSegments, recycle), maximumRetained: 8192);
    }

    private sealed class RequestPolicy(int maxSegments, Action<BlockRequest> recycle) : PooledObjectPolicy<BlockRequest>
    {
        public override BlockRequest Create() => new(maxSegments, recycle);
        public override bool Return(BlockRequest obj) => true;
    }

    /// <summary>Logical block size in bytes: LBAs count these, and lengths must be multiples of it.</summary>
    public int BlockSize { get; }
    /// <summary>Capacity in logical blocks.</summary>
    public long BlockCount { get; }
    /// <summary>Capacity in bytes.</summary>
    public long CapacityBytes => BlockCount * BlockSize;
    /// <summary>The memory alignment buffers should have for zero-copy I/O (what <see cref="Rent"/> gives).</summary>
    public int BufferAlignment => DmaBufferPool.Alignment;
    /// <summary>Most buffers in one vectored request.</summary>
    public int MaxSegments { get; }
    /// <summary>Largest transfer in bytes from one buffer (the pool's largest buffer).</summary>
    public int MaxTransferBytes => Pool.MaxBufferBytes;
    /// <summary>Whether the device is read-only (<c>VIRTIO_BLK_F_RO</c>): writes are refused before they reach it.</summary>
    public bool ReadOnly { get; }
    /// <summary>Negotiated features.</summary>
    public VirtioFeatures Features { get; }
    /// <summary>The device's configuration space as read at start.</summary>
    public BlkConfig Config { get; }
    /// <summary>
    /// Whether completed writes may sit in a volatile cache until <see cref="FlushAsync"/>: the device offers FLUSH
    /// and, with CONFIG_WCE, its <c>writeback</c> field is 1. When false, a write is durable once it completes.
    /// </summary>
    public bool WriteCacheEnabled
    {
        get
        {
            if (!Features.HasFlag(VirtioFeatures.BlkFlush)) return false;
            if (!Features.HasFlag(VirtioFeatures.BlkConfigWce)) return true;
            Span<byte> wb = stackalloc byte[1];
            return _transport.ReadConfig(BlkConfig.Offsets.Writeback, wb) == 1 && wb[0] != 0;
        }
    }

    /// <summary>Switches the device's write cache (CONFIG_WCE): off makes every write durable before it completes.</summary>
    public void SetWriteCache(bool enabled)
    {
        ThrowIfClosed();
        if (!Features.HasFlag(VirtioFeatures.BlkConfigWce))
            throw new NotSupportedException($"{Description} did not negotiate CONFIG_WCE: its write-cache mode cannot be changed");
        WriteWritebackByte(enabled);
        _writeCacheChosen = enabled;
    }

    private bool? _writeCacheChosen;

    private void WriteWritebackByte(bool enabled)
    {
        _transport.WriteConfig(BlkConfig.Offsets.Writeback, [enabled ? (byte)1 : (byte)0]);
        if (WriteCacheEnabled != enabled)
            throw new IOException($"{Description} did not accept write-cache mode {(enabled ? "writeback" : "writethrough")}");
    }

    /// <summary>
    /// After a device reset: the device came back in its default cache mode, so the mode the owner chose with
    /// <see cref="SetWriteCache"/> is written again — otherwise writes acknowledged as durable (write-through) would
    /// silently sit in a volatile cache.
    /// </summary>
    internal void RestoreWriteCacheMode()
    {
        if (_writeCacheChosen is { } enabled && WriteCacheEnabled != enabled) WriteWritebackByte(enabled);
    }

    /// <summary>The device, for reports.</summary>
    public string Description { get; }
    /// <summary>The zero-copy buffer pool.</summary>
    public DmaBufferPool Pool { get; }
    /// <summary>Number of queues (one per reactor).</summary>
    public int QueueCount => _pairs.Length;

    /// <summary>The callback form of queue <paramref name="index"/>, for code running on its reactor.</summary>
    public BlockQueue GetQueue(int index) => _queues[index];

    /// <summary>The last failed requests of every queue (at most 32 per queue), newest first.</summary>
    public IReadOnlyList<IoErrorRecord> RecentErrors =>
        _queues.SelectMany(q => q.RecentErrors).OrderByDescending(e => e.TimeUtc).ToArray();

    /// <summary>Rents a zero-copy DMA buffer of <paramref name="length"/> bytes, aligned to <see cref="BufferAlignment"/>. Dispose it to return it.</summary>
    public DmaBuffer Rent(int length) => Pool.Rent(length);

    /// <summary>Reads <c>buffer.Length</c> bytes starting at block <paramref name="lba"/>.</summary>
    public ValueTask ReadAsync(long lba, Memory<byte> buffer, CancellationToken cancellationToken = default) => Read(null, lba, buffer, cancellationToken);

    /// <summary>Writes <paramref name="buffer"/> starting at block <paramref name="lba"/>.</summary>
    public ValueTask WriteAsync(long lba, ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => Write(null, lba, buffer, cancellationToken);

    /// <summary>Reads into several DMA buffers (rented with <see cref="Rent"/>) in one request, filled in order from <paramref name="lba"/>.</summary>
    public ValueTask ReadVectoredAsync(long lba, ReadOnlySpan<Memory<byte>> buffers, CancellationToken cancellationToken = default) => ReadVectored(null, lba, buffers, cancellationToken);

    /// <summary>Writes several DMA buffers (rented with <see cref="Rent"/>) in one request, in order from <paramref name="lba"/>.</summary>
    public ValueTask WriteVectoredAsync(long lba, ReadOnlySpan<ReadOnlyMemory<byte>> buffers, CancellationToken cancellationToken = default) => WriteVectored(null, lba, buffers, cancellationToken);

    /// <summary>
    /// Makes every completed write durable (<c>VIRTIO_BLK_T_FLUSH</c>). Without the FLUSH feature the device has no
    /// volatile cache (writes are durable when acknowledged) and this completes at once.
    /// </summary>
    public ValueTask FlushAsync(CancellationToken cancellationToken = default) => Flush(null, cancellationToken);

    /// <summary>
    /// Writes <paramref name="buffer"/> starting at block <paramref name="lba"/> and flushes, completing once the data is
    /// durable whatever the cache mode did meanwhile (a device without FLUSH has no volatile cache: a plain write).
    /// Where the device's flush covers writes made available before it (the embedded device does), the write and the
    /// flush are placed together on one queue, one round trip instead of two — a log's group commit in one go. In
    /// write-through mode a plain <see cref="WriteAsync"/> is already durable and spares the flush.
    /// Fails with the write's error if the write failed, else with the flush's.
    /// </summary>
    public ValueTask WriteDurableAsync(long lba, ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => WriteDurable(null, lba, buffer, cancellationToken);

    /// <summary>Discards <paramref name="blocks"/> blocks from <paramref name="lba"/> (the device may deallocate them).</summary>
    public ValueTask DiscardAsync(long lba, long blocks, CancellationToken cancellationToken = default) => Discard(null, lba, blocks, cancellationToken);

    /// <summary>Writes zeroes over <paramref name="blocks"/> blocks from <paramref name="lba"/>; <paramref name="mayUnmap"/> lets the device deallocate them.</summary>
    public ValueTask WriteZeroesAsync(long lba, long blocks, bool mayUnmap = false, CancellationToken cancellationToken = default) => WriteZeroes(null, lba, blocks, mayUnmap, cancellationToken);

    // ---------------------------------------------------------------- volumes

    /// <summary>The volumes carved from this device, in creation order.</summary>
    public IReadOnlyList<BlockVolume> Volumes => Volatile.Read(ref _volumes);

    /// <summary>
    /// Carves <paramref name="blocks"/> blocks from <paramref name="firstLba"/> into a volume named
    /// <paramref name="name"/>, for one user: its LBAs start at 0, a request outside it is refused, and with
    /// <see cref="VolumeAccess.ReadOnly"/> so is every write, discard and write-zeroes — before anything reaches the
    /// device. Volumes never share blocks. The creation is written to the audit log.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">No blocks, or a range outside the device.</exception>
    /// <exception cref="InvalidOperationException">
    /// A volume of that name exists, the range overlaps another volume, or a read-write volume was asked of a read-only device.
    /// </exception>
    public BlockVolume CreateVolume(string name, long firstLba, long blocks, VolumeAccess access)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!Enum.IsDefined(access)) throw new ArgumentOutOfRangeException(nameof(access), access, "ReadOnly or ReadWrite");
        ThrowIfClosed();
        if (blocks <= 0)
            throw new ArgumentOutOfRangeException(nameof(blocks), blocks, $"volume '{name}' needs at least one block");
        if (firstLba < 0 || firstLba >= BlockCount || blocks > BlockCount - firstLba)
            throw new ArgumentOutOfRangeException(nameof(firstLba), firstLba,
                $"volume '{name}' of {blocks} blocks from LBA {firstLba} does not fit {Description}: it has {BlockCount} blocks (LBA 0 to {BlockCount - 1})");
        if (access == VolumeAccess.ReadWrite && ReadOnly)
            throw new InvalidOperationException($"{Description} is read-only ({_readOnlyReason}): volume '{name}' can only be {VolumeAccess.ReadOnly}");
        BlockVolume volume;
        lock (_volumeLock)
        {
            foreach (var v in _volumes)
            {
                if (string.Equals(v.Name, name, StringComparison.Ordinal))
                    throw new InvalidOperationException($"a volume named '{name}' already exists on {Description} ({v.DescribeRange()}); remove it first or pick another name");
                if (firstLba < v.FirstLba + v.BlockCount && v.FirstLba < firstLba + blocks)
                    throw new InvalidOperationException(
                        $"volume '{name}' (device LBA {firstLba} to {firstLba + blocks - 1}) would overlap volume '{v.Name}' ({v.DescribeRange()}); volumes may not share blocks");
            }
            volume = new BlockVolume(this, name, firstLba, blocks, access);
            Volatile.Write(ref _volumes, [.. _volumes, volume]);
        }
        Audit.VolumeCreated(Description, name, firstLba, blocks, access);
        return volume;
    }

    /// <summary>The volume named <paramref name="name"/>, or null.</summary>
    public BlockVolume? GetVolume(string name) => Array.Find(Volatile.Read(ref _volumes), v => string.Equals(v.Name, name, StringComparison.Ordinal));

    /// <summary>
    /// Removes the volume named <paramref name="name"/>: it refuses every later request (requests already submitted
    /// finish normally) and its blocks may be carved again. False when there is no such volume.
    /// The removal is written to the audit log.
    /// </summary>
    public bool RemoveVolume(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        BlockVolume? volume;
        lock (_volumeLock)
        {
            volume = Array.Find(_volumes, v => string.Equals(v.Name, name, StringComparison.Ordinal));
            if (volume is null) return false;
            volume.MarkRemoved();
            Volatile.Write(ref _volumes, Array.FindAll(_volumes, v => !ReferenceEquals(v, volume)));
        }
        Audit.VolumeRemoved(Description, volume.Name, volume.FirstLba, volume.BlockCount);
        return true;
    }

    // ---------------------------------------------------------------- one path for the device and its volumes
    // A null volume is the device itself. LBAs are the caller's (relative to the volume); Locate/CheckBlocks return
    // the device LBA.

    internal ValueTask Read(BlockVolume? volume, long lba, Memory<byte> buffer, CancellationToken ct = default)
    {
        Permit(volume, "read", write: false, lba, buffer.Length / BlockSize);
        long at = Locate(volume, "read", lba, buffer.Length);
        var r = NewRequest(BlkRequestType.In, at);
        AddDataBuffer(r, buffer, isRead: true);
        return Submit(r, ct);
    }

    internal ValueTask Write(BlockVolume? volume, long lba, ReadOnlyMemory<byte> buffer, CancellationToken ct = default)
    {
        Permit(volume, "write", write: true, lba, buffer.Length / BlockSize);
        long at = Locate(volume, "write", lba, buffer.Length);
        var r = NewRequest(BlkRequestType.Out, at);
        AddDataBuffer(r, buffer, isRead: false);
        return Submit(r, ct);
    }

    internal ValueTask WriteDurable(BlockVolume? volume, long lba, ReadOnlyMemory<byte> buffer, CancellationToken ct = default)
    {
        if (!Features.HasFlag(VirtioFeatures.BlkFlush)) return Write(volume, lba, buffer, ct);
        if (!_transport.FlushCoversEarlierWrites)
            return WriteThenFlush.Run(Write(volume, lba, buffer, ct), (Device: this, Volume: volume, Ct: ct), static s => s.Device.Flush(s.Volume, s.Ct));
        Permit(volume, "write", write: true, lba, buffer.Length / BlockSize);
        long at = Locate(volume, "write", lba, buffer.Length);
        var write = NewRequest(BlkRequestType.Out, at);
        AddDataBuffer(write, buffer, isRead: false);
        var flush = NewRequest(BlkRequestType.Flush, 0);
        // One queue for both, in this order: the device sees the write made available before the flush.
        var queue = PickQueue();
        var written = Submit(write, ct, queue);
        return AwaitWriteAndFlush(written, Submit(flush, ct, queue));
    }

    /// <summary>
    /// Awaits a write and the flush placed behind it (each pooled request must be awaited once to go back); the write's
    /// failure wins over the flush's. The flush is awaited first: the device completes it only after the write, so by
    /// then the write is complete too and the caller resumes once, not once per request (on a busy 2-core machine each
    /// resumption is a thread-pool hand-off).
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask AwaitWriteAndFlush(ValueTask write, ValueTask flush)
    {
        ExceptionDispatchInfo? flushError = null, writeError = null;
        try
        {
            await flush.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            flushError = ExceptionDispatchInfo.Capture(e);
        }
        try
        {
            await write.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            writeError = ExceptionDispatchInfo.Capture(e);
        }
        (writeError ?? flushError)?.Throw();
    }

    internal ValueTask ReadVectored(BlockVolume? volume, long lba, ReadOnlySpan<Memory<byte>> buffers, CancellationToken ct = default)
        => Vectored(volume, BlkRequestType.In, "vectored read", lba, MemoryViews.AsReadOnly(buffers), ct);

    internal ValueTask WriteVectored(BlockVolume? volume, long lba, ReadOnlySpan<ReadOnlyMemory<byte>> buffers, CancellationToken ct = default)
        => Vectored(volume, BlkRequestType.Out, "vectored write", lba, buffers, ct);

    /// <summary>Memory&lt;T&gt; and ReadOnlyMemory&lt;T&gt; share one layout, so a read's buffers are reinterpreted, never copied.</summary>
    private ValueTask Vectored(BlockVolume? volume, BlkRequestType type, string what, long lba, ReadOnlySpan<ReadOnlyMemory<byte>> buffers, CancellationToken ct)
    {
        long total = 0;
        foreach (var b in buffers) total += b.Length;
        Permit(volume, what, write: type == BlkRequestType.Out, lba, total / BlockSize);
        CheckDmaVector(buffers);
        long at = Locate(volume, what, lba, total);
        var r = NewRequest(type, at);
        foreach (var b in buffers) AddDmaSegment(r, b);
        return Submit(r, ct);
    }

    /// <summary>A flush is device-wide (VirtIO has no ranged flush): a volume may flush whatever its access.</summary>
    internal ValueTask Flush(BlockVolume? volume, CancellationToken ct = default)
    {
        Permit(volume, "flush", write: false, 0, 0);
        if (!Features.HasFlag(VirtioFeatures.BlkFlush)) return ValueTask.CompletedTask;
        return Submit(NewRequest(BlkRequestType.Flush, 0), ct);
    }

    internal ValueTask Discard(BlockVolume? volume, long lba, long blocks, CancellationToken ct = default)
        => Ranged(volume, BlkRequestType.Discard, VirtioFeatures.BlkDiscard, "discard", lba, blocks, 0, Config.MaxDiscardSectors, ct);

    internal ValueTask WriteZeroes(BlockVolume? volume, long lba, long blocks, bool mayUnmap, CancellationToken ct = default)
        => Ranged(volume, BlkRequestType.WriteZeroes, VirtioFeatures.BlkWriteZeroes, "write-zeroes", lba, blocks,
                  mayUnmap ? BlkDiscardWriteZeroes.FlagUnmap : 0, Config.MaxWriteZeroesSectors, ct);

    /// <summary>
    /// The permission half of every check: the engine is open, the volume still exists, and a write (any request that
    /// changes data) is allowed by the device and the volume. A refusal is audited.
    /// </summary>
    internal void Permit(BlockVolume? volume, string what, bool write, long lba, long blocks)
    {
        ThrowIfClosed();
        volume?.ThrowIfRemoved();
        if (!write) return;
        ThrowIfReadOnly(what, volume, lba, blocks);
        volume?.DemandWrite(what, lba, blocks);
    }

    /// <summary>The range half for data requests: a whole number of blocks, inside the device or volume. Returns the device LBA.</summary>
    internal long Locate(BlockVolume? volume, string what, long lba, long bytes)
    {
        if (bytes <= 0)
            throw new ArgumentException($"a {what} needs at least one block of {BlockSize} bytes; got {bytes} bytes");
        if (bytes % BlockSize != 0)
            throw new ArgumentException($"a {what} of {bytes} bytes is not a multiple of the {BlockSize}-byte block size");
        return CheckBlocks(volume, what, lba, bytes / BlockSize);
    }

    /// <summary>Checks <paramref name="blocks"/> blocks at <paramref name="lba"/> lie inside the device or volume; returns the device LBA.</summary>
    internal long CheckBlocks(BlockVolume? volume, string what, long lba, long blocks)
    {
        long count = volume?.BlockCount ?? BlockCount;
        if (lba < 0 || lba > count || blocks > count - lba)
        {
            if (volume is not null) throw volume.OutOfRange(what, lba, blocks);
            throw new ArgumentOutOfRangeException(nameof(lba), lba,
                $"a {what} of {blocks} blocks at LBA {lba} is outside the device: it has {BlockCount} blocks of {BlockSize} bytes (LBA 0 to {BlockCount - 1})");
        }
        return volume is null ? lba : volume.FirstLba + lba;
    }

    /// <summary>Reads the device's 20-byte id (serial number), NUL padding removed.</summary>
    public async ValueTask<string> GetIdAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        var id = new byte[BlkConstants.IdBytes];
        var r = NewRequest(BlkRequestType.GetId, 0);
        r.IdDestination = id;
        await Submit(r, cancellationToken).ConfigureAwait(false);
        int end = Array.IndexOf(id, (byte)0);
        return System.Text.Encoding.ASCII.GetString(id, 0, end < 0 ? id.Length : end);
    }

    private ValueTask Ranged(BlockVolume? volume, BlkRequestType type, VirtioFeatures feature, string what, long lba, long blocks, uint flags, uint maxSectors, CancellationToken ct)
    {
        Permit(volume, what, write: true, lba, blocks);
        if (!Features.HasFlag(feature))
            throw new NotSupportedException($"{Description} did not negotiate {feature}: {what} is not available on this device");
        if (blocks <= 0) throw new ArgumentOutOfRangeException(nameof(blocks), blocks, $"a {what} needs at least one block");
        long at = CheckBlocks(volume, what, lba, blocks);
        long sectors = blocks * _sectorsPerBlock;
        if (maxSectors != 0 && sectors > maxSectors)
            throw new ArgumentOutOfRangeException(nameof(blocks), blocks,
                $"a {what} of {blocks} blocks ({sectors} sectors) exceeds the device's limit of {maxSectors} sectors per range; split it");
        var r = NewRequest(type, at);
        r.Range = new BlkDiscardWriteZeroes(SectorOf(at), (uint)sectors, flags);
        return Submit(r, ct);
    }

    /// <summary>
    /// Test seam: submits a request exactly as given, skipping every check this API makes (range, alignment, type,
    /// read-only), so tests can see what a device answers to what the API would never send. Data, when given, must be
    /// a DMA buffer slice.
    /// </summary>
    internal ValueTask SubmitUnchecked(BlkRequestType type, ulong sector, Memory<byte> data = default, BlkDiscardWriteZeroes? range = null)
    {
        ThrowIfClosed();
        var r = _requests.Get();
        r.Prepare(type, sector);
        if (!data.IsEmpty) AddDmaSegment(r, data);
        if (range is { } rg) r.Range = rg;
        return Submit(r);
    }

    // ---------------------------------------------------------------- helpers

    private BlockRequest NewRequest(BlkRequestType type, long lba)
    {
        ThrowIfClosed();
        var r = _requests.Get();
        r.Prepare(type, SectorOf(lba));
        return r;
    }

    private ValueTask Submit(BlockRequest r, CancellationToken ct = default) => Submit(r, ct, null);

    private ValueTask Submit(BlockRequest r, CancellationToken ct, QueuePair? queue)
    {
        if (ct.IsCancellationRequested)
        {
            // Cancelled before it was handed over: nothing was sent and nothing is held.
            r.Bounce?.Dispose();
            r.Bounce = null;
            r.BounceReadTarget = default;
            _requests.Return(r);
            return ValueTask.FromCanceled(ct);
        }
        var vt = r.AsValueTask();
        r.WatchCancellation(ct);
        (queue ?? PickQueue()).SubmitFromAnyThread(r);
        return vt;
    }

    private QueuePair PickQueue()
    {
        // Code on one of our reactors submits to its own queue, with no hop. Other threads each keep one home queue,
        // dealt round-robin as threads first submit: thread ids cluster (the pool's threads are numbered together),
        // so taking them modulo the queue count piled most callers onto one queue.
        if (Reactor.Current is { } current)
            foreach (var p in _pairs)
                if (p.Reactor == current && !p.Disabled) return p;
        if (_pairs.Length == 1 && !_pairs[0].Disabled) return _pairs[0];
        uint start = HomeQueueTicket() % (uint)_pairs.Length;
        for (uint i = 0; i < (uint)_pairs.Length; i++)
        {
            var p = _pairs[(start + i) % (uint)_pairs.Length];
            if (!p.Disabled) return p;
        }
        throw new InvalidOperationException("every queue of the device is disabled; enable one with BlockQueue.Enable()");
    }

    [ThreadStatic] private static uint t_homeTicket;
    private static int s_nextTicket;

    /// <summary>This thread's ticket, dealt once per thread (1, 2, 3, ...; 0 means not yet dealt).</summary>
    private static uint HomeQueueTicket()
    {
        uint ticket = t_homeTicket;
        if (ticket == 0) t_homeTicket = ticket = (uint)Interlocked.Increment(ref s_nextTicket);
        return ticket - 1;
    }

    private void CheckVector(int count)
    {
        if (count == 0) throw new ArgumentException("a vectored request needs at least one buffer");
        if (count > MaxSegments) throw new ArgumentException($"{count} buffers exceed the device's limit of {MaxSegments} per request");
    }

    /// <summary>A DMA buffer travels as is; any other memory goes through a bounce buffer (copied in now for a write, out at completion for a read).</summary>
    private void AddDataBuffer(BlockRequest r, ReadOnlyMemory<byte> buffer, bool isRead)
    {
        if (MemoryMarshal.TryGetMemoryManager<byte, DmaBufferSlot>(buffer, out var dma, out int start, out int length))
        {
            r.AddSegment(dma!.GuestAddress + (ulong)start, (uint)length);
            return;
        }
        Log.FirstBounce(Description, isRead ? "read" : "write", buffer.Length);
        var bounce = Pool.Rent(buffer.Length);
        if (isRead) r.BounceReadTarget = MemoryMarshal.AsMemory(buffer);
        else buffer.Span.CopyTo(bounce.Span);
        r.Bounce = bounce;
        r.AddSegment(bounce.GuestAddress, (uint)buffer.Length);
    }

    /// <summary>
    /// The checks of a vectored request made before anything is taken: a count within <see cref="MaxSegments"/>,
    /// every buffer a DMA buffer slice. Returns the total length.
    /// </summary>
    internal long CheckDmaVector(ReadOnlySpan<ReadOnlyMemory<byte>> buffers)
    {
        CheckVector(buffers.Length);
        long total = 0;
        for (int i = 0; i < buffers.Length; i++)
        {
            if (!MemoryMarshal.TryGetMemoryManager<byte, DmaBufferSlot>(buffers[i], out _))
                throw new ArgumentException($"buffer {i} of the vectored request is not DMA memory: vectored requests take buffers rented from BlockDevice.Rent (zero-copy)");
            total += buffers[i].Length;
        }
        return total;
    }

    internal static void AddDmaSegment(BlockRequest r, ReadOnlyMemory<byte> b)
    {
        if (!MemoryMarshal.TryGetMemoryManager<byte, DmaBufferSlot>(b, out var dma, out int start, out int length))
            throw new ArgumentException("vectored requests take buffers rented from BlockDevice.Rent (zero-copy DMA memory)");
        r.AddSegment(dma!.GuestAddress + (ulong)start, (uint)length);
    }

    internal ulong SectorOf(long lba) => (ulong)lba * (ulong)_sectorsPerBlock;

    /// <summary>The device-wide range check (the callback form's): the same path as every other request.</summary>
    internal void CheckRange(string what, long lba, long bytes)
    {
        ThrowIfClosed();
        Locate(null, what, lba, bytes);
    }

    private readonly string _readOnlyReason;

    internal void ThrowIfReadOnly(string what, BlockVolume? volume = null, long lba = 0, long blocks = 0)
    {
        if (!ReadOnly) return;
        Audit.AccessRefused(Description, volume?.Name ?? Description, what, lba, blocks, $"the device is read-only ({_readOnlyReason})");
        throw new InvalidOperationException($"{Description} is read-only ({_readOnlyReason}): a {what} is refused");
    }

    private void ThrowIfClosed()
    {
        if (_closed) throw new ObjectDisposedException(nameof(BlockDevice), "the engine is stopping or stopped; no new requests are accepted");
    }

    internal void Close()
    {
        _closed = true;
        foreach (var p in _pairs) p.Close();
    }
}
