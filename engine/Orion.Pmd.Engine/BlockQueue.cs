using Orion.Pmd.Engine.Memory;
using Orion.Pmd.Engine.Queues;
using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Reactors;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Engine;

/// <summary>
/// The allocation-free callback form for code already running on a reactor (such as <c>orion-perf</c>'s workload,
/// a poller like SPDK's bdevperf): submissions go straight into the reactor's next batch and completions call back
/// on the same thread. Every method must be called on the queue's own reactor thread.
/// </summary>
public sealed class BlockQueue
{
    private readonly QueuePair _pair;
    private readonly BlockDevice _device;

    internal BlockQueue(QueuePair pair, BlockDevice device)
    {
        _pair = pair;
        _device = device;
    }

    /// <summary>Index of the queue.</summary>
    public int Index => _pair.Index;

    /// <summary>The reactor that owns the queue; add pollers to it to run code beside the queue.</summary>
    public Reactor Reactor => _pair.Reactor;

    /// <summary>The queue's counters.</summary>
    public QueueCounters Counters => _pair.Counters;

    /// <summary>
    /// Inside <see cref="IBlockCompletion.OnCompleted"/>: the <see cref="System.Diagnostics.Stopwatch"/> timestamp the
    /// queue took when it reaped this completion (shared by the batch), so a caller timing its I/O need not read the
    /// clock again.
    /// </summary>
    public long CompletionTimestamp => _pair.CompletionTimestamp;

    /// <summary>Requests in flight or waiting on this queue.</summary>
    public int Outstanding => _pair.Outstanding;

    /// <summary>The last failed requests of this queue (at most 32), newest first, with their type, sector, status, time and why.</summary>
    public IReadOnlyList<IoErrorRecord> RecentErrors => _pair.ErrorLog.RecentErrors();

    /// <summary>Every failure of this queue since start, counted by status (exact; cancelled requests are not failures).</summary>
    public IReadOnlyDictionary<IoStatus, long> ErrorCounts => _pair.ErrorLog.ErrorCounts();

    /// <summary>
    /// The first exception an <see cref="IBlockCompletion.OnCompleted"/> of this queue threw, or null. A throwing
    /// callback does not stop the queue: the exception is caught on the reactor, counted
    /// (<see cref="QueueCounters.CallbackFaults"/>) and logged once, and the other completions go on.
    /// </summary>
    public Exception? FirstCallbackFault => _pair.ErrorLog.FirstCallbackFault;

    /// <summary>The latest exception an <see cref="IBlockCompletion.OnCompleted"/> of this queue threw, or null.</summary>
    public Exception? LastCallbackFault => _pair.ErrorLog.LastCallbackFault;

    /// <summary>
    /// Reads <paramref name="length"/> bytes at block <paramref name="lba"/> into <paramref name="buffer"/> at
    /// <paramref name="offset"/>. Returns false (nothing submitted) when every request object of the queue is in use:
    /// retry after a completion.
    /// </summary>
    public bool TrySubmitRead(long lba, DmaBuffer buffer, int offset, int length, IBlockCompletion handler, long tag)
        => TrySubmitData(BlkRequestType.In, lba, buffer, offset, length, handler, tag);

    /// <summary>Writes <paramref name="length"/> bytes of <paramref name="buffer"/> at <paramref name="offset"/> to block <paramref name="lba"/>. False when out of request objects.</summary>
    public bool TrySubmitWrite(long lba, DmaBuffer buffer, int offset, int length, IBlockCompletion handler, long tag)
    {
        _device.ThrowIfReadOnly("write");
        return TrySubmitData(BlkRequestType.Out, lba, buffer, offset, length, handler, tag);
    }

    /// <summary>
    /// Reads into several DMA buffers (slices of buffers from <see cref="BlockDevice.Rent"/>) in one request, filled in
    /// order from block <paramref name="lba"/>: the callback form of <see cref="BlockDevice.ReadVectoredAsync"/>, with
    /// its checks. False (nothing submitted) when out of request objects.
    /// </summary>
    /// <exception cref="ArgumentException">No buffers, more than <see cref="BlockDevice.MaxSegments"/>, a buffer not rented from the pool, or a total that is not whole blocks.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The range is outside the device.</exception>
    public bool TrySubmitReadVectored(long lba, ReadOnlySpan<Memory<byte>> buffers, IBlockCompletion handler, long tag)
        => TrySubmitVectored(BlkRequestType.In, "vectored read", lba, MemoryViews.AsReadOnly(buffers), handler, tag);

