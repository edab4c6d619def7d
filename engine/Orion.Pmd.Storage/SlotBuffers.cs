using System.Buffers;
using System.Collections.Concurrent;

namespace Orion.Pmd.Storage;

/// <summary>A small cache of slot-sized DMA buffers, so page reads and writes rent nothing in the steady state.</summary>
internal sealed class SlotBuffers(IBlockStorage storage, int keep) : IDisposable
{
    private readonly ConcurrentQueue<IMemoryOwner<byte>> _free = new();
    private int _count;

    public IMemoryOwner<byte> Rent()
    {
        if (_free.TryDequeue(out var b)) { Interlocked.Decrement(ref _count); return b; }
        return storage.Rent(PageSlot.Bytes);
    }

    public void Return(IMemoryOwner<byte> buffer)
    {
        if (Interlocked.Increment(ref _count) <= keep) { _free.Enqueue(buffer); return; }
        Interlocked.Decrement(ref _count);
        buffer.Dispose();
    }

    public void Dispose()
    {
        while (_free.TryDequeue(out var b)) b.Dispose();
    }
}
