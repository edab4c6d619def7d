using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Engine;

/// <summary>What the device can do and how it likes to be addressed, read once from its configuration space.</summary>
public sealed partial class BlockDevice
{
    private bool Has(VirtioFeatures feature) => (Features & feature) == feature;

    /// <summary>
    /// The device's physical block size in bytes (VIRTIO_BLK_F_TOPOLOGY: logical blocks per physical block):
    /// writes smaller than this, or not aligned to it, may cost the device a read-modify-write. Equals
    /// <see cref="BlockSize"/> when the device reports no topology.
    /// </summary>
    public int PhysicalBlockSize => Has(VirtioFeatures.BlkTopology) && Config.PhysicalBlockExp < 16
        ? BlockSize << Config.PhysicalBlockExp : BlockSize;

    /// <summary>The smallest I/O size the device suggests, in bytes (topology's <c>min_io_size</c>); <see cref="BlockSize"/> without topology.</summary>
    public int MinimumIoBytes => Has(VirtioFeatures.BlkTopology) && Config.MinIoSize > 0 ? Config.MinIoSize * BlockSize : BlockSize;

    /// <summary>
    /// The I/O size the device suggests for best throughput, in bytes (topology's <c>opt_io_size</c>), or 0 when it
    /// suggests none. A storage layer sizes its pages or log segments as a multiple of it.
    /// </summary>
    public long OptimalIoBytes => Has(VirtioFeatures.BlkTopology) ? (long)Config.OptIoSize * BlockSize : 0;

    /// <summary>Whether the device has FLUSH: without it writes are durable when acknowledged and <see cref="FlushAsync"/> completes at once.</summary>
    public bool SupportsFlush => Has(VirtioFeatures.BlkFlush);

    /// <summary>Whether <see cref="DiscardAsync"/> is available (VIRTIO_BLK_F_DISCARD negotiated).</summary>
    public bool SupportsDiscard => Has(VirtioFeatures.BlkDiscard);

    /// <summary>Whether <see cref="WriteZeroesAsync"/> is available (VIRTIO_BLK_F_WRITE_ZEROES negotiated).</summary>
    public bool SupportsWriteZeroes => Has(VirtioFeatures.BlkWriteZeroes);

    /// <summary>Most blocks one discard may cover (0 when discard is unavailable); larger ranges must be split.</summary>
    public long MaxDiscardBlocks => SupportsDiscard ? LimitBlocks(Config.MaxDiscardSectors) : 0;

    /// <summary>Most blocks one write-zeroes may cover (0 when write-zeroes is unavailable); larger ranges must be split.</summary>
    public long MaxWriteZeroesBlocks => SupportsWriteZeroes ? LimitBlocks(Config.MaxWriteZeroesSectors) : 0;

    /// <summary>The granularity in bytes at which discard actually frees space (<c>discard_sector_alignment</c>); <see cref="BlockSize"/> when unstated.</summary>
    public long DiscardGranularityBytes => SupportsDiscard && Config.DiscardSectorAlignment > 0
        ? Math.Max((long)Config.DiscardSectorAlignment * BlkConstants.SectorSize, BlockSize) : BlockSize;

    /// <summary>A sector limit as whole blocks, never past the capacity; a device that states no limit (0) is bounded only by its capacity.</summary>
    private long LimitBlocks(uint sectors) => sectors == 0 ? BlockCount : Math.Min(BlockCount, sectors / (BlockSize / BlkConstants.SectorSize));
}
