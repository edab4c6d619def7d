using System.Buffers.Binary;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Virtio.Tests.Support;

/// <summary>
/// Raw little-endian access to a packed ring's bytes (descriptor ring, both event suppression structures, indirect
/// tables in the region), bypassing <see cref="PackedQueueDriver"/> and <see cref="PackedQueueDevice"/>: what tests
/// read to check the wire format, and write to play a peer that does whatever it likes.
/// </summary>
internal sealed unsafe class PackedRingBytes
{
    public const ushort AvailFlag = 1 << 7;
    public const ushort UsedFlag = 1 << 15;

    private readonly GuardedRegion _region;
    private readonly byte* _desc;
    private readonly byte* _driverEvent;
    private readonly byte* _deviceEvent;

    public PackedRingBytes(GuardedRegion region, byte* ring, PackedRingLayout layout)
    {
        _region = region;
        _desc = ring + layout.DescriptorRingOffset;
        _driverEvent = ring + layout.DriverEventOffset;
        _deviceEvent = ring + layout.DeviceEventOffset;
        Size = layout.QueueSize;
    }

    public int Size { get; }

    /// <summary>The wrap bits of an available descriptor in a lap with wrap counter <paramref name="wrap"/>: AVAIL = wrap, USED = !wrap.</summary>
    public static ushort AvailBits(bool wrap) => wrap ? AvailFlag : UsedFlag;

    /// <summary>The wrap bits of a used descriptor: AVAIL = USED = wrap.</summary>
    public static ushort UsedBits(bool wrap) => wrap ? (ushort)(AvailFlag | UsedFlag) : (ushort)0;

    private static Span<byte> At(byte* p, int length) => new(p, length);

    private static void Write(byte* at, ulong address, uint length, ushort id, ushort flags)
    {
        var d = At(at, 16);
        BinaryPrimitives.WriteUInt64LittleEndian(d, address);
        BinaryPrimitives.WriteUInt32LittleEndian(d[8..], length);
        BinaryPrimitives.WriteUInt16LittleEndian(d[12..], id);
        BinaryPrimitives.WriteUInt16LittleEndian(d[14..], flags);
    }

    public (ulong Address, uint Length, ushort Id, ushort Flags) Descriptor(int position)
    {
        var d = At(_desc + 16 * position, 16);
        return (BinaryPrimitives.ReadUInt64LittleEndian(d), BinaryPrimitives.ReadUInt32LittleEndian(d[8..]),
            BinaryPrimitives.ReadUInt16LittleEndian(d[12..]), BinaryPrimitives.ReadUInt16LittleEndian(d[14..]));
    }

    public void WriteDescriptor(int position, ulong address, uint length, ushort id, ushort flags)
        => Write(_desc + 16 * position, address, length, id, flags);

    public ushort Flags(int position) => BinaryPrimitives.ReadUInt16LittleEndian(At(_desc + 16 * position + 14, 2));

    public void SetFlags(int position, ushort flags) => BinaryPrimitives.WriteUInt16LittleEndian(At(_desc + 16 * position + 14, 2), flags);

    /// <summary>Writes entry <paramref name="index"/> of a packed-format indirect table at guest <paramref name="table"/>.</summary>
    public void WriteTableEntry(ulong table, int index, ulong address, uint length, PackedDescriptorFlags flags, ushort id = 0)
        => Write(_region.HostOf(table) + 16 * index, address, length, id, (ushort)flags);

    public ushort DriverOffWrap
    {
        get => BinaryPrimitives.ReadUInt16LittleEndian(At(_driverEvent, 2));
        set => BinaryPrimitives.WriteUInt16LittleEndian(At(_driverEvent, 2), value);
    }

    public ushort DriverFlags
    {
        get => BinaryPrimitives.ReadUInt16LittleEndian(At(_driverEvent + 2, 2));
        set => BinaryPrimitives.WriteUInt16LittleEndian(At(_driverEvent + 2, 2), value);
    }

    public ushort DeviceOffWrap
    {
        get => BinaryPrimitives.ReadUInt16LittleEndian(At(_deviceEvent, 2));
        set => BinaryPrimitives.WriteUInt16LittleEndian(At(_deviceEvent, 2), value);
    }

    public ushort DeviceFlags
    {
        get => BinaryPrimitives.ReadUInt16LittleEndian(At(_deviceEvent + 2, 2));
        set => BinaryPrimitives.WriteUInt16LittleEndian(At(_deviceEvent + 2, 2), value);
    }
}

/// <summary>One descriptor as a hostile driver describes it; the wrap bits are added by <see cref="PackedHostileDriver"/>.</summary>
internal readonly record struct RawDescriptor(ulong Address, uint Length, PackedDescriptorFlags Flags, ushort Id = 0);

/// <summary>
/// A driver that writes raw available descriptors in ring order, with correct wrap bits unless told otherwise, head
/// flags last. It keeps its own position and wrap counter, like a real driver would.
/// </summary>
internal sealed class PackedHostileDriver(PackedRingBytes ring)
{
    public int Position { get; private set; }
    public bool Wrap { get; private set; } = true;

    /// <summary>Writes <paramref name="chain"/> from the current position and exposes it (the head's flags last).</summary>
    public void MakeAvailable(params RawDescriptor[] chain)
    {
        int head = Position;
        bool headWrap = Wrap;
        for (int i = 0; i < chain.Length; i++)
        {
            var d = chain[i];
            ushort flags = (ushort)((ushort)d.Flags | PackedRingBytes.AvailBits(Wrap));
            if (i == 0) ring.WriteDescriptor(Position, d.Address, d.Length, d.Id, 0);
            else ring.WriteDescriptor(Position, d.Address, d.Length, d.Id, flags);
            Step();
        }
        ring.SetFlags(head, (ushort)((ushort)chain[0].Flags | PackedRingBytes.AvailBits(headWrap)));
    }

    /// <summary>Writes one descriptor with exactly <paramref name="flags"/> (no wrap bits added) and moves on.</summary>
    public void WriteRaw(ulong address, uint length, ushort id, ushort flags)
    {
        ring.WriteDescriptor(Position, address, length, id, flags);
        Step();
    }

    private void Step()
    {
        if (++Position < ring.Size) return;
        Position = 0;
        Wrap = !Wrap;
    }
}

/// <summary>A device that writes raw used descriptors in ring order, keeping its own position and wrap counter.</summary>
internal sealed class PackedHostileDevice(PackedRingBytes ring)
{
    public int Position { get; private set; }
    public bool Wrap { get; private set; } = true;

    /// <summary>Writes a used descriptor (AVAIL = USED = wrap unless <paramref name="flags"/> is given) and skips <paramref name="skip"/> positions.</summary>
    public void Complete(uint id, uint length, int skip = 1, ushort? flags = null)
    {
        ring.WriteDescriptor(Position, 0, length, (ushort)id, flags ?? (ushort)(PackedRingBytes.UsedBits(Wrap) | (length > 0 ? 2 : 0)));
        Skip(skip);
    }

    public void Skip(int positions)
    {
        Position += positions;
        while (Position >= ring.Size)
        {
            Position -= ring.Size;
            Wrap = !Wrap;
        }
    }
}
