using System.Runtime.InteropServices;
using Orion.Pmd.Device.Execution;
using Orion.Pmd.Virtio.Blk;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Device.Backends.Async;

/// <summary>
/// A request's data as a native <c>struct iovec</c> array pointing straight into the device's mapping of guest memory,
/// for the asynchronous backends that hand buffers to the kernel (io_uring) or to librbd (<c>rbd_aio_readv</c>/<c>writev</c>)
/// without a copy. One array per request slot, grown to the largest chain seen (warm-up only).
/// </summary>
internal unsafe struct ChainIovecs
{
    private const int IovecBytes = 16;

    /// <summary>The native array (<see cref="Capacity"/> entries; 0 before first use).</summary>
    public nint Address;

    /// <summary>Entries the array holds.</summary>
    public int Capacity;

    /// <summary>
    /// Describes the data of <paramref name="plan"/> (a read's writable buffers, a write's readable ones after the header)
    /// and returns the iovec count, or -1 when a piece is not aligned to <paramref name="memAlign"/> (addresses) and
    /// <paramref name="ioAlign"/> (offset and lengths), as direct I/O needs (1 and 1 accept anything).
    /// </summary>
    public int Build(DescriptorChain chain, in PlannedIo plan, int memAlign, int ioAlign)
    {
        if ((plan.Offset & (ioAlign - 1)) != 0) return -1;
        var segs = chain.Segments;
        Ensure(chain.Count);
        var iov = (ulong*)Address;
        bool write = plan.Kind == PlannedIoKind.Write;
        ulong need = plan.Length, skip = write ? (ulong)BlkRequestHeader.Size : 0;
        int from = write ? 0 : chain.ReadableCount;
        int to = write ? chain.ReadableCount : chain.Count;
        int n = 0;
        for (int i = from; i < to && need > 0; i++)
        {
            var s = segs[i];
            if (skip >= s.Length) { skip -= s.Length; continue; }
            ulong length = Math.Min(s.Length - skip, need);
            nint address = s.Host + (nint)skip;
            skip = 0;
            if (((nuint)address & (nuint)(memAlign - 1)) != 0 || (length & (ulong)(ioAlign - 1)) != 0) return -1;
            iov[2 * n] = (ulong)address;
            iov[2 * n + 1] = length;
            n++;
            need -= length;
        }
        return need == 0 ? n : -1;      // short: cannot happen for a planned request; the synchronous path will say why
    }

    private void Ensure(int count)
    {
        if (Capacity >= count) return;
        int capacity = Math.Max(count, 4);
        Address = (nint)NativeMemory.Realloc((void*)Address, (nuint)(capacity * IovecBytes));
        Capacity = capacity;
    }

    /// <summary>Frees the array.</summary>
    public void Free()
    {
        if (Address != 0) NativeMemory.Free((void*)Address);
        Address = 0;
        Capacity = 0;
    }
}
