using System.Buffers.Binary;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Virtio.Tests.Support;

/// <summary>
/// Raw little-endian access to the parts of a split ring the device owns (used ring, avail_event) and read access to
/// the driver's parts, bypassing <see cref="SplitQueueDevice"/>: a device that writes whatever it likes.
/// </summary>
internal sealed unsafe class HostileDevice
{
    private readonly byte* _avail;
    private readonly byte* _used;
    private readonly byte* _desc;
    private readonly int _size;

    public HostileDevice(byte* ring, SplitRingLayout layout)
    {
        _desc = ring + layout.DescriptorTableOffset;
        _avail = ring + layout.AvailOffset;
        _used = ring + layout.UsedOffset;
        _size = layout.QueueSize;
    }

    private static Span<byte> At(byte* p, int length) => new(p, length);

    public ushort UsedFlags
    {
        get => BinaryPrimitives.ReadUInt16LittleEndian(At(_used + 0, 2));
        set => BinaryPrimitives.WriteUInt16LittleEndian(At(_used + 0, 2), value);
    }

    public ushort UsedIdx
    {
        get => BinaryPrimitives.ReadUInt16LittleEndian(At(_used + 2, 2));
        set => BinaryPrimitives.WriteUInt16LittleEndian(At(_used + 2, 2), value);
    }

    public ushort AvailEvent
    {
        get => BinaryPrimitives.ReadUInt16LittleEndian(At(_used + 4 + 8 * _size, 2));
        set => BinaryPrimitives.WriteUInt16LittleEndian(At(_used + 4 + 8 * _size, 2), value);
    }

    public ushort AvailFlags => BinaryPrimitives.ReadUInt16LittleEndian(At(_avail + 0, 2));
    public ushort AvailIdx => BinaryPrimitives.ReadUInt16LittleEndian(At(_avail + 2, 2));
    public ushort UsedEvent => BinaryPrimitives.ReadUInt16LittleEndian(At(_avail + 4 + 2 * _size, 2));
    public ushort AvailEntry(ushort position) => BinaryPrimitives.ReadUInt16LittleEndian(At(_avail + 4 + 2 * (position % _size), 2));

    public (ulong Address, uint Length, ushort Flags, ushort Next) Descriptor(int index)
    {
        var d = At(_desc + 16 * index, 16);
        return (BinaryPrimitives.ReadUInt64LittleEndian(d), BinaryPrimitives.ReadUInt32LittleEndian(d[8..]),
            BinaryPrimitives.ReadUInt16LittleEndian(d[12..]), BinaryPrimitives.ReadUInt16LittleEndian(d[14..]));
    }

    public (uint Id, uint Length) UsedElement(ushort position)
    {
        var e = At(_used + 4 + 8 * (position % _size), 8);
        return (BinaryPrimitives.ReadUInt32LittleEndian(e), BinaryPrimitives.ReadUInt32LittleEndian(e[4..]));
    }

    /// <summary>Writes used element <c>ring[position mod size]</c> without touching the index.</summary>
    public void WriteUsedElement(ushort position, uint id, uint length)
    {
        var e = At(_used + 4 + 8 * (position % _size), 8);
        BinaryPrimitives.WriteUInt32LittleEndian(e, id);
        BinaryPrimitives.WriteUInt32LittleEndian(e[4..], length);
    }

    /// <summary>Writes the next used element and moves the used index past it.</summary>
    public void Complete(uint id, uint length)
    {
        WriteUsedElement(UsedIdx, id, length);
        UsedIdx = (ushort)(UsedIdx + 1);
    }
}

/// <summary>
/// Raw little-endian access to the parts of a split ring the driver owns (descriptor table, avail ring, indirect
/// tables in the region), bypassing <see cref="SplitQueueDriver"/>: a driver that writes whatever it likes.
/// </summary>
internal sealed unsafe class HostileDriver
{
    private readonly GuardedRegion _region;
    private readonly byte* _avail;
    private readonly byte* _desc;
    private readonly int _size;

    public HostileDriver(GuardedRegion region, byte* ring, SplitRingLayout layout)
    {
        _region = region;
        _desc = ring + layout.DescriptorTableOffset;
        _avail = ring + layout.AvailOffset;
        _size = layout.QueueSize;
    }

    private static Span<byte> At(byte* p, int length) => new(p, length);

    private static void Write(byte* at, ulong address, uint length, VirtqDescriptorFlags flags, ushort next)
    {
        var d = At(at, 16);
        BinaryPrimitives.WriteUInt64LittleEndian(d, address);
        BinaryPrimitives.WriteUInt32LittleEndian(d[8..], length);
        BinaryPrimitives.WriteUInt16LittleEndian(d[12..], (ushort)flags);
        BinaryPrimitives.WriteUInt16LittleEndian(d[14..], next);
    }

    /// <summary>Writes descriptor <paramref name="index"/> of the ring's table.</summary>
    public void WriteDescriptor(int index, ulong address, uint length, VirtqDescriptorFlags flags, ushort next = 0)
        => Write(_desc + 16 * index, address, length, flags, next);

    /// <summary>Writes entry <paramref name="index"/> of an indirect table at guest <paramref name="table"/>.</summary>
    public void WriteTableEntry(ulong table, int index, ulong address, uint length, VirtqDescriptorFlags flags, ushort next = 0)
        => Write(_region.HostOf(table) + 16 * index, address, length, flags, next);

    public ushort AvailFlags
    {
        get => BinaryPrimitives.ReadUInt16LittleEndian(At(_avail + 0, 2));
        set => BinaryPrimitives.WriteUInt16LittleEndian(At(_avail + 0, 2), value);
    }

    public ushort AvailIdx
    {
        get => BinaryPrimitives.ReadUInt16LittleEndian(At(_avail + 2, 2));
        set => BinaryPrimitives.WriteUInt16LittleEndian(At(_avail + 2, 2), value);
    }

    public ushort UsedEvent
    {
        get => BinaryPrimitives.ReadUInt16LittleEndian(At(_avail + 4 + 2 * _size, 2));
        set => BinaryPrimitives.WriteUInt16LittleEndian(At(_avail + 4 + 2 * _size, 2), value);
    }

    /// <summary>Writes avail entry <c>ring[position mod size]</c> without touching the index.</summary>
    public void WriteAvailEntry(ushort position, ushort head)
        => BinaryPrimitives.WriteUInt16LittleEndian(At(_avail + 4 + 2 * (position % _size), 2), head);

    /// <summary>Puts <paramref name="head"/> in the next avail slot and publishes it.</summary>
    public void MakeAvailable(ushort head)
    {
        WriteAvailEntry(AvailIdx, head);
        AvailIdx = (ushort)(AvailIdx + 1);
    }
}
