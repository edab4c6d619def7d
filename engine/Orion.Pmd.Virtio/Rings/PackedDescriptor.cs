using System.Runtime.InteropServices;

namespace Orion.Pmd.Virtio.Rings;

/// <summary>
/// Packed-ring descriptor flags (VirtIO 1.1 §2.7.1, §2.7.4 to §2.7.7; Linux uapi <c>virtio_ring.h</c>, where AVAIL and
/// USED are given as the shifts 7 and 15).
/// </summary>
[Flags]
public enum PackedDescriptorFlags : ushort
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary>The buffer continues in the next descriptor of the ring (reserved in used descriptors).</summary>
    Next = 1,
    /// <summary>Available: the buffer is device write-only. Used: the device wrote data into the buffer.</summary>
    Write = 2,
    /// <summary>The buffer holds a table of descriptors.</summary>
    Indirect = 4,
    /// <summary><c>VIRTQ_DESC_F_AVAIL</c>, bit 7.</summary>
    Avail = 1 << 7,
    /// <summary><c>VIRTQ_DESC_F_USED</c>, bit 15.</summary>
    Used = 1 << 15,
}

/// <summary>
/// <c>struct pvirtq_desc</c>, 16 bytes little-endian: <c>le64 addr; le32 len; le16 id; le16 flags;</c>. Also the entry
/// format of packed indirect tables, where only <see cref="PackedDescriptorFlags.Write"/> is meaningful.
/// </summary>
/// <remarks>Same size as the split descriptor but not the same layout: the flags sit at byte 14, not 12.</remarks>
[StructLayout(LayoutKind.Explicit, Size = Size)]
public struct PackedDescriptor
{
    /// <summary>Size of one descriptor in bytes.</summary>
    public const int Size = 16;

    /// <summary>Guest address of the buffer (unused in a used descriptor).</summary>
    [FieldOffset(0)] public ulong Address;
    /// <summary>Available: length of the buffer. Used: bytes the device wrote.</summary>
    [FieldOffset(8)] public uint Length;
    /// <summary>Buffer id: chosen by the driver, carried by the last descriptor of a chain and by the used descriptor.</summary>
    [FieldOffset(12)] public ushort Id;
    /// <summary>Flags, including the AVAIL/USED wrap bits.</summary>
    [FieldOffset(14)] public PackedDescriptorFlags Flags;

    /// <summary>Creates a descriptor.</summary>
    public PackedDescriptor(ulong address, uint length, ushort id, PackedDescriptorFlags flags)
    {
        Address = address;
        Length = length;
        Id = id;
        Flags = flags;
    }
}
