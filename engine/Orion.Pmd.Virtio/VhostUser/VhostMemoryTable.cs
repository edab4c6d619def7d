using System.Buffers.Binary;

namespace Orion.Pmd.Virtio.VhostUser;

/// <summary>
/// One region of a vhost-user memory table: guest addresses (what descriptors carry), size, the user address (what
/// ring addresses in SET_VRING_ADDR carry; only a key, never dereferenced by the back-end) and the offset of the
/// region inside the fd sent with it.
/// </summary>
/// <param name="GuestAddress">Guest-physical base (descriptor addresses).</param>
/// <param name="Size">Bytes in the region.</param>
/// <param name="UserAddress">User-address base (ring addresses).</param>
/// <param name="MmapOffset">Offset of the region inside its fd.</param>
public readonly record struct VhostMemoryRegion(ulong GuestAddress, ulong Size, ulong UserAddress, ulong MmapOffset)
{
    /// <summary>Bytes on the wire.</summary>
    public const int WireSize = 32;

    /// <summary>Writes the region.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination, GuestAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], Size);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], UserAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[24..], MmapOffset);
    }

    /// <summary>Reads a region from the first 32 bytes of <paramref name="source"/>.</summary>
    public static VhostMemoryRegion Read(ReadOnlySpan<byte> source) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(source), BinaryPrimitives.ReadUInt64LittleEndian(source[8..]),
        BinaryPrimitives.ReadUInt64LittleEndian(source[16..]), BinaryPrimitives.ReadUInt64LittleEndian(source[24..]));
}

/// <summary>SET_MEM_TABLE's payload: u32 region count, u32 padding, then the regions (one fd each, same order).</summary>
public static class VhostMemoryTable
{
    /// <summary>Bytes before the first region.</summary>
    public const int HeaderSize = 8;

    /// <summary>Payload bytes for <paramref name="count"/> regions.</summary>
    public static int SizeFor(int count) => HeaderSize + count * VhostMemoryRegion.WireSize;

    /// <summary>Writes the payload; returns its length.</summary>
    public static int Write(Span<byte> destination, ReadOnlySpan<VhostMemoryRegion> regions)
    {
        if (regions.Length is < 1 or > VhostUserLimits.MaxRegions)
            throw new ArgumentException($"{regions.Length} regions; a memory table holds 1 to {VhostUserLimits.MaxRegions}", nameof(regions));
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)regions.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], 0);
        for (int i = 0; i < regions.Length; i++) regions[i].Write(destination[(HeaderSize + i * VhostMemoryRegion.WireSize)..]);
        return SizeFor(regions.Length);
    }

    /// <summary>
    /// Reads the payload into <paramref name="regions"/>; on failure <paramref name="error"/> says what is wrong
    /// (count out of range, length not matching the count, an empty or wrapping region).
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, Span<VhostMemoryRegion> regions, out int count, out string error)
    {
        count = 0;
        error = "";
        if (payload.Length < HeaderSize) { error = $"memory table of {payload.Length} bytes is shorter than its 8-byte header"; return false; }
        uint n = BinaryPrimitives.ReadUInt32LittleEndian(payload);
        if (n is < 1 or > VhostUserLimits.MaxRegions || n > regions.Length)
        {
            error = $"memory table announces {n} regions; 1 to {Math.Min(VhostUserLimits.MaxRegions, regions.Length)} are accepted";
            return false;
        }
        if (payload.Length != SizeFor((int)n))
        {
            error = $"memory table of {payload.Length} bytes does not match its {n} regions ({SizeFor((int)n)} bytes)";
            return false;
        }
        for (int i = 0; i < n; i++)
        {
            var r = VhostMemoryRegion.Read(payload[(HeaderSize + i * VhostMemoryRegion.WireSize)..]);
            if (r.Size == 0) { error = $"region {i} is empty"; return false; }
            if (r.GuestAddress + r.Size < r.GuestAddress || r.UserAddress + r.Size < r.UserAddress || r.MmapOffset + r.Size < r.MmapOffset)
            {
                error = $"region {i} (guest 0x{r.GuestAddress:x}, size 0x{r.Size:x}) wraps the address space";
                return false;
            }
            regions[i] = r;
        }
        count = (int)n;
        return true;
    }
}

/// <summary>ADD_MEM_REG / REM_MEM_REG payload: u64 padding, then one region.</summary>
public static class SingleMemoryRegion
{
    /// <summary>Payload bytes.</summary>
    public const int Size = 8 + VhostMemoryRegion.WireSize;

    /// <summary>Writes the payload.</summary>
    public static void Write(Span<byte> destination, VhostMemoryRegion region)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination, 0);
        region.Write(destination[8..]);
    }

    /// <summary>Reads the payload; false when its length is wrong.</summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, out VhostMemoryRegion region)
    {
        region = default;
        if (payload.Length != Size) return false;
        region = VhostMemoryRegion.Read(payload[8..]);
        return true;
    }
}

/// <summary>
/// GET_CONFIG / SET_CONFIG payload: u32 offset, u32 size, u32 flags (0 = written by the front-end, 1 = migration),
/// then <c>size</c> bytes of data. A GET_CONFIG request carries <c>size</c> zero bytes, which libvhost-user requires.
/// </summary>
public static class ConfigPayload
{
    /// <summary>Bytes before the data.</summary>
    public const int HeaderSize = 12;

    /// <summary>Writes the payload; returns its length.</summary>
    public static int Write(Span<byte> destination, uint offset, uint flags, ReadOnlySpan<byte> data)
    {
        if (data.Length > VhostUserLimits.MaxConfigBytes)
            throw new ArgumentException($"{data.Length} bytes of config; at most {VhostUserLimits.MaxConfigBytes}", nameof(data));
        BinaryPrimitives.WriteUInt32LittleEndian(destination, offset);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], (uint)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], flags);
        data.CopyTo(destination[HeaderSize..]);
        return HeaderSize + data.Length;
    }

    /// <summary>Reads the header; false when the payload is shorter than 12 bytes plus the size it announces.</summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, out uint offset, out uint size, out uint flags)
    {
        offset = size = flags = 0;
        if (payload.Length < HeaderSize) return false;
        offset = BinaryPrimitives.ReadUInt32LittleEndian(payload);
        size = BinaryPrimitives.ReadUInt32LittleEndian(payload[4..]);
        flags = BinaryPrimitives.ReadUInt32LittleEndian(payload[8..]);
        return size <= VhostUserLimits.MaxConfigBytes && payload.Length >= HeaderSize + (int)size;
    }
}
