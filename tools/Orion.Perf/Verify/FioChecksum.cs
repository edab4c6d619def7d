using Orion.Perf.Options;
using Orion.Pmd.Engine.Integrity;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Security.Cryptography;

namespace Orion.Perf.Verify;

/// <summary>
/// The checksum fio 3.33 stores after each verify header, byte for byte as fio writes it, so fio checks what orion-perf
/// wrote and the other way round. Several of fio's checksums are not the textbook ones, and they are computed here as
/// fio computes them (its <c>crc/</c> directory), not as the names suggest:
/// <list type="bullet">
/// <item><c>crc32c</c>: CRC-32C with no final inversion (fio's <c>crc32c_sw</c>): the complement of the standard value.</item>
/// <item><c>crc32</c>: the POSIX <c>cksum</c> table (polynomial 0x04C11DB7, MSB first), initial value 0, no length, no inversion.</item>
/// <item><c>crc64</c>: reflected polynomial 0x95AC9329AC4BC9B5 (CRC-64/Jones), initial value 0, no inversion.</item>
/// <item><c>crc16</c>: reflected 0x8005 (CRC-16/ARC); <c>crc7</c>: polynomial 0x09, MSB first (the MMC CRC-7 table).</item>
/// <item><c>sha1</c>: SHA-1 with each 32-bit word of the digest stored little-endian; <c>md5</c>, <c>sha3-*</c>: the standard digests.</item>
/// <item><c>sha256</c>: a 64-byte field: SHA-256 blocks, but the message length appended little-endian, then the last
/// block processed with the low byte of each of the eight state words written over its first eight bytes.</item>
/// <item><c>sha512</c>: fio never finishes the hash: the 128-byte field is the hash's input buffer after the update, the
/// data's tail after its last whole 128-byte block written over the first 128 bytes of the data.</item>
/// <item><c>xxhash</c>: XXH32 with seed 1, stored little-endian.</item>
/// </list>
/// System.IO.Hashing's CRC-32 and CRC-64 are other variants (reflected IEEE with inversion, ECMA-182), so the CRCs are
/// table-driven here; XXH32 comes from that package and MD5/SHA-1/SHA-3 from the runtime (SHA3-224, which .NET lacks, from <see cref="Keccak"/>). Allocation-free.
/// </summary>
public static class FioChecksum
{
    /// <summary>Bytes of checksum after the 40-byte header (fio's <c>vhdr_*</c> structures); 0 for none.</summary>
    public static int Size(VerifyMode mode) => mode switch
    {
        VerifyMode.Md5 => 16,
        VerifyMode.Crc64 => 8,
        VerifyMode.Crc32 or VerifyMode.Crc32c or VerifyMode.Crc32cIntel or VerifyMode.Xxhash => 4,
        VerifyMode.Crc16 => 2,
        VerifyMode.Crc7 => 1,
        VerifyMode.Sha256 => 64,
        VerifyMode.Sha512 => 128,
        VerifyMode.Sha3_224 => 28,
        VerifyMode.Sha3_256 => 32,
        VerifyMode.Sha3_384 => 48,
        VerifyMode.Sha3_512 => 64,
        VerifyMode.Sha1 => 20,
        _ => 0,
    };

    /// <summary>Writes the checksum of <paramref name="data"/> into <paramref name="sum"/> (<see cref="Size"/> bytes).</summary>
    public static void Compute(VerifyMode mode, ReadOnlySpan<byte> data, Span<byte> sum)
    {
        switch (mode)
        {
            case VerifyMode.Md5: MD5.HashData(data, sum); break;
            case VerifyMode.Crc64: BinaryPrimitives.WriteUInt64LittleEndian(sum, Crc64Jones(data)); break;
            case VerifyMode.Crc32: BinaryPrimitives.WriteUInt32LittleEndian(sum, Crc32Posix(data)); break;
            case VerifyMode.Crc32c or VerifyMode.Crc32cIntel: BinaryPrimitives.WriteUInt32LittleEndian(sum, Crc32cNoInvert(data)); break;
            case VerifyMode.Crc16: BinaryPrimitives.WriteUInt16LittleEndian(sum, Crc16Arc(data)); break;
            case VerifyMode.Crc7: sum[0] = Crc7(data); break;
            case VerifyMode.Sha256: FioSha256(data, sum); break;
            case VerifyMode.Sha512: FioSha512(data, sum); break;
            case VerifyMode.Sha3_224: Sha3(224, data, sum); break;
            case VerifyMode.Sha3_256: Sha3(256, data, sum); break;
            case VerifyMode.Sha3_384: Sha3(384, data, sum); break;
            case VerifyMode.Sha3_512: Sha3(512, data, sum); break;
            case VerifyMode.Xxhash: BinaryPrimitives.WriteUInt32LittleEndian(sum, XxHash32.HashToUInt32(data, seed: 1)); break;
            case VerifyMode.Sha1:
                SHA1.HashData(data, sum);
                for (int i = 0; i < 20; i += 4) sum.Slice(i, 4).Reverse();     // fio stores its H[] words in host order
                break;
            default: throw new ArgumentOutOfRangeException(nameof(mode), mode, "no checksum for this verify type");
        }
    }