    /// <summary>
    /// Writes several DMA buffers in one request, in order from block <paramref name="lba"/>: the callback form of
    /// <see cref="BlockDevice.WriteVectoredAsync"/>, with its checks. False when out of request objects.
    /// </summary>
    /// <exception cref="InvalidOperationException">The device is read-only.</exception>
    /// <exception cref="ArgumentException">No buffers, too many, a buffer not rented from the pool, or a total that is not whole blocks.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The range is outside the device.</exception>
    public bool TrySubmitWriteVectored(long lba, ReadOnlySpan<ReadOnlyMemory<byte>> buffers, IBlockCompletion handler, long tag)
    {
        _device.ThrowIfReadOnly("vectored write");
        return TrySubmitVectored(BlkRequestType.Out, "vectored write", lba, buffers, handler, tag);
    }

    private bool TrySubmitVectored(BlkRequestType type, string what, long lba, ReadOnlySpan<ReadOnlyMemory<byte>> buffers, IBlockCompletion handler, long tag)
    {
        CheckThread();
        ArgumentNullException.ThrowIfNull(handler);
        // Every check before a request object is taken, so a refusal holds nothing.
        long total = _device.CheckDmaVector(buffers);
        _device.CheckRange(what, lba, total);
        var r = _pair.RentLocal();
        if (r is null) return false;
        r.Prepare(type, _device.SectorOf(lba));
        foreach (var b in buffers) BlockDevice.AddDmaSegment(r, b);
        r.Handler = handler;
        r.Tag = tag;
        _pair.SubmitLocal(r);
        return true;
    }

    /// <summary>Flushes the device's volatile cache. False when out of request objects.</summary>
    public bool TrySubmitFlush(IBlockCompletion handler, long tag)
    {
        CheckThread();
        var r = _pair.RentLocal();
        if (r is null) return false;
        r.Prepare(BlkRequestType.Flush, 0);
        r.Handler = handler;
        r.Tag = tag;
        _pair.SubmitLocal(r);
        return true;
    }

    /// <summary>
    /// Discards <paramref name="blocks"/> blocks from <paramref name="lba"/> (the callback form of
    /// <see cref="BlockDevice.DiscardAsync"/>, with its checks). False when out of request objects.
    /// </summary>
    /// <exception cref="InvalidOperationException">The device is read-only.</exception>
    /// <exception cref="NotSupportedException">The device did not negotiate discard.</exception>
    /// <exception cref="ArgumentOutOfRangeException">No blocks, a range outside the device, or more than the device's per-range limit.</exception>
    public bool TrySubmitDiscard(long lba, long blocks, IBlockCompletion handler, long tag)
        => TrySubmitRanged(BlkRequestType.Discard, VirtioFeatures.BlkDiscard, "discard", lba, blocks, 0, _device.Config.MaxDiscardSectors, handler, tag);

    /// <summary>
    /// Writes zeroes over <paramref name="blocks"/> blocks from <paramref name="lba"/> (the callback form of
    /// <see cref="BlockDevice.WriteZeroesAsync"/>, with its checks); <paramref name="mayUnmap"/> lets the device
    /// deallocate them. False when out of request objects.
    /// </summary>
    /// <exception cref="InvalidOperationException">The device is read-only.</exception>
    /// <exception cref="NotSupportedException">The device did not negotiate write-zeroes.</exception>
    /// <exception cref="ArgumentOutOfRangeException">No blocks, a range outside the device, or more than the device's per-range limit.</exception>
    public bool TrySubmitWriteZeroes(long lba, long blocks, bool mayUnmap, IBlockCompletion handler, long tag)
        => TrySubmitRanged(BlkRequestType.WriteZeroes, VirtioFeatures.BlkWriteZeroes, "write-zeroes", lba, blocks,
                           mayUnmap ? BlkDiscardWriteZeroes.FlagUnmap : 0, _device.Config.MaxWriteZeroesSectors, handler, tag);

