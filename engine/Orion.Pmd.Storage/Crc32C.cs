using System.Buffers.Binary;
using System.Runtime.Intrinsics.X86;

namespace Orion.Pmd.Storage;

/// <summary>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of iSCSI, ext4 and most storage formats.
/// Uses the SSE4.2 <c>crc32</c> instruction when the CPU has it and a table otherwise; both give the same value.
/// (System.IO.Hashing is not in-box, and one small function is cheaper than a package.)
/// </summary>
public static class Crc32C
{
    private const uint Polynomial = 0x82F63B78;
    private static readonly uint[] Table = BuildTable();

    /// <summary>The CRC-32C of <paramref name="data"/> (initial value and final XOR 0xFFFFFFFF, as usual).</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => ~Update(0xFFFFFFFF, data);

    /// <summary>Continues a running CRC (start with 0xFFFFFFFF, finish with <c>~state</c>) over <paramref name="data"/>.</summary>
    public static uint Update(uint state, ReadOnlySpan<byte> data)
    {
        if (Sse42.X64.IsSupported)
        {
            ulong crc = state;
            while (data.Length >= 8)
            {
                crc = Sse42.X64.Crc32(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
                data = data[8..];
            }
            state = (uint)crc;
            foreach (byte b in data) state = Sse42.Crc32(state, b);
            return state;
        }
        foreach (byte b in data) state = Table[(state ^ b) & 0xFF] ^ (state >> 8);
        return state;
    }

    /// <summary>The table form alone, so tests can check the hardware path against it.</summary>
    internal static uint ComputeWithTable(ReadOnlySpan<byte> data)
    {
        uint state = 0xFFFFFFFF;
        foreach (byte b in data) state = Table[(state ^ b) & 0xFF] ^ (state >> 8);
        return ~state;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? (c >> 1) ^ Polynomial : c >> 1;
            table[i] = c;
        }
        return table;
    }
}
