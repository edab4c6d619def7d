using System.Buffers;

namespace Orion.Pmd.Storage;

/// <summary>
/// The blocks a storage structure lives on: a whole <see cref="Orion.Pmd.Engine.BlockDevice"/>, an LBA range of one, or a
/// <see cref="Orion.Pmd.Engine.Volumes.BlockVolume"/> (see <see cref="BlockStorage"/>). LBAs are relative to the
/// storage (0 is its first block). Implement it to run the same log or page store on something else (the storage
/// benchmark runs the log on a plain file this way).
/// </summary>
public interface IBlockStorage
{
    /// <summary>Bytes per block: every read and write is a whole number of them.</summary>
    int BlockSize { get; }

    /// <summary>Blocks in the storage.</summary>
    long BlockCount { get; }

    /// <summary>Largest transfer one read or write may carry, in bytes.</summary>
    int MaxTransferBytes { get; }

    /// <summary>
    /// Whether a completed write may sit in a volatile cache until <see cref="FlushAsync"/>. When false, a write is
    /// durable once it completes and the structures skip the flush. Read on every commit, not once at open: it must
    /// say the mode as it is now (the owner may switch it; the engine restores it after a reset or reconnect).
    /// </summary>
    bool WriteCacheEnabled { get; }

    /// <summary>What the storage is, for messages.</summary>
    string Description { get; }

    /// <summary>Rents a buffer of <paramref name="length"/> bytes suitable for zero-copy I/O; dispose it to return it.</summary>
    IMemoryOwner<byte> Rent(int length);

    /// <summary>Reads <c>buffer.Length</c> bytes (a whole number of blocks) from block <paramref name="lba"/>.</summary>
    ValueTask ReadAsync(long lba, Memory<byte> buffer);

    /// <summary>Writes <paramref name="buffer"/> (a whole number of blocks) at block <paramref name="lba"/>.</summary>
    ValueTask WriteAsync(long lba, ReadOnlyMemory<byte> buffer);

    /// <summary>Makes every completed write durable.</summary>
    ValueTask FlushAsync();

    /// <summary>
    /// Writes <paramref name="buffer"/> at block <paramref name="lba"/>, then flushes: complete means durable, whatever
    /// the cache mode did meanwhile. An engine device sends the write and its flush together where the device allows it
    /// (<see cref="Orion.Pmd.Engine.BlockDevice.WriteDurableAsync"/>); this default waits for the write first.
    /// </summary>
    ValueTask WriteDurableAsync(long lba, ReadOnlyMemory<byte> buffer)
        => Orion.Pmd.Engine.WriteThenFlush.Run(WriteAsync(lba, buffer), this, static s => s.FlushAsync());
}
