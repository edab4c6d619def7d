using Orion.Pmd.Engine.Integrity;
using System.Buffers.Binary;

namespace Orion.Pmd.Storage;

/// <summary>
/// The header of a log or page store: two copies, in blocks 0 and 1 of the storage, written alternately (copy
/// <c>Sequence % 2</c>), so a crash while one is rewritten leaves the other intact. The copy with the highest
/// sequence whose checksum holds wins. Layout (little-endian) at the start of the block, the rest zero:
/// <code>
///  0 u64 magic      8 u32 format version   12 u32 block size
/// 16 u64 generation 24 u64 storage blocks  32 u64 A   40 u64 B   48 u64 sequence   56 u32 CRC-32C of bytes 0..56
/// </code>
/// A and B are the structure's own parameters (the log: first LSN, largest group; the page store: pages, slot bytes).
/// </summary>
internal readonly record struct RegionHeader(ulong Magic, uint FormatVersion, int BlockSize, ulong Generation, long Blocks, long A, long B, ulong Sequence)
{
    public const int Bytes = 60;
    public const int CopyBlocks = 2;

    public void WriteTo(Span<byte> block)
    {
        block.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(block, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(block[8..], FormatVersion);
        BinaryPrimitives.WriteInt32LittleEndian(block[12..], BlockSize);
        BinaryPrimitives.WriteUInt64LittleEndian(block[16..], Generation);
        BinaryPrimitives.WriteInt64LittleEndian(block[24..], Blocks);
        BinaryPrimitives.WriteInt64LittleEndian(block[32..], A);
        BinaryPrimitives.WriteInt64LittleEndian(block[40..], B);
        BinaryPrimitives.WriteUInt64LittleEndian(block[48..], Sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(block[56..], Crc32C.Compute(block[..56]));
    }

    /// <summary>The header in <paramref name="block"/>, or null when its checksum fails.</summary>
    public static RegionHeader? TryRead(ReadOnlySpan<byte> block)
    {
        if (BinaryPrimitives.ReadUInt32LittleEndian(block[56..]) != Crc32C.Compute(block[..56])) return null;
        return new RegionHeader(
            BinaryPrimitives.ReadUInt64LittleEndian(block), BinaryPrimitives.ReadUInt32LittleEndian(block[8..]),
            BinaryPrimitives.ReadInt32LittleEndian(block[12..]), BinaryPrimitives.ReadUInt64LittleEndian(block[16..]),
            BinaryPrimitives.ReadInt64LittleEndian(block[24..]), BinaryPrimitives.ReadInt64LittleEndian(block[32..]),
            BinaryPrimitives.ReadInt64LittleEndian(block[40..]), BinaryPrimitives.ReadUInt64LittleEndian(block[48..]));
    }

    /// <summary>
    /// Reads both copies. Returns the newest valid one; null when both blocks are all zero (a blank storage).
    /// Throws <see cref="StorageFormatException"/> when the blocks hold something else (another structure, old data),
    /// or the header belongs to another kind, format version or geometry.
    /// </summary>
    public static async ValueTask<RegionHeader?> ReadAsync(IBlockStorage storage, ulong magic, uint formatVersion, string kind)
    {
        int bs = storage.BlockSize;
        using var buffer = storage.Rent(CopyBlocks * bs);
        await storage.ReadAsync(0, buffer.Memory).ConfigureAwait(false);
        RegionHeader? best = null;
        bool blank = true;
        for (int copy = 0; copy < CopyBlocks; copy++)
        {
            var block = buffer.Memory.Span.Slice(copy * bs, bs);
            if (block.IndexOfAnyExcept((byte)0) >= 0) blank = false;
            if (TryRead(block) is { } h && (best is null || h.Sequence > best.Value.Sequence)) best = h;
        }
        if (best is null)
        {
            if (blank) return null;
            throw new StorageFormatException($"{storage.Description} holds no {kind}: neither header block (LBA 0, 1) is a valid header and they are not blank; format it to use it as a {kind}");
        }
        var found = best.Value;
        if (found.Magic != magic)
            throw new StorageFormatException($"{storage.Description} holds another structure (magic 0x{found.Magic:X16}), not a {kind} (magic 0x{magic:X16})");
        if (found.FormatVersion != formatVersion)
            throw new StorageFormatException($"{storage.Description} holds a {kind} of format version {found.FormatVersion}; this code reads version {formatVersion}");
        if (found.BlockSize != bs || found.Blocks != storage.BlockCount)
            throw new StorageFormatException(
                $"{storage.Description} holds a {kind} formatted for {found.Blocks} blocks of {found.BlockSize} bytes, but it now has {storage.BlockCount} blocks of {bs} bytes");
        return found;
    }

    /// <summary>Writes this header into its copy (<c>Sequence % 2</c>) and flushes when the storage caches writes.</summary>
    public async ValueTask WriteAsync(IBlockStorage storage)
    {
        using var buffer = storage.Rent(storage.BlockSize);
        WriteTo(buffer.Memory.Span);
        await storage.WriteAsync((long)(Sequence % CopyBlocks), buffer.Memory).ConfigureAwait(false);
        if (storage.WriteCacheEnabled) await storage.FlushAsync().ConfigureAwait(false);
    }
}