    private bool TrySubmitRanged(BlkRequestType type, VirtioFeatures feature, string what, long lba, long blocks, uint flags, uint maxSectors,
                                 IBlockCompletion handler, long tag)
    {
        CheckThread();
        ArgumentNullException.ThrowIfNull(handler);
        _device.ThrowIfReadOnly(what);
        if (!_device.Features.HasFlag(feature))
            throw new NotSupportedException($"{_device.Description} did not negotiate {feature}: {what} is not available on this device");
        if (blocks <= 0) throw new ArgumentOutOfRangeException(nameof(blocks), blocks, $"a {what} needs at least one block");
        _device.CheckBlocks(null, what, lba, blocks);      // in blocks: a huge count cannot overflow a byte length
        long sectors = blocks * (_device.BlockSize / BlkConstants.SectorSize);
        if (maxSectors != 0 && sectors > maxSectors)
            throw new ArgumentOutOfRangeException(nameof(blocks), blocks,
                $"a {what} of {blocks} blocks ({sectors} sectors) exceeds the device's limit of {maxSectors} sectors per range; split it");
        var r = _pair.RentLocal();
        if (r is null) return false;
        r.Prepare(type, _device.SectorOf(lba));
        r.Range = new BlkDiscardWriteZeroes(_device.SectorOf(lba), (uint)sectors, flags);
        r.Handler = handler;
        r.Tag = tag;
        _pair.SubmitLocal(r);
        return true;
    }

    private bool TrySubmitData(BlkRequestType type, long lba, DmaBuffer buffer, int offset, int length, IBlockCompletion handler, long tag)
    {
        CheckThread();
        ArgumentNullException.ThrowIfNull(handler);
        int bufferLength = buffer.Length;                   // throws ObjectDisposedException for a returned buffer
        if ((uint)offset > (uint)bufferLength || (uint)length > (uint)(bufferLength - offset))
            throw new ArgumentOutOfRangeException(nameof(length), $"[{offset}, +{length}) is outside the {bufferLength}-byte buffer");
        _device.CheckRange(type == BlkRequestType.In ? "read" : "write", lba, length);
        var r = _pair.RentLocal();
        if (r is null) return false;
        r.Prepare(type, _device.SectorOf(lba));
        r.AddSegment(buffer.GuestAddress + (ulong)offset, (uint)length);
        r.Handler = handler;
        r.Tag = tag;
        _pair.SubmitLocal(r);
        return true;
    }

    /// <summary>Whether the queue takes new requests.</summary>
    public bool IsEnabled => !_pair.Disabled;

    /// <summary>
    /// Stops giving this queue new work: <see cref="BlockDevice"/> callers go to the other queues and the callback
    /// form refuses; requests already on the queue finish normally. Any thread.
    /// </summary>
    public void Disable()
    {
        _pair.SetDisabled(true);
        _device.Audit.QueueDisabled(_device.Description, Index);
    }

    /// <summary>Takes new work again. Any thread.</summary>
    public void Enable()
    {
        _pair.SetDisabled(false);
        _device.Audit.QueueEnabled(_device.Description, Index);
    }

    /// <summary>
    /// Resets the queue (VirtIO 1.2 per-queue reset): the device stops serving it, both sides start over from index 0
    /// on fresh rings, and a queue latched broken works again. The queue must be disabled and have nothing in flight,
    /// unless it is broken, in which case its requests were already failed. Any thread but the queue's reactor; the
    /// queue stays disabled afterwards until <see cref="Enable"/>.
    /// </summary>
    public void Reset(TimeSpan? timeout = null)
    {
        (_device.Engine ?? throw new InvalidOperationException("no engine")).ResetQueue(_pair, timeout ?? TimeSpan.FromSeconds(10));
        _device.Audit.QueueReset(_device.Description, Index);
    }

    /// <summary>
    /// Changes how this queue's reactor waits for completions, at run time: busy-poll, adaptive (poll, then sleep after
    /// <paramref name="adaptiveBudget"/> idle) or interrupt (sleep whenever idle). Any thread.
    /// </summary>
    public void SetNotificationMode(NotificationMode mode, TimeSpan? adaptiveBudget = null)
        => (_device.Engine ?? throw new InvalidOperationException("no engine")).SetNotificationMode(_pair, mode, adaptiveBudget);

    private void CheckThread()
    {
        if (!_pair.Reactor.IsCurrent)
            throw new InvalidOperationException(
                $"the callback form of queue {Index} must be used on its reactor thread; from other threads use BlockDevice.ReadAsync/WriteAsync");
        if (_pair.Closed) throw new ObjectDisposedException(nameof(BlockQueue), "the engine is stopping");
        if (_pair.Disabled) throw new InvalidOperationException($"queue {Index} is disabled; enable it with BlockQueue.Enable()");
    }
}