    // The runtime's SHA-3 where OpenSSL has it; SHA3-224 (which .NET lacks) and machines without it use Keccak here.
    private static void Sha3(int bits, ReadOnlySpan<byte> data, Span<byte> sum)
    {
        switch (bits)
        {
            case 256 when SHA3_256.IsSupported: SHA3_256.HashData(data, sum); break;
            case 384 when SHA3_384.IsSupported: SHA3_384.HashData(data, sum); break;
            case 512 when SHA3_512.IsSupported: SHA3_512.HashData(data, sum); break;
            default: Keccak.Sha3(data, sum[..(bits / 8)]); break;
        }
    }

    /// <summary>fio's crc32c: CRC-32C without the final inversion.</summary>
    public static uint Crc32cNoInvert(ReadOnlySpan<byte> data) => ~Crc32C.Compute(data);

    private static readonly uint[] PosixTable = BuildMsbTable32(0x04C11DB7);
    private static readonly ulong[] JonesTable = BuildReflectedTable(0x95AC9329AC4BC9B5UL);
    private static readonly ulong[] ArcTable = BuildReflectedTable(0xA001);
    private static readonly byte[] Crc7Table = BuildCrc7Table();

    private static uint Crc32Posix(ReadOnlySpan<byte> data)
    {
        uint crc = 0;
        foreach (byte b in data) crc = (crc << 8) ^ PosixTable[((crc >> 24) ^ b) & 0xff];
        return crc;
    }

    private static ulong Crc64Jones(ReadOnlySpan<byte> data)
    {
        ulong crc = 0;
        foreach (byte b in data) crc = JonesTable[(crc ^ b) & 0xff] ^ (crc >> 8);
        return crc;
    }

    private static ushort Crc16Arc(ReadOnlySpan<byte> data)
    {
        ushort crc = 0;
        foreach (byte b in data) crc = (ushort)((crc >> 8) ^ (ushort)ArcTable[(crc ^ b) & 0xff]);
        return crc;
    }

    // fio's crc7 keeps the 7-bit register in the low bits and indexes its table with (crc << 1) ^ byte.
    private static byte Crc7(ReadOnlySpan<byte> data)
    {
        byte crc = 0;
        foreach (byte b in data) crc = Crc7Table[((crc << 1) ^ b) & 0xff];
        return crc;
    }

    private static uint[] BuildMsbTable32(uint poly)
    {
        var t = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i << 24;
            for (int k = 0; k < 8; k++) c = (c & 0x80000000) != 0 ? (c << 1) ^ poly : c << 1;
            t[i] = c;
        }
        return t;
    }

    // A reflected (LSB-first) CRC table of any width up to 64 bits: the polynomial decides the width.
    private static ulong[] BuildReflectedTable(ulong poly)
    {
        var t = new ulong[256];
        for (ulong i = 0; i < 256; i++)
        {
            ulong c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? (c >> 1) ^ poly : c >> 1;
            t[i] = c;
        }
        return t;
    }

    // The CRC-7 (x^7 + x^3 + 1) of one byte fed MSB first into a zero register: the 7-bit remainder.
    private static byte[] BuildCrc7Table()
    {
        var t = new byte[256];
        for (int i = 0; i < 256; i++)
        {
            int c = i;
            for (int k = 0; k < 8; k++)
            {
                c <<= 1;
                if ((c & 0x100) != 0) c ^= 0x09 << 1 | 0x100;
            }
            t[i] = (byte)(c >> 1);
        }
        return t;
    }

    /// <summary>fio's sha512 field: the 128-byte input buffer of an unfinished SHA-512 after one update with the data.</summary>
    private static void FioSha512(ReadOnlySpan<byte> data, Span<byte> sum)
    {
        sum[..128].Clear();
        if (data.Length < 128)
        {
            data.CopyTo(sum);           // fio leaves the rest of its (uninitialised) buffer as it was
            return;
        }
        data[..128].CopyTo(sum);
        int i = 128;
        while (i + 127 < data.Length) i += 128;
        data[i..].CopyTo(sum);
    }

    /// <summary>fio's sha256 field (see the class remarks).</summary>
    private static void FioSha256(ReadOnlySpan<byte> data, Span<byte> sum)
    {
        Span<uint> state = stackalloc uint[8];
        Sha256Block.Init(state);
        int whole = data.Length & ~63;
        for (int at = 0; at < whole; at += 64) Sha256Block.Transform(state, data.Slice(at, 64));
        Span<byte> block = sum[..64];
        block.Clear();
        int rest = data.Length - whole;
        data[whole..].CopyTo(block);
        block[rest] = 0x80;
        if (rest >= 56)
        {
            Sha256Block.Transform(state, block);
            block.Clear();
        }
        BinaryPrimitives.WriteUInt64LittleEndian(block[56..], (ulong)(uint)data.Length << 3);
        Sha256Block.Transform(state, block);
        for (int k = 0; k < 8; k++) block[k] = (byte)state[k];
    }
}
