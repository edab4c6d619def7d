using System.Buffers;
using Orion.Pmd.Engine;
using Orion.Pmd.Engine.Volumes;

namespace Orion.Pmd.Storage;

/// <summary>Makes <see cref="IBlockStorage"/> from an engine's device, an LBA range of it, or a volume.</summary>
public static class BlockStorage
{
    /// <summary>The whole device.</summary>
    public static IBlockStorage Of(BlockDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return new DeviceRange(device, 0, device.BlockCount);
    }

    /// <summary>
    /// <paramref name="blockCount"/> blocks of <paramref name="device"/> from <paramref name="firstLba"/>. Ranges are
    /// not reserved: two structures given overlapping ranges overwrite each other (use volumes to have that refused).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is empty or does not lie inside the device.</exception>
    public static IBlockStorage Of(BlockDevice device, long firstLba, long blockCount)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (blockCount <= 0)
            throw new ArgumentOutOfRangeException(nameof(blockCount), blockCount, "a block range needs at least one block");
        if (firstLba < 0 || firstLba >= device.BlockCount || blockCount > device.BlockCount - firstLba)
            throw new ArgumentOutOfRangeException(nameof(firstLba), firstLba,
                $"{blockCount} blocks from LBA {firstLba} do not fit {device.Description}: it has {device.BlockCount} blocks (LBA 0 to {device.BlockCount - 1})");
        return new DeviceRange(device, firstLba, blockCount);
    }

    /// <summary>A volume carved with <see cref="BlockDevice.CreateVolume"/>.</summary>
    public static IBlockStorage Of(BlockVolume volume)
    {
        ArgumentNullException.ThrowIfNull(volume);
        return new Volume(volume);
    }

    private sealed class DeviceRange(BlockDevice device, long firstLba, long blockCount) : IBlockStorage
    {
        public int BlockSize => device.BlockSize;
        public long BlockCount => blockCount;
        public int MaxTransferBytes => device.MaxTransferBytes;
        public bool WriteCacheEnabled => device.WriteCacheEnabled;
        public string Description => firstLba == 0 && blockCount == device.BlockCount
            ? device.Description
            : $"{device.Description} LBA {firstLba} to {firstLba + blockCount - 1}";
        public IMemoryOwner<byte> Rent(int length) => device.Rent(length);
        public ValueTask ReadAsync(long lba, Memory<byte> buffer) => device.ReadAsync(Check(lba, buffer.Length), buffer);
        public ValueTask WriteAsync(long lba, ReadOnlyMemory<byte> buffer) => device.WriteAsync(Check(lba, buffer.Length), buffer);
        public ValueTask WriteDurableAsync(long lba, ReadOnlyMemory<byte> buffer) => device.WriteDurableAsync(Check(lba, buffer.Length), buffer);
        public ValueTask FlushAsync() => device.FlushAsync();

        // The device checks its own bounds; this keeps a range's user inside the range.
        private long Check(long lba, int bytes)
        {
            long blocks = bytes / device.BlockSize;
            if (lba < 0 || lba > blockCount || blocks > blockCount - lba)
                throw new ArgumentOutOfRangeException(nameof(lba), lba, $"{blocks} blocks at LBA {lba} are outside {Description} ({blockCount} blocks)");
            return firstLba + lba;
        }
    }

    private sealed class Volume(BlockVolume volume) : IBlockStorage
    {
        public int BlockSize => volume.BlockSize;
        public long BlockCount => volume.BlockCount;
        public int MaxTransferBytes => volume.MaxTransferBytes;
        public bool WriteCacheEnabled => volume.Device.WriteCacheEnabled;
        public string Description => volume.ToString();
        public IMemoryOwner<byte> Rent(int length) => volume.Rent(length);
        public ValueTask ReadAsync(long lba, Memory<byte> buffer) => volume.ReadAsync(lba, buffer);
        public ValueTask WriteAsync(long lba, ReadOnlyMemory<byte> buffer) => volume.WriteAsync(lba, buffer);
        public ValueTask WriteDurableAsync(long lba, ReadOnlyMemory<byte> buffer) => volume.WriteDurableAsync(lba, buffer);
        public ValueTask FlushAsync() => volume.FlushAsync();
    }
}
