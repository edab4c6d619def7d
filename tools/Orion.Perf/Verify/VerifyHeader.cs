using Orion.Pmd.Engine.Integrity;
using System.Buffers.Binary;
using System.Globalization;

namespace Orion.Perf.Verify;

/// <summary>
/// The 32 bytes at the start of every verified block, in the spirit of fio's <c>verify_header</c>: who wrote the
/// block, where it belongs and which write put it there, and a CRC-32C of the whole block. Little-endian:
/// <code>
///  0  u16 magic 0xacca      2  u8 type (1 = crc32c)   3  u8 0
///  4  u32 length of the block in bytes
///  8  u64 byte offset of the block on the device
/// 16  u64 seed of the job that wrote it
/// 24  u32 sequence: the job's write number (1, 2, ...) that put it there
/// 28  u32 CRC-32C of bytes 0-27 and 32 to the end of the block (type 2, fio's verify=meta: of bytes 0-27 only)
/// </code>
/// </summary>
/// <param name="Magic">0xacca for a block written with verification (fio's value).</param>
/// <param name="Type">1 for CRC-32C.</param>
/// <param name="Length">Bytes the header covers.</param>
/// <param name="Offset">Byte offset on the device the block was written to.</param>
/// <param name="Seed">The writing job's seed; another job's (or run's) data shows here.</param>
/// <param name="Sequence">Which of the job's writes it was; an older one means a lost or stale write.</param>
/// <param name="Crc">The stored CRC-32C.</param>
public readonly record struct VerifyHeader(ushort Magic, byte Type, uint Length, long Offset, ulong Seed, uint Sequence, uint Crc)
{
    /// <summary>Header bytes.</summary>
    public const int Size = 32;

    /// <summary>fio's verify magic.</summary>
    public const ushort ExpectedMagic = 0xacca;

    /// <summary>The type byte for CRC-32C.</summary>
    public const byte TypeCrc32c = 1;

    /// <summary>The type byte for fio's verify=meta: the CRC-32C seals the header alone.</summary>
    public const byte TypeMeta = 2;

    private const int CrcOffset = 28;

    /// <summary>Reads the header at the start of <paramref name="block"/> (at least <see cref="Size"/> bytes).</summary>
    public static VerifyHeader Read(ReadOnlySpan<byte> block) => new(
        BinaryPrimitives.ReadUInt16LittleEndian(block),
        block[2],
        BinaryPrimitives.ReadUInt32LittleEndian(block[4..]),
        BinaryPrimitives.ReadInt64LittleEndian(block[8..]),
        BinaryPrimitives.ReadUInt64LittleEndian(block[16..]),
        BinaryPrimitives.ReadUInt32LittleEndian(block[24..]),
        BinaryPrimitives.ReadUInt32LittleEndian(block[CrcOffset..]));

    /// <summary>
    /// Writes a header for <paramref name="block"/> (its whole length) at <paramref name="offset"/> and seals it with
    /// the CRC of the block as it now is. Allocation-free.
    /// </summary>
    public static void Stamp(Span<byte> block, long offset, ulong seed, uint sequence, byte type = TypeCrc32c)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(block, ExpectedMagic);
        block[2] = type;
        block[3] = 0;
        BinaryPrimitives.WriteUInt32LittleEndian(block[4..], (uint)block.Length);
        BinaryPrimitives.WriteInt64LittleEndian(block[8..], offset);
        BinaryPrimitives.WriteUInt64LittleEndian(block[16..], seed);
        BinaryPrimitives.WriteUInt32LittleEndian(block[24..], sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(block[CrcOffset..], type == TypeMeta ? ComputeHeaderCrc(block) : ComputeCrc(block));
    }

    /// <summary>The CRC-32C of the header's first 28 bytes: what a sound verify=meta header stores.</summary>
    public static uint ComputeHeaderCrc(ReadOnlySpan<byte> block) => Crc32C.Compute(block[..CrcOffset]);

    /// <summary>The CRC-32C of <paramref name="block"/> without its CRC field: what a sound block stores there.</summary>
    public static uint ComputeCrc(ReadOnlySpan<byte> block) => Crc32C.Append(Crc32C.Compute(block[..CrcOffset]), block[Size..]);

    /// <summary>A short text for reports: <c>magic=acca len=4096 offset=8192 seed=0x... seq=3 crc=0x...</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"magic=0x{Magic:x4} type={Type} len={Length} offset={Offset} seed=0x{Seed:x16} seq={Sequence} crc32c=0x{Crc:x8}");
}
