using Orion.Pmd.Virtio.Blk;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Engine.Queues;

/// <summary>
/// Per-queue request slots in DMA memory. Each slot holds, at fixed offsets, the request header, the status byte,
/// a small payload (discard ranges or the GET_ID answer) and an indirect table sized for the largest request, so
/// that placing a request is a few stores and never an allocation (SPDK keeps the same state in the bdev_io).
/// </summary>
internal sealed unsafe class RequestSlots
{
    public const int HeaderOffset = 0;
    public const int StatusOffset = 16;
    public const int PayloadOffset = 32;
    public const int PayloadBytes = 32;          // one discard/write-zeroes range (16) or the 20-byte id
    public const int TableOffset = PayloadOffset + PayloadBytes;

    private readonly byte* _host;
    private readonly ulong _guest;
    private readonly int[] _free;
    private int _freeCount;

    public RequestSlots(byte* host, ulong guest, int count, int stride)
    {
        _host = host;
        _guest = guest;
        Count = count;
        Stride = stride;
        _free = new int[count];
        for (int i = 0; i < count; i++) _free[i] = count - 1 - i;
        _freeCount = count;
    }

    /// <summary>Bytes per slot for requests of up to <paramref name="maxSegments"/> data buffers (header + data + payload + status entries).</summary>
    public static int StrideFor(int maxSegments) => (TableOffset + (maxSegments + 3) * VirtqDescriptor.Size + 63) & ~63;

    public int Count { get; }
    public int Stride { get; }
    public int FreeCount => _freeCount;

    public bool TryTake(out int slot)
    {
        if (_freeCount == 0)
        {
            slot = -1;
            return false;
        }
        slot = _free[--_freeCount];
        return true;
    }

    public void Release(int slot) => _free[_freeCount++] = slot;

    /// <summary>Every slot free again (a queue reset: the device holds none of them any more).</summary>
    public void ReleaseAll()
    {
        for (int i = 0; i < Count; i++) _free[i] = Count - 1 - i;
        _freeCount = Count;
    }

    public byte* Host(int slot, int offset) => _host + (long)slot * Stride + offset;
    public ulong Guest(int slot, int offset) => _guest + (ulong)((long)slot * Stride + offset);

    public ref BlkRequestHeader Header(int slot) => ref *(BlkRequestHeader*)Host(slot, HeaderOffset);
    public ref byte StatusByte(int slot) => ref *Host(slot, StatusOffset);
    public VirtqDescriptor* Table(int slot) => (VirtqDescriptor*)Host(slot, TableOffset);
}
