using Orion.Perf.Options;
using System.Buffers.Binary;
using System.Globalization;

namespace Orion.Perf.Verify;

/// <summary>
/// fio 3.33's <c>struct verify_header</c>, the 40 bytes at the start of every verified block (or of every
/// <c>verify_interval</c>), followed by the checksum of the type (<see cref="FioChecksum"/>) and then the data the
/// checksum covers. Laid out as fio lays it out on x86 and arm64 (little-endian, natural alignment), so a block written
/// by fio passes orion-perf's check and the other way round:
/// <code>
///  0  u16 magic 0xacca     2  u16 verify type (fio's VERIFY_* number)     4  u32 length the header covers
///  8  u64 rand_seed        16 u64 byte offset of the block
/// 24  u32 time_sec         28 u32 time_nsec (when the write was issued)
/// 32  u16 thread (fio's job number)   34  u16 numberio (the job's write number, low 16 bits)
/// 36  u32 fio's CRC-32C (no final inversion) of bytes 0-35
/// </code>
/// This is the layout of fio 2.x to 3.40 (Debian and Ubuntu ship 3.33-3.36; the peer tests run the installed fio);
/// fio 3.41 added a version byte and made numberio 64 bits, which a 3.40 fio cannot read either.
/// </summary>
/// <param name="Magic">0xacca for a block written with verification (fio's value).</param>
/// <param name="Type">fio's verify type number (<see cref="VerifyMode"/>'s value).</param>
/// <param name="Length">Bytes the header covers.</param>
/// <param name="Seed">The writing job's seed (fio's rand_seed of the buffer); another job's (or run's) data shows here.</param>
/// <param name="Offset">Byte offset on the device the block was written to.</param>
/// <param name="TimeSec">Seconds of the time the write was issued.</param>
/// <param name="TimeNsec">Nanoseconds of that time.</param>
/// <param name="Thread">The writing job's number (fio's thread_number, from 1).</param>
/// <param name="Sequence">Which of the job's writes it was (fio's numberio, 16 bits); an older one means a lost or stale write.</param>
/// <param name="Crc">The stored header CRC.</param>
public readonly record struct VerifyHeader(ushort Magic, ushort Type, uint Length, ulong Seed, long Offset, uint TimeSec, uint TimeNsec,
                                           ushort Thread, ushort Sequence, uint Crc)
{
    /// <summary>Header bytes (before the checksum).</summary>
    public const int Size = 40;

    /// <summary>fio's verify magic.</summary>
    public const ushort ExpectedMagic = 0xacca;

    private const int CrcOffset = 36;

    /// <summary>Reads the header at the start of <paramref name="block"/> (at least <see cref="Size"/> bytes).</summary>
    public static VerifyHeader Read(ReadOnlySpan<byte> block) => new(
        BinaryPrimitives.ReadUInt16LittleEndian(block),
        BinaryPrimitives.ReadUInt16LittleEndian(block[2..]),
        BinaryPrimitives.ReadUInt32LittleEndian(block[4..]),
        BinaryPrimitives.ReadUInt64LittleEndian(block[8..]),
        BinaryPrimitives.ReadInt64LittleEndian(block[16..]),
        BinaryPrimitives.ReadUInt32LittleEndian(block[24..]),
        BinaryPrimitives.ReadUInt32LittleEndian(block[28..]),
        BinaryPrimitives.ReadUInt16LittleEndian(block[32..]),
        BinaryPrimitives.ReadUInt16LittleEndian(block[34..]),
        BinaryPrimitives.ReadUInt32LittleEndian(block[CrcOffset..]));

    /// <summary>
    /// Writes a header for <paramref name="block"/> (its whole length) at <paramref name="offset"/>, seals it with its
    /// CRC and, for a checksum type, stores the checksum of the data after header and checksum. Allocation-free.
    /// </summary>
    public static void Stamp(Span<byte> block, VerifyMode mode, long offset, ulong seed, uint sequence, ushort thread = 1, long issuedNs = 0)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(block, ExpectedMagic);
        BinaryPrimitives.WriteUInt16LittleEndian(block[2..], (ushort)mode);
        BinaryPrimitives.WriteUInt32LittleEndian(block[4..], (uint)block.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(block[8..], seed);
        BinaryPrimitives.WriteInt64LittleEndian(block[16..], offset);
        BinaryPrimitives.WriteUInt32LittleEndian(block[24..], (uint)(issuedNs / 1_000_000_000));
        BinaryPrimitives.WriteUInt32LittleEndian(block[28..], (uint)(issuedNs % 1_000_000_000));
        BinaryPrimitives.WriteUInt16LittleEndian(block[32..], thread);
        BinaryPrimitives.WriteUInt16LittleEndian(block[34..], (ushort)sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(block[CrcOffset..], ComputeHeaderCrc(block));
        int sum = FioChecksum.Size(mode);
        if (sum > 0) FioChecksum.Compute(mode, block[(Size + sum)..], block.Slice(Size, sum));
    }

    /// <summary>fio's CRC-32C (no final inversion) of the header's first 36 bytes: what a sound header stores.</summary>
    public static uint ComputeHeaderCrc(ReadOnlySpan<byte> block) => FioChecksum.Crc32cNoInvert(block[..CrcOffset]);

    /// <summary>
    /// Whether the checksum stored after the header matches the data after it, read as <paramref name="mode"/>; true for
    /// types with no checksum. <paramref name="stored"/> and <paramref name="computed"/> get the first 8 bytes of each
    /// (big-endian, for reports).
    /// </summary>
    public static bool ChecksumMatches(ReadOnlySpan<byte> block, VerifyMode mode, out ulong stored, out ulong computed)
    {
        stored = computed = 0;
        int sum = FioChecksum.Size(mode);
        if (sum == 0) return true;
        Span<byte> want = stackalloc byte[128];
        FioChecksum.Compute(mode, block[(Size + sum)..], want[..sum]);
        var have = block.Slice(Size, sum);
        stored = First8(have);
        computed = First8(want[..sum]);
        return have.SequenceEqual(want[..sum]);
    }

    private static ulong First8(ReadOnlySpan<byte> sum)
    {
        ulong v = 0;
        for (int i = 0; i < Math.Min(8, sum.Length); i++) v = v << 8 | sum[i];
        return v;
    }

    /// <summary>A short text for reports: <c>magic=0xacca type=5 len=4096 offset=8192 seed=0x... thread=1 numberio=3 crc=0x...</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"magic=0x{Magic:x4} type={Type} len={Length} offset={Offset} seed=0x{Seed:x16} thread={Thread} numberio={Sequence} hdr_crc=0x{Crc:x8}");
}
