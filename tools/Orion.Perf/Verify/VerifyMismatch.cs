using Orion.Perf.Options;
using System.Globalization;

namespace Orion.Perf.Verify;

/// <summary>One block that failed verification: where, what its header should have held, what it held, and its CRC.</summary>
/// <param name="Offset">Byte offset of the block on the device.</param>
/// <param name="Length">Bytes of the block (one header's worth).</param>
/// <param name="Expected">The header the job's last write to the block carried, with the CRC the data found would need.</param>
/// <param name="Found">The header read back.</param>
/// <param name="ComputedCrc">The header CRC computed over the header as read.</param>
/// <param name="AfterWrites">Found by the read-back after the write phase (rather than by a read of the workload).</param>
/// <param name="PatternMismatchAt">The first byte of the block (from its start) that is not verify_pattern; -1 when the pattern held or was not checked.</param>
/// <param name="Mode">The verify type the block was checked as.</param>
/// <param name="ChecksumOk">Whether the type's checksum after the header matched the data.</param>
/// <param name="StoredSum">The first 8 bytes of the stored checksum (big-endian).</param>
/// <param name="ComputedSum">The first 8 bytes of the checksum computed over the data read.</param>
public readonly record struct VerifyMismatch(long Offset, int Length, VerifyHeader Expected, VerifyHeader Found, uint ComputedCrc, bool AfterWrites,
                                             int PatternMismatchAt = -1, Options.VerifyMode Mode = Options.VerifyMode.Crc32c,
                                             bool ChecksumOk = true, ulong StoredSum = 0, ulong ComputedSum = 0)
{
    /// <summary>What is wrong, one phrase each, most telling first.</summary>
    public IReadOnlyList<string> Problems()
    {
        var inv = CultureInfo.InvariantCulture;
        var p = new List<string>();
        string pattern = string.Create(inv, $"byte {PatternMismatchAt} of the block is not verify_pattern: the data changed after it was written");
        if (Expected.Magic == 0)           // verify=pattern: no header
            return [PatternMismatchAt >= 0 ? pattern : "the block differs from verify_pattern"];
        if (Found.Magic != Expected.Magic || Found.Type != Expected.Type)
        {
            p.Add(string.Create(inv, $"no verify header (magic 0x{Found.Magic:x4}, type {Found.Type}; expected 0x{Expected.Magic:x4}, type {Expected.Type}): the block holds data this job did not write"));
        }
        else
        {
            if (Found.Offset != Expected.Offset)
                p.Add(string.Create(inv, $"the header names offset {Found.Offset}: data written for another block (a misdirected write)"));
            if (Found.Length != Expected.Length)
                p.Add(string.Create(inv, $"length {Found.Length} where {Expected.Length} was written"));
            if (Found.Seed != Expected.Seed)
                p.Add(string.Create(inv, $"seed 0x{Found.Seed:x16} is not this job's 0x{Expected.Seed:x16}: written by another job or run"));
            if (Found.Sequence != Expected.Sequence)
                p.Add(Found.Sequence < Expected.Sequence
                    ? string.Create(inv, $"sequence {Found.Sequence}, but write {Expected.Sequence} was the last to this block: stale data (a lost write)")
                    : string.Create(inv, $"sequence {Found.Sequence} is newer than the last write to this block, {Expected.Sequence}"));
        }
        if (Found.Crc != ComputedCrc)
            p.Add(string.Create(inv, $"header crc stored 0x{Found.Crc:x8}, computed 0x{ComputedCrc:x8}: the header changed after it was written"));
        if (!ChecksumOk)
        {
            int bytes = Options.VerifyModeExtensions.ChecksumDisplayBytes(Mode);
            string more = bytes < Verify.FioChecksum.Size(Mode) ? "..." : "";
            p.Add(string.Create(inv, $"{Mode.FioName()} stored 0x{Hex(StoredSum, bytes)}{more}, computed 0x{Hex(ComputedSum, bytes)}{more}: the data changed after it was written"));
        }
        if (PatternMismatchAt >= 0) p.Add(pattern);
        if (p.Count == 0) p.Add("header and data differ from what was written");
        return p;
    }

    private static string Hex(ulong value, int bytes) => value.ToString("x" + (bytes * 2).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    /// <summary>The mismatch for a report: a summary line, then the expected and found headers.</summary>
    public string Describe(string indent = "")
    {
        var inv = CultureInfo.InvariantCulture;
        string when = AfterWrites ? "read back after the writes" : "read by the workload";
        string line = string.Create(inv, $"{indent}offset {Offset} (0x{Offset:x}), {Length} bytes, {when}: {string.Join("; ", Problems())}");
        if (Expected.Magic == 0) return line;
        return line + Environment.NewLine
             + $"{indent}  expected header: {Expected}" + Environment.NewLine
             + $"{indent}  found header:    {Found}";
    }
}

/// <summary>What verification saw over a job (all its --numjobs workloads together).</summary>
public sealed class VerifySummary
{
    /// <summary>The verify type.</summary>
    public Options.VerifyMode Mode { get; init; } = Options.VerifyMode.Crc32c;

    /// <summary>Bytes each header covers: the job's smallest block size.</summary>
    public int BlockBytes { get; init; }

    /// <summary>Blocks checked as the workload read them (mixed workloads).</summary>
    public long CheckedInline { get; init; }

    /// <summary>Blocks checked by reading back after the write phase.</summary>
    public long CheckedAfterWrites { get; init; }

    /// <summary>Blocks that failed.</summary>
    public long Mismatches { get; init; }

    /// <summary>The first few failures, in the order found (at most <see cref="VerifyTracker.MaxRecorded"/> per workload).</summary>
    public IReadOnlyList<VerifyMismatch> FirstMismatches { get; init; } = [];

    /// <summary>Whether the read-back after the write phase ran (write-only workloads with do_verify).</summary>
    public bool ReadBackRan { get; init; }

    /// <summary>Whether verify_fatal stopped the job at a mismatch.</summary>
    public bool StoppedEarly { get; init; }

    /// <summary>Blocks checked in all.</summary>
    public long Checked => CheckedInline + CheckedAfterWrites;
}
