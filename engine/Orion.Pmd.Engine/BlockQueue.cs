using Orion.Pmd.Engine.Memory;
using Orion.Pmd.Engine.Queues;
using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Reactors;
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

    /// <summary>Requests in flight or waiting on this queue.</summary>
    public int Outstanding => _pair.Outstanding;

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

    /// <summary>Flushes the device's volatile cache. False when out of request objects.</summary>
    public bool TrySubmitFlush(IBlockCompletion handler, long tag)
    {
        CheckThread();
        var r = _pair.RentLocal();
        if (r is null) return false;
        r.Prepare(BlkRequestType.Flush, 0);
        r.Handler = handler;
        r.Tag = tag;
        _pair.Enqueue(r);
        return true;
    }

    private bool TrySubmitData(BlkRequestType type, long lba, DmaBuffer buffer, int offset, int length, IBlockCompletion handler, long tag)
    {
        CheckThread();
        ArgumentNullException.ThrowIfNull(buffer);
        ArgumentNullException.ThrowIfNull(handler);
        if ((uint)offset > (uint)buffer.Length || (uint)length > (uint)(buffer.Length - offset))
            throw new ArgumentOutOfRangeException(nameof(length), $"[{offset}, +{length}) is outside the {buffer.Length}-byte buffer");
        _device.CheckRange(type == BlkRequestType.In ? "read" : "write", lba, length);
        var r = _pair.RentLocal();
        if (r is null) return false;
        r.Prepare(type, _device.SectorOf(lba));
        r.AddSegment(buffer.GuestAddress + (ulong)offset, (uint)length);
        r.Handler = handler;
        r.Tag = tag;
        _pair.Enqueue(r);
        return true;
    }

    private void CheckThread()
    {
        if (!_pair.Reactor.IsCurrent)
            throw new InvalidOperationException(
                $"the callback form of queue {Index} must be used on its reactor thread; from other threads use BlockDevice.ReadAsync/WriteAsync");
        if (_pair.Closed) throw new ObjectDisposedException(nameof(BlockQueue), "the engine is stopping");
    }
}
