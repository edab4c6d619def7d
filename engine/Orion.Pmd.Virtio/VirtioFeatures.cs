namespace Orion.Pmd.Virtio;

/// <summary>
/// Feature bits of VirtIO 1.1 (device-independent, bits 24..40) and of the virtio-blk device (bits 0..23),
/// as a 64-bit set. Values are <c>1UL &lt;&lt; bit</c>.
/// </summary>
[Flags]
public enum VirtioFeatures : ulong
{
    /// <summary>No features.</summary>
    None = 0,

    // ---- virtio-blk (VirtIO 1.2 §5.2.3) ----
    /// <summary>Maximum size of any single segment is in <c>size_max</c>.</summary>
    BlkSizeMax = 1UL << 1,
    /// <summary>Maximum number of segments in a request is in <c>seg_max</c>.</summary>
    BlkSegMax = 1UL << 2,
    /// <summary>Disk-style geometry specified in <c>geometry</c>.</summary>
    BlkGeometry = 1UL << 4,
    /// <summary>Device is read-only.</summary>
    BlkReadOnly = 1UL << 5,
    /// <summary>Block size of disk is in <c>blk_size</c>.</summary>
    BlkBlockSize = 1UL << 6,
    /// <summary>Cache flush command support.</summary>
    BlkFlush = 1UL << 9,
    /// <summary>Device exports information on optimal I/O alignment.</summary>
    BlkTopology = 1UL << 10,
    /// <summary>Device can toggle its cache between writeback and writethrough modes.</summary>
    BlkConfigWce = 1UL << 11,
    /// <summary>Device supports multiqueue (<c>num_queues</c>).</summary>
    BlkMultiQueue = 1UL << 12,
    /// <summary>Device can support discard command.</summary>
    BlkDiscard = 1UL << 13,
    /// <summary>Device can support write zeroes command.</summary>
    BlkWriteZeroes = 1UL << 14,
    /// <summary>Device supports providing storage lifetime information (1.2).</summary>
    BlkLifetime = 1UL << 15,
    /// <summary>Device supports secure erase command (1.2).</summary>
    BlkSecureErase = 1UL << 16,
    /// <summary>Device is a zoned block device (1.2).</summary>
    BlkZoned = 1UL << 17,

    // ---- device-independent (VirtIO 1.1 §6) ----
    /// <summary>Driver can use descriptors with the INDIRECT flag set.</summary>
    RingIndirectDesc = 1UL << 28,
    /// <summary>Enables the <c>used_event</c> and <c>avail_event</c> fields.</summary>
    RingEventIdx = 1UL << 29,
    /// <summary>vhost-user: the back-end supports protocol feature negotiation (not a VirtIO bit on the wire to a device).</summary>
    VhostUserProtocolFeatures = 1UL << 30,
    /// <summary>Compliance with VirtIO 1.0 or later.</summary>
    Version1 = 1UL << 32,
    /// <summary>Device is behind an IOMMU / platform access restrictions.</summary>
    AccessPlatform = 1UL << 33,
    /// <summary>Packed virtqueue layout.</summary>
    RingPacked = 1UL << 34,
    /// <summary>Buffers are used by the device in the order they were made available.</summary>
    InOrder = 1UL << 35,
    /// <summary>Memory accesses are ordered in a platform-specific way.</summary>
    OrderPlatform = 1UL << 36,
    /// <summary>Single root I/O virtualization.</summary>
    SrIov = 1UL << 37,
    /// <summary>Driver passes extra data in its device notifications.</summary>
    NotificationData = 1UL << 38,
    /// <summary>Per-queue reset (1.2).</summary>
    RingReset = 1UL << 40,
}

/// <summary>Helpers for describing feature sets to humans.</summary>
public static class VirtioFeaturesExtensions
{
    /// <summary>Whether every bit of <paramref name="wanted"/> is present.</summary>
    public static bool HasAll(this VirtioFeatures set, VirtioFeatures wanted) => (set & wanted) == wanted;

    /// <summary>Names of the set bits, comma separated; unknown bits as <c>bit N</c>.</summary>
    public static string Describe(this VirtioFeatures set)
    {
        if (set == VirtioFeatures.None) return "none";
        var parts = new List<string>();
        for (int bit = 0; bit < 64; bit++)
        {
            var f = (VirtioFeatures)(1UL << bit);
            if ((set & f) == 0) continue;
            parts.Add(Enum.IsDefined(f) ? f.ToString() : $"bit {bit}");
        }
        return string.Join(", ", parts);
    }
}
