using System.Buffers.Binary;

namespace Orion.Pmd.Virtio.VhostUser;

/// <summary>A vring state payload (SET_VRING_NUM, SET_VRING_BASE, GET_VRING_BASE, SET_VRING_ENABLE): index and a number.</summary>
/// <param name="Index">The queue index.</param>
/// <param name="Num">The number (size, base, or enable flag).</param>
public readonly record struct VringState(uint Index, uint Num)
{
    /// <summary>Payload bytes.</summary>
    public const int Size = 8;

    /// <summary>Writes the payload.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Index);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Num);
    }

    /// <summary>Reads the payload; false when its length is not <see cref="Size"/>.</summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, out VringState value)
    {
        value = default;
        if (payload.Length != Size) return false;
        value = new VringState(BinaryPrimitives.ReadUInt32LittleEndian(payload), BinaryPrimitives.ReadUInt32LittleEndian(payload[4..]));
        return true;
    }
}

/// <summary>
/// SET_VRING_ADDR's payload: the ring areas as user addresses (the memory table's <c>userspace_addr</c> space, not
/// guest addresses). The wire order is descriptors, used, avail, log — used before avail. For a packed ring the
/// used field carries the device area and the avail field the driver area.
/// </summary>
/// <param name="Index">The queue index.</param>
/// <param name="Flags">Bit 0: log writes to the used ring.</param>
/// <param name="DescriptorTable">User address of the descriptor table (descriptor ring).</param>
/// <param name="UsedRing">User address of the used ring (device area).</param>
/// <param name="AvailRing">User address of the avail ring (driver area).</param>
/// <param name="LogAddress">Guest address for dirty logging.</param>
public readonly record struct VringAddress(uint Index, uint Flags, ulong DescriptorTable, ulong UsedRing, ulong AvailRing, ulong LogAddress)
{
    /// <summary>Payload bytes.</summary>
    public const int Size = 40;

    /// <summary>Writes the payload.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Index);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Flags);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], DescriptorTable);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], UsedRing);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[24..], AvailRing);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[32..], LogAddress);
    }

    /// <summary>Reads the payload; false when its length is not <see cref="Size"/>.</summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, out VringAddress value)
    {
        value = default;
        if (payload.Length != Size) return false;
        value = new VringAddress(
            BinaryPrimitives.ReadUInt32LittleEndian(payload), BinaryPrimitives.ReadUInt32LittleEndian(payload[4..]),
            BinaryPrimitives.ReadUInt64LittleEndian(payload[8..]), BinaryPrimitives.ReadUInt64LittleEndian(payload[16..]),
            BinaryPrimitives.ReadUInt64LittleEndian(payload[24..]), BinaryPrimitives.ReadUInt64LittleEndian(payload[32..]));
        return true;
    }
}

/// <summary>SET_VRING_KICK / CALL / ERR payload: a u64 whose bits 0-7 are the queue index and bit 8 says no fd is attached.</summary>
/// <param name="Index">The queue index (0-255).</param>
/// <param name="NoFd">No descriptor attached (poll instead of a kick; no call).</param>
public readonly record struct VringFile(uint Index, bool NoFd)
{
    /// <summary>Payload bytes.</summary>
    public const int Size = 8;
    /// <summary>Bits holding the index.</summary>
    public const ulong IndexMask = 0xFF;
    /// <summary>The no-fd flag.</summary>
    public const ulong NoFdFlag = 0x100;

    /// <summary>Writes the payload.</summary>
    public void Write(Span<byte> destination)
    {
        if (Index > IndexMask) throw new ArgumentOutOfRangeException(nameof(Index), Index, "vhost-user carries queue indices 0 to 255");
        BinaryPrimitives.WriteUInt64LittleEndian(destination, Index | (NoFd ? NoFdFlag : 0));
    }

    /// <summary>Reads the payload; false when its length is wrong or reserved bits (9-63) are set.</summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, out VringFile value)
    {
        value = default;
        if (payload.Length != Size) return false;
        ulong v = BinaryPrimitives.ReadUInt64LittleEndian(payload);
        if ((v & ~(IndexMask | NoFdFlag)) != 0) return false;
        value = new VringFile((uint)(v & IndexMask), (v & NoFdFlag) != 0);
        return true;
    }
}

/// <summary>A u64 payload (features, protocol features, queue count, memory slots, acknowledgements).</summary>
public static class VhostUserU64
{
    /// <summary>Payload bytes.</summary>
    public const int Size = 8;

    /// <summary>Writes the payload.</summary>
    public static void Write(Span<byte> destination, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(destination, value);

    /// <summary>Reads the payload; false when its length is not 8.</summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, out ulong value)
    {
        value = 0;
        if (payload.Length != Size) return false;
        value = BinaryPrimitives.ReadUInt64LittleEndian(payload);
        return true;
    }
}

/// <summary>
/// The base of a packed ring in SET_VRING_BASE / GET_VRING_BASE (vhost-user specification): bits 0-14 the last
/// avail index, bit 15 its wrap counter, bits 16-30 the last used index, bit 31 its wrap counter. A fresh ring is
/// (0, wrap 1, 0, wrap 1).
/// </summary>
public static class PackedVringBase
{
    /// <summary>The base of a fresh packed ring.</summary>
    public static readonly uint Fresh = Encode(0, true, 0, true);

    /// <summary>Encodes a position.</summary>
    public static uint Encode(ushort availIndex, bool availWrap, ushort usedIndex, bool usedWrap)
    {
        if (availIndex > 0x7FFF || usedIndex > 0x7FFF) throw new ArgumentOutOfRangeException(nameof(availIndex), "packed ring indices are 15 bits");
        return availIndex | (availWrap ? 0x8000u : 0) | ((uint)usedIndex << 16) | (usedWrap ? 0x8000_0000u : 0);
    }

    /// <summary>Decodes a position.</summary>
    public static void Decode(uint num, out ushort availIndex, out bool availWrap, out ushort usedIndex, out bool usedWrap)
    {
        availIndex = (ushort)(num & 0x7FFF);
        availWrap = (num & 0x8000) != 0;
        usedIndex = (ushort)((num >> 16) & 0x7FFF);
        usedWrap = (num & 0x8000_0000) != 0;
    }
}
