namespace Orion.Pmd.Virtio.Rings;

/// <summary>
/// Byte layout of a packed virtqueue (VirtIO 1.1 §2.7): the descriptor ring (16 × size bytes, 16-byte aligned), the
/// driver event suppression structure (driver area, 4 bytes, 4-byte aligned) and the device event suppression
/// structure (device area, 4 bytes, 4-byte aligned), placed in one block.
/// </summary>
/// <remarks>
/// Each event suppression structure gets its own 64-byte cache line, after the descriptor ring: the driver writes
/// one and polls descriptors, the device writes the other, and sharing a line with either would make it bounce
/// between the two cores on every request.
/// </remarks>
public readonly record struct PackedRingLayout(ushort QueueSize, int DescriptorRingOffset, int DriverEventOffset, int DeviceEventOffset, int TotalBytes)
{
    /// <summary>Largest packed queue size: 2^15, because event offsets are 15 bits.</summary>
    public const int MaxQueueSize = 32768;

    /// <summary>Offset of <c>addr</c> (le64) in a descriptor.</summary>
    public const int DescAddress = 0;
    /// <summary>Offset of <c>len</c> (le32) in a descriptor.</summary>
    public const int DescLength = 8;
    /// <summary>Offset of <c>id</c> (le16) in a descriptor.</summary>
    public const int DescId = 12;
    /// <summary>Offset of <c>flags</c> (le16) in a descriptor.</summary>
    public const int DescFlags = 14;

    /// <summary>Size of an event suppression structure.</summary>
    public const int EventSuppressionSize = 4;
    /// <summary>Offset of <c>off_wrap</c> (le16: offset in bits 0..14, wrap counter in bit 15) in an event suppression structure.</summary>
    public const int EventOffWrap = 0;
    /// <summary>Offset of <c>flags</c> (le16: event flags in bits 0..1, the rest reserved) in an event suppression structure.</summary>
    public const int EventFlags = 2;

    /// <summary><c>VRING_PACKED_DESC_F_AVAIL</c>: bit number of the AVAIL flag.</summary>
    public const int AvailBit = 7;
    /// <summary><c>VRING_PACKED_DESC_F_USED</c>: bit number of the USED flag.</summary>
    public const int UsedBit = 15;
    /// <summary><c>VRING_PACKED_EVENT_F_WRAP_CTR</c>: bit number of the wrap counter in <c>off_wrap</c>.</summary>
    public const int EventWrapCounterBit = 15;

    /// <summary><c>VRING_PACKED_EVENT_FLAG_ENABLE</c>: notify on every change.</summary>
    public const ushort EventFlagEnable = 0;
    /// <summary><c>VRING_PACKED_EVENT_FLAG_DISABLE</c>: never notify.</summary>
    public const ushort EventFlagDisable = 1;
    /// <summary><c>VRING_PACKED_EVENT_FLAG_DESC</c>: notify when the descriptor at <c>off_wrap</c> changes (EVENT_IDX only).</summary>
    public const ushort EventFlagDesc = 2;

    /// <summary>Bytes of the descriptor ring: 16 × size.</summary>
    public static int DescriptorRingBytes(int size) => PackedDescriptor.Size * size;

    /// <summary>Whether <paramref name="size"/> is a valid packed queue size: 1 to 32768, not necessarily a power of two.</summary>
    public static bool IsValidSize(int size) => size is > 0 and <= MaxQueueSize;

    /// <summary>Packs a ring position and wrap counter into an <c>off_wrap</c> value.</summary>
    public static ushort OffWrap(ushort position, bool wrapCounter) => (ushort)(position | (wrapCounter ? 1 << EventWrapCounterBit : 0));

    /// <summary>Computes the layout of a queue of <paramref name="size"/> entries in one contiguous block.</summary>
    public static PackedRingLayout Compute(int size)
    {
        if (!IsValidSize(size))
            throw new ArgumentOutOfRangeException(nameof(size), size, $"packed queue size {size} is not between 1 and {MaxQueueSize}");
        int driverEvent = Align(DescriptorRingBytes(size), 64);
        int deviceEvent = driverEvent + 64;
        return new PackedRingLayout((ushort)size, 0, driverEvent, deviceEvent, deviceEvent + 64);
    }

    private static int Align(int value, int alignment) => (value + alignment - 1) & ~(alignment - 1);
}
