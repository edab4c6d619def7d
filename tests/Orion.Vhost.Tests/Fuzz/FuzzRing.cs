using System.Buffers.Binary;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Vhost.Tests.Fuzz;

/// <summary>
/// What the fuzzer believes one queue's ring to be, and raw writes into it: descriptors, avail entries and indices
/// exactly as a hostile driver would write them (loops, ids and lengths out of range, addresses outside memory,
/// indirect tables of any shape). Nothing here validates: the back-end must.
/// </summary>
internal sealed class FuzzRing(int index)
{
    public int Index { get; } = index;
    public int Size = 64;
    public ushort AvailIdx;
    public bool Wrap = true;

    public long Base => FuzzConnection.RingStride * Index;

    /// <summary>User addresses of the areas for the current size (split: desc, avail, used; packed: ring, driver, device).</summary>
    public (ulong Desc, ulong Avail, ulong Used) UserAddresses(bool packed)
    {
        ulong b = FuzzConnection.UserBase + (ulong)Base;
        if (packed)
        {
            var l = PackedRingLayout.Compute(Size);
            return (b + (ulong)l.DescriptorRingOffset, b + (ulong)l.DriverEventOffset, b + (ulong)l.DeviceEventOffset);
        }
        var s = SplitRingLayout.Compute(Size);
        return (b + (ulong)s.DescriptorTableOffset, b + (ulong)s.AvailOffset, b + (ulong)s.UsedOffset);
    }

    /// <summary>Resets the fuzzer's view (a fresh ring at base 0), zeroing the ring memory.</summary>
    public void Fresh(FuzzConnection c)
    {
        AvailIdx = 0;
        Wrap = true;
        if (!c.Shrunk) c.Memory.GetSpan(Base, (int)FuzzConnection.RingStride).Clear();
    }

    /// <summary>Writes descriptor <paramref name="slot"/> (split layout, or packed with its id in place of next).</summary>
    public void WriteDescriptor(FuzzConnection c, bool packed, int slot, ulong addr, uint len, ushort flags, ushort nextOrId)
    {
        if (c.Shrunk) return;
        long at = Base + (packed ? PackedRingLayout.Compute(Size).DescriptorRingOffset : SplitRingLayout.Compute(Size).DescriptorTableOffset) + 16L * (slot % Size);
        var d = c.Memory.GetSpan(at, 16);
        BinaryPrimitives.WriteUInt64LittleEndian(d, addr);
        BinaryPrimitives.WriteUInt32LittleEndian(d[8..], len);
        if (packed)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(d[12..], nextOrId);        // id
            // Publish the flags last, with the avail/used bits of the current wrap counter (or the caller's own).
            BinaryPrimitives.WriteUInt16LittleEndian(d[14..], flags);
        }
        else
        {
            BinaryPrimitives.WriteUInt16LittleEndian(d[12..], flags);
            BinaryPrimitives.WriteUInt16LittleEndian(d[14..], nextOrId);
        }
    }

    /// <summary>Packed: the avail/used flag bits that make a descriptor available in the current lap.</summary>
    public ushort PackedAvailBits => (ushort)(Wrap ? 1 << 7 : 1 << 15);

    /// <summary>Split: puts <paramref name="head"/> in the next avail slot and publishes <paramref name="advance"/> entries.</summary>
    public void PublishSplit(FuzzConnection c, ushort head, ushort advance = 1)
    {
        if (c.Shrunk) return;
        var l = SplitRingLayout.Compute(Size);
        var avail = c.Memory.GetSpan(Base + l.AvailOffset, 4 + 2 * Size);
        BinaryPrimitives.WriteUInt16LittleEndian(avail[(4 + 2 * (AvailIdx % Size))..], head);
        AvailIdx += advance;
        Thread.MemoryBarrier();
        BinaryPrimitives.WriteUInt16LittleEndian(avail[2..], AvailIdx);
    }

    /// <summary>Packed: moves past <paramref name="count"/> descriptor slots, flipping the wrap counter at the end of the ring.</summary>
    public void AdvancePacked(int count)
    {
        for (int i = 0; i < count; i++)
        {
            AvailIdx++;
            if (AvailIdx % Size == 0) Wrap = !Wrap;
        }
    }

    /// <summary>Writes raw bytes into the shared memory at <paramref name="offset"/> (clamped to it).</summary>
    public static void Poke(FuzzConnection c, long offset, ReadOnlySpan<byte> bytes)
    {
        if (c.Shrunk || offset < 0 || offset + bytes.Length > FuzzConnection.MemoryBytes) return;
        bytes.CopyTo(c.Memory.GetSpan(offset, bytes.Length));
    }
}
