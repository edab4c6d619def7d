using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ArmCrc = System.Runtime.Intrinsics.Arm.Crc32;
using X86Crc = System.Runtime.Intrinsics.X86.Sse42;

namespace Orion.Pmd.Engine.Integrity;

/// <summary>
/// CRC-32C (Castagnoli: reflected polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF), the checksum of
/// iSCSI, ext4 and fio's <c>verify=crc32c</c>. Uses the CPU's CRC32 instruction where there is one (SSE 4.2 on x64,
/// the CRC extension on arm64), eight bytes at a time, and a 256-entry table otherwise. Allocation-free. Shared by
/// the storage layer's frames and pages and orion-perf's verify headers, so both sides of a check agree by construction.
/// </summary>
public static class Crc32C
{
    /// <summary>The standard check value: CRC-32C of the ASCII bytes <c>123456789</c>.</summary>
    public const uint CheckValue = 0xE3069283;

    /// <summary>The reflected Castagnoli polynomial.</summary>
    public const uint Polynomial = 0x82F63B78;

    private static readonly uint[] Table = BuildTable();

    /// <summary>Whether a CRC32C instruction is used (false means the table).</summary>
    public static bool IsHardwareAccelerated => X86Crc.X64.IsSupported || ArmCrc.Arm64.IsSupported;

    /// <summary>The CRC-32C of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);

    /// <summary>
    /// Continues <paramref name="crc"/> (a finished CRC-32C of earlier bytes, 0 for none) over <paramref name="data"/>:
    /// <c>Append(Compute(a), b) == Compute(a + b)</c>.
    /// </summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data) => ~Update(~crc, data);

    /// <summary>The raw register update (no pre- or post-inversion), by the fastest path this CPU has.</summary>
    private static uint Update(uint state, ReadOnlySpan<byte> data)
    {
        if (X86Crc.X64.IsSupported) return UpdateX64(state, data);
        if (ArmCrc.Arm64.IsSupported) return UpdateArm64(state, data);
        return UpdateTable(state, data);
    }

    private static uint UpdateX64(uint state, ReadOnlySpan<byte> data)
    {
        ulong crc = state;
        ref byte p = ref MemoryMarshal.GetReference(data);
        int n = data.Length, i = 0;
        for (; i + 8 <= n; i += 8) crc = X86Crc.X64.Crc32(crc, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref p, i)));
        uint c = (uint)crc;
        for (; i < n; i++) c = X86Crc.Crc32(c, Unsafe.Add(ref p, i));
        return c;
    }

    private static uint UpdateArm64(uint state, ReadOnlySpan<byte> data)
    {
        uint crc = state;
        ref byte p = ref MemoryMarshal.GetReference(data);
        int n = data.Length, i = 0;
        for (; i + 8 <= n; i += 8) crc = ArmCrc.Arm64.ComputeCrc32C(crc, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref p, i)));
        for (; i < n; i++) crc = ArmCrc.ComputeCrc32C(crc, Unsafe.Add(ref p, i));
        return crc;
    }

    /// <summary>The portable path, one byte per table lookup; also what the tests hold the instruction paths to.</summary>
    internal static uint UpdateTable(uint state, ReadOnlySpan<byte> data)
    {
        uint[] table = Table;
        foreach (byte b in data) state = table[(byte)(state ^ b)] ^ (state >> 8);
        return state;
    }

    /// <summary>The table path as a finished CRC (for tests on machines with the instruction).</summary>
    internal static uint ComputeWithTable(ReadOnlySpan<byte> data) => ~UpdateTable(~0u, data);

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
