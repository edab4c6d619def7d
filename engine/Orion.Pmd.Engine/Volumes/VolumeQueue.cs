using Orion.Pmd.Engine.Memory;
using Orion.Pmd.Engine.Queues;
using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Reactors;

namespace Orion.Pmd.Engine.Volumes;

/// <summary>
/// The callback form of one queue restricted to a <see cref="BlockVolume"/> (<see cref="BlockVolume.GetQueue"/>):
/// LBAs are the volume's, a request outside it or against its access throws before anything is submitted, and the
/// rest is <see cref="BlockQueue"/>'s (its thread rule, its return value, its completions). Every method must be
/// called on the queue's own reactor thread. Refusals allocate (they build an exception and an audit event);
/// accepted requests do not.
/// </summary>
public sealed class VolumeQueue
{
    private readonly BlockVolume _volume;
    private readonly BlockQueue _queue;

    internal VolumeQueue(BlockVolume volume, BlockQueue queue)
    {
        _volume = volume;
        _queue = queue;
    }

    /// <summary>The volume.</summary>
    public BlockVolume Volume => _volume;
    /// <summary>The device queue underneath (shared with every other user of the queue).</summary>
    public BlockQueue Queue => _queue;
    /// <summary>Index of the queue.</summary>
    public int Index => _queue.Index;
    /// <summary>The reactor that owns the queue.</summary>
    public Reactor Reactor => _queue.Reactor;
    /// <summary>The queue's counters (all users of the queue together).</summary>
    public QueueCounters Counters => _queue.Counters;

    /// <summary>Reads <paramref name="length"/> bytes at volume block <paramref name="lba"/>; false (nothing submitted) when out of request objects.</summary>
    public bool TrySubmitRead(long lba, DmaBuffer buffer, int offset, int length, IBlockCompletion handler, long tag)
    {
        var device = _volume.Device;
        device.Permit(_volume, "read", write: false, lba, length / device.BlockSize);
        long at = device.Locate(_volume, "read", lba, length);
        return _queue.TrySubmitRead(at, buffer, offset, length, handler, tag);
    }

    /// <summary>Writes <paramref name="length"/> bytes at volume block <paramref name="lba"/>; false when out of request objects.</summary>
    /// <exception cref="VolumeAccessDeniedException">The volume is read-only.</exception>
    public bool TrySubmitWrite(long lba, DmaBuffer buffer, int offset, int length, IBlockCompletion handler, long tag)
    {
        var device = _volume.Device;
        device.Permit(_volume, "write", write: true, lba, length / device.BlockSize);
        long at = device.Locate(_volume, "write", lba, length);
        return _queue.TrySubmitWrite(at, buffer, offset, length, handler, tag);
    }

    /// <summary>Reads into several DMA buffers from volume block <paramref name="lba"/> in one request; false when out of request objects.</summary>
    public bool TrySubmitReadVectored(long lba, ReadOnlySpan<Memory<byte>> buffers, IBlockCompletion handler, long tag)
        => _queue.TrySubmitReadVectored(LocateVector("vectored read", write: false, lba, MemoryViews.AsReadOnly(buffers)), buffers, handler, tag);

    /// <summary>Writes several DMA buffers from volume block <paramref name="lba"/> in one request; false when out of request objects.</summary>
    /// <exception cref="VolumeAccessDeniedException">The volume is read-only.</exception>
    public bool TrySubmitWriteVectored(long lba, ReadOnlySpan<ReadOnlyMemory<byte>> buffers, IBlockCompletion handler, long tag)
        => _queue.TrySubmitWriteVectored(LocateVector("vectored write", write: true, lba, buffers), buffers, handler, tag);

    /// <summary>The volume's checks of a vectored request; returns the device LBA.</summary>
    private long LocateVector(string what, bool write, long lba, ReadOnlySpan<ReadOnlyMemory<byte>> buffers)
    {
        var device = _volume.Device;
        long total = 0;
        foreach (var b in buffers) total += b.Length;
        device.Permit(_volume, what, write, lba, total / device.BlockSize);
        return device.Locate(_volume, what, lba, total);
    }

    /// <summary>Writes zeroes over <paramref name="blocks"/> blocks from volume block <paramref name="lba"/>; false when out of request objects.</summary>
    /// <exception cref="VolumeAccessDeniedException">The volume is read-only.</exception>
    public bool TrySubmitWriteZeroes(long lba, long blocks, bool mayUnmap, IBlockCompletion handler, long tag)
    {
        var device = _volume.Device;
        device.Permit(_volume, "write-zeroes", write: true, lba, blocks);
        if (blocks <= 0) throw new ArgumentOutOfRangeException(nameof(blocks), blocks, "a write-zeroes needs at least one block");
        long at = device.CheckBlocks(_volume, "write-zeroes", lba, blocks);
        return _queue.TrySubmitWriteZeroes(at, blocks, mayUnmap, handler, tag);
    }

    /// <summary>Flushes the device (device-wide; allowed on any volume); false when out of request objects.</summary>
    public bool TrySubmitFlush(IBlockCompletion handler, long tag)
    {
        _volume.Device.Permit(_volume, "flush", write: false, 0, 0);
        return _queue.TrySubmitFlush(handler, tag);
    }

    /// <summary>Discards <paramref name="blocks"/> blocks from volume block <paramref name="lba"/>; false when out of request objects.</summary>
    /// <exception cref="VolumeAccessDeniedException">The volume is read-only.</exception>
    public bool TrySubmitDiscard(long lba, long blocks, IBlockCompletion handler, long tag)
    {
        var device = _volume.Device;
        device.Permit(_volume, "discard", write: true, lba, blocks);
        if (blocks <= 0) throw new ArgumentOutOfRangeException(nameof(blocks), blocks, "a discard needs at least one block");
        long at = device.CheckBlocks(_volume, "discard", lba, blocks);
        return _queue.TrySubmitDiscard(at, blocks, handler, tag);
    }
}
