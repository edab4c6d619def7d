using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Engine.Transport;

/// <summary>
/// Device validation at initialization (and after every device reset): the device is untrusted, so each configuration
/// value the engine will rely on is checked against the features that make it meaningful, against the block size and
/// against overflow, and a device that contradicts itself is refused with the field's name, what it reported and what
/// would be valid. Fields of features that were not negotiated are ignored, as the specification says they are.
/// </summary>
internal static class DeviceConfigValidator
{
    /// <summary>Largest optimal I/O size accepted, in bytes: beyond it the value is no hint but an overflow waiting to happen.</summary>
    public const long MaxOptimalIoBytes = 1L << 31;

    /// <summary>Largest physical block accepted, in bytes (Linux accepts up to 64 KiB logical; physical stays within 1 MiB in practice).</summary>
    public const long MaxPhysicalBlockBytes = 1L << 20;

    /// <summary>
    /// Validates <paramref name="config"/> as negotiated with <paramref name="features"/> and returns the logical block
    /// size. Throws <see cref="InvalidDataException"/> naming the first value that is out of range or contradicts
    /// another.
    /// </summary>
    public static int Validate(NegotiatedFeatures features, BlkConfig config, string device, int maxQueueSize)
    {
        if (maxQueueSize < 1)
            throw Refuse(device, "max queue size", maxQueueSize, "at least 1 entry (a device with no queue room cannot serve a request)");
        int blockSize = 512;
        if (features.Has(VirtioFeatures.BlkBlockSize))
        {
            uint bs = config.BlockSize;
            if (bs < 512 || bs > 65536 || (bs & (bs - 1)) != 0)
                throw new InvalidDataException($"{device} reports block size {bs}: not a power of two between 512 and 65536");
            blockSize = (int)bs;
        }
        int sectorsPerBlock = blockSize / BlkConstants.SectorSize;

        if (config.Capacity == 0) throw new InvalidDataException($"{device} reports a capacity of 0 sectors");
        if (config.Capacity > long.MaxValue / BlkConstants.SectorSize)
            throw new InvalidDataException($"{device} reports a capacity of {config.Capacity} sectors, which overflows a byte count");
        if (config.Capacity % (ulong)sectorsPerBlock != 0)
            throw Refuse(device, "capacity", config.Capacity,
                $"a whole number of {blockSize}-byte blocks, i.e. a multiple of {sectorsPerBlock} sectors (512 bytes each)");

        if (features.Has(VirtioFeatures.BlkMultiQueue) && config.NumQueues == 0)
            throw Refuse(device, "num_queues", 0, "at least 1 with VIRTIO_BLK_F_MQ negotiated");
        if (features.Has(VirtioFeatures.BlkSegMax) && config.SegMax == 0)
            throw Refuse(device, "seg_max", 0, "at least 1 data segment per request with VIRTIO_BLK_F_SEG_MAX negotiated");
        // size_max 0 means no limit (qemu-storage-daemon reports it so); a limit below one block would split every request.
        if (features.Has(VirtioFeatures.BlkSizeMax) && config.SizeMax != 0 && config.SizeMax < blockSize)
            throw Refuse(device, "size_max", config.SizeMax, $"0 (no limit) or at least one {blockSize}-byte block");

        if (features.Has(VirtioFeatures.BlkTopology)) ValidateTopology(config, device, blockSize);

        if (features.Has(VirtioFeatures.BlkDiscard))
        {
            if (config.MaxDiscardSeg == 0)
                throw Refuse(device, "max_discard_seg", 0, "at least 1 range per request with VIRTIO_BLK_F_DISCARD negotiated");
            if (config.MaxDiscardSectors < (uint)sectorsPerBlock)
                throw Refuse(device, "max_discard_sectors", config.MaxDiscardSectors,
                    $"at least one {blockSize}-byte block ({sectorsPerBlock} sectors) with VIRTIO_BLK_F_DISCARD negotiated");
            if (config.DiscardSectorAlignment % (uint)sectorsPerBlock != 0)
                throw Refuse(device, "discard_sector_alignment", config.DiscardSectorAlignment,
                    $"a multiple of the {blockSize}-byte block ({sectorsPerBlock} sectors), or 0 for the block itself");
        }
        if (features.Has(VirtioFeatures.BlkWriteZeroes))
        {
            if (config.MaxWriteZeroesSeg == 0)
                throw Refuse(device, "max_write_zeroes_seg", 0, "at least 1 range per request with VIRTIO_BLK_F_WRITE_ZEROES negotiated");
            if (config.MaxWriteZeroesSectors < (uint)sectorsPerBlock)
                throw Refuse(device, "max_write_zeroes_sectors", config.MaxWriteZeroesSectors,
                    $"at least one {blockSize}-byte block ({sectorsPerBlock} sectors) with VIRTIO_BLK_F_WRITE_ZEROES negotiated");
        }
        return blockSize;
    }

    private static void ValidateTopology(BlkConfig config, string device, int blockSize)
    {
        // physical block = logical block << physical_block_exp; alignment_offset counts logical blocks inside one physical block.
        if (config.PhysicalBlockExp > 20 || ((long)blockSize << config.PhysicalBlockExp) > MaxPhysicalBlockBytes)
            throw Refuse(device, "physical_block_exp", config.PhysicalBlockExp,
                $"a physical block of at most {MaxPhysicalBlockBytes} bytes, i.e. {blockSize}-byte logical blocks << exp within that");
        int logicalPerPhysical = 1 << config.PhysicalBlockExp;
        if (config.AlignmentOffset >= logicalPerPhysical)
            throw Refuse(device, "alignment_offset", config.AlignmentOffset,
                $"less than the {logicalPerPhysical} logical block(s) of one physical block (physical_block_exp {config.PhysicalBlockExp})");
        if ((long)config.OptIoSize * blockSize > MaxOptimalIoBytes)
            throw Refuse(device, "opt_io_size", config.OptIoSize, $"at most {MaxOptimalIoBytes / blockSize} blocks ({MaxOptimalIoBytes} bytes)");
        if (config.MinIoSize != 0 && config.OptIoSize != 0 && config.OptIoSize % config.MinIoSize != 0)
            throw Refuse(device, "opt_io_size", config.OptIoSize, $"a multiple of min_io_size ({config.MinIoSize} blocks), or 0");
    }

    private static InvalidDataException Refuse(string device, string field, object value, string valid)
        => new($"{device} reports {field} {value}, which is invalid: expected {valid}");
}
