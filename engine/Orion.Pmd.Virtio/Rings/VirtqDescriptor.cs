using System.Runtime.InteropServices;

namespace Orion.Pmd.Virtio.Rings;

/// <summary>Split-ring descriptor flags (VirtIO 1.1 §2.6.5).</summary>
[Flags]
public enum VirtqDescriptorFlags : ushort
{
    /// <summary>No flags: a device-readable buffer that ends the chain.</summary>
    None = 0,
    /// <summary>The buffer continues via the <c>next</c> field.</summary>
    Next = 1,
    /// <summary>The buffer is device write-only (otherwise device read-only).</summary>
    Write = 2,
    /// <summary>The buffer holds a table of descriptors.</summary>
    Indirect = 4,
}

/// <summary>
/// <c>struct virtq_desc</c>, 16 bytes little-endian: <c>le64 addr; le32 len; le16 flags; le16 next;</c>.
/// Also the entry format of indirect tables.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
public struct VirtqDescriptor
{
    /// <summary>Size of one descriptor in bytes.</summary>
    public const int Size = 16;

    /// <summary>Guest address of the buffer.</summary>
    [FieldOffset(0)] public ulong Address;
    /// <summary>Length of the buffer in bytes.</summary>
    [FieldOffset(8)] public uint Length;
    /// <summary>Flags.</summary>
    [FieldOffset(12)] public VirtqDescriptorFlags Flags;
    /// <summary>Index of the next descriptor when <see cref="VirtqDescriptorFlags.Next"/> is set.</summary>
    [FieldOffset(14)] public ushort Next;

    /// <summary>Creates a descriptor.</summary>
    public VirtqDescriptor(ulong address, uint length, VirtqDescriptorFlags flags, ushort next = 0)
    {
        Address = address;
        Length = length;
        Flags = flags;
        Next = next;
    }
}

/// <summary>One buffer of a request as the driver describes it: guest address, length, direction.</summary>
/// <param name="GuestAddress">Device-visible address.</param>
/// <param name="Length">Bytes.</param>
/// <param name="DeviceWritable">True when the device writes the buffer (a read's data, the status byte).</param>
public readonly record struct BufferSegment(ulong GuestAddress, uint Length, bool DeviceWritable);
