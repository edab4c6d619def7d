using System.Runtime.CompilerServices;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Testing;

/// <summary>
/// Byte-level forging of the device's half of a driver's ring, in either format: writes a used entry the device never
/// should have (an id out of range, never made available, completed twice, a bad length), exactly where the driver
/// looks next, so the driver's validation can be proved at engine level too.
/// </summary>
public static unsafe class UsedRingForgery
{
    /// <summary>
    /// Writes one used entry reporting <paramref name="id"/> and <paramref name="length"/> at the driver's next used
    /// position and makes it visible: split, a used element and used->idx + 1; packed, a descriptor whose AVAIL and
    /// USED bits both carry the driver's current used wrap counter.
    /// </summary>
    public static void ForgeUsed(IDriverQueue ring, uint id, uint length = 1)
    {
        switch (ring)
        {
            case SplitQueueDriver split: ForgeSplit(split, id, length); break;
            case PackedQueueDriver packed: ForgePacked(packed, id, length); break;
            default: throw new ArgumentException($"{ring.GetType().Name} is neither a split nor a packed driver ring", nameof(ring));
        }
    }

    private static void ForgeSplit(SplitQueueDriver driver, uint id, uint length)
    {
        byte* used = driver.UsedRingForTests;
        ushort idx = Unsafe.AsRef<ushort>(used + SplitRingLayout.UsedIdx);
        byte* elem = used + SplitRingLayout.UsedRing + SplitRingLayout.UsedElementSize * (idx & (driver.Size - 1));
        Unsafe.WriteUnaligned(elem, id);
        Unsafe.WriteUnaligned(elem + 4, length);
        Volatile.Write(ref Unsafe.AsRef<ushort>(used + SplitRingLayout.UsedIdx), (ushort)(idx + 1));
    }

    private static void ForgePacked(PackedQueueDriver driver, uint id, uint length)
    {
        var at = new PackedPosition(driver.LastUsedPosition, driver.UsedWrapCounter);
        var d = driver.DescriptorsForTests + at.Index;
        d->Id = unchecked((ushort)id);
        d->Length = length;
        var flags = (at.Wrap ? PackedDescriptorFlags.Avail | PackedDescriptorFlags.Used : 0)
                    | (length > 0 ? PackedDescriptorFlags.Write : 0);
        Volatile.Write(ref Unsafe.AsRef<ushort>((byte*)d + PackedRingLayout.DescFlags), (ushort)flags);   // release: id and length first
    }
}
