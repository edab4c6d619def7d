namespace Orion.Pmd.Virtio.Rings;

/// <summary>
/// Byte layout of a split virtqueue (VirtIO 1.1 §2.6): the descriptor table (16-byte aligned), the driver area
/// (<c>avail</c>, 2-byte aligned) and the device area (<c>used</c>, 4-byte aligned), placed in one block.
/// </summary>
/// <remarks>
/// The used ring starts on its own 64-byte cache line so the device's writes do not share a line with the
/// driver's avail ring: a shared line would bounce between the two cores on every request.
/// </remarks>
public readonly record struct SplitRingLayout(ushort QueueSize, int DescriptorTableOffset, int AvailOffset, int UsedOffset, int TotalBytes)
{
    /// <summary>Largest queue size the split format allows.</summary>
    public const int MaxQueueSize = 32768;

    /// <summary>Offset of <c>flags</c> in the avail ring.</summary>
    public const int AvailFlags = 0;
    /// <summary>Offset of <c>idx</c> in the avail ring.</summary>
    public const int AvailIdx = 2;
    /// <summary>Offset of <c>ring[0]</c> in the avail ring.</summary>
    public const int AvailRing = 4;
    /// <summary>Offset of <c>flags</c> in the used ring.</summary>
    public const int UsedFlags = 0;
    /// <summary>Offset of <c>idx</c> in the used ring.</summary>
    public const int UsedIdx = 2;
    /// <summary>Offset of <c>ring[0]</c> in the used ring; each element is <c>le32 id; le32 len</c>.</summary>
    public const int UsedRing = 4;
    /// <summary>Size of one used element.</summary>
    public const int UsedElementSize = 8;

    /// <summary><c>VRING_AVAIL_F_NO_INTERRUPT</c>: the driver does not want interrupts.</summary>
    public const ushort AvailFlagNoInterrupt = 1;
    /// <summary><c>VRING_USED_F_NO_NOTIFY</c>: the device does not want kicks.</summary>
    public const ushort UsedFlagNoNotify = 1;

    /// <summary>Bytes of the descriptor table: 16 × size.</summary>
    public static int DescriptorTableBytes(int size) => VirtqDescriptor.Size * size;
    /// <summary>Bytes of the avail ring including <c>used_event</c>: 6 + 2 × size.</summary>
    public static int AvailBytes(int size) => 6 + 2 * size;
    /// <summary>Bytes of the used ring including <c>avail_event</c>: 6 + 8 × size.</summary>
    public static int UsedBytes(int size) => 6 + UsedElementSize * size;
    /// <summary>Offset of <c>used_event</c> inside the avail ring.</summary>
    public static int UsedEventOffset(int size) => AvailRing + 2 * size;
    /// <summary>Offset of <c>avail_event</c> inside the used ring.</summary>
    public static int AvailEventOffset(int size) => UsedRing + UsedElementSize * size;

    /// <summary>Whether <paramref name="size"/> is a valid split queue size: a power of two in [1, 32768].</summary>
    public static bool IsValidSize(int size) => size is > 0 and <= MaxQueueSize && (size & (size - 1)) == 0;

    /// <summary>Computes the layout of a queue of <paramref name="size"/> entries in one contiguous block.</summary>
    public static SplitRingLayout Compute(int size)
    {
        if (!IsValidSize(size))
            throw new ArgumentOutOfRangeException(nameof(size), size, $"queue size {size} is not a power of two between 1 and {MaxQueueSize}");
        int desc = 0;
        int avail = DescriptorTableBytes(size);
        int used = Align(avail + AvailBytes(size), 64);
        int total = Align(used + UsedBytes(size), 64);
        return new SplitRingLayout((ushort)size, desc, avail, used, total);
    }

    private static int Align(int value, int alignment) => (value + alignment - 1) & ~(alignment - 1);
}

/// <summary>Guest addresses of the three areas of a queue (descriptor, driver, device), as a transport hands them to the device.</summary>
/// <remarks>
/// Used for both formats, named after the split one. For a packed queue (VirtIO 1.1 §2.7) <see cref="DescriptorTable"/>
/// is the descriptor ring, <see cref="AvailRing"/> the driver event suppression structure and <see cref="UsedRing"/> the
/// device event suppression structure.
/// </remarks>
/// <param name="DescriptorTable">Guest address of the descriptor area (split: descriptor table; packed: descriptor ring).</param>
/// <param name="AvailRing">Guest address of the driver area (split: avail ring; packed: driver event suppression).</param>
/// <param name="UsedRing">Guest address of the device area (split: used ring; packed: device event suppression).</param>
public readonly record struct SplitRingAddresses(ulong DescriptorTable, ulong AvailRing, ulong UsedRing);
