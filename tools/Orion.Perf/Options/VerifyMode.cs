namespace Orion.Perf.Options;

/// <summary>
/// What fio's <c>verify</c> option asks for. The values are fio 3.33's (its <c>VERIFY_*</c> enum), the type each
/// verify header carries on the medium, so fio and orion-perf read each other's data.
/// </summary>
public enum VerifyMode
{
    /// <summary>No verification (fio <c>verify=0</c> or <c>none</c>, the default).</summary>
    None = 0,
    /// <summary>
    /// fio <c>verify=meta</c>: each block carries the header alone, sealed with fio's CRC-32C of the header (magic, type,
    /// length, seed, offset, time, thread, numberio); the data after it is checked only against <c>verify_pattern</c>.
    /// </summary>
    Meta = 1,
    /// <summary>MD5 of the data after the header.</summary>
    Md5 = 2,
    /// <summary>fio's CRC-64.</summary>
    Crc64 = 3,
    /// <summary>fio's CRC-32 (the POSIX cksum polynomial).</summary>
    Crc32 = 4,
    /// <summary>
    /// Each written block carries fio's header and a CRC-32C of the data after it, checked when the job reads it back
    /// (fio <c>verify=crc32c</c>).
    /// </summary>
    Crc32c = 5,
    /// <summary>fio <c>verify=crc32c-intel</c>: the same checksum, recorded as type 6.</summary>
    Crc32cIntel = 6,
    /// <summary>fio's CRC-16.</summary>
    Crc16 = 7,
    /// <summary>fio's CRC-7.</summary>
    Crc7 = 8,
    /// <summary>fio's sha256 field.</summary>
    Sha256 = 9,
    /// <summary>fio's sha512 field.</summary>
    Sha512 = 10,
    /// <summary>SHA3-224.</summary>
    Sha3_224 = 11,
    /// <summary>SHA3-256.</summary>
    Sha3_256 = 12,
    /// <summary>SHA3-384.</summary>
    Sha3_384 = 13,
    /// <summary>SHA3-512.</summary>
    Sha3_512 = 14,
    /// <summary>XXH32 (seed 1).</summary>
    Xxhash = 15,
    /// <summary>SHA-1.</summary>
    Sha1 = 16,
    /// <summary>fio <c>verify=pattern</c> (fio's VERIFY_PATTERN_NO_HDR): no header; every byte of a block is <c>verify_pattern</c>, repeated.</summary>
    Pattern = 18,
}

/// <summary>fio names for <see cref="VerifyMode"/>.</summary>
public static class VerifyModeExtensions
{
    private static readonly (string Name, VerifyMode Mode)[] Names =
    [
        ("md5", VerifyMode.Md5), ("crc64", VerifyMode.Crc64), ("crc32", VerifyMode.Crc32), ("crc32c", VerifyMode.Crc32c),
        ("crc32c-intel", VerifyMode.Crc32cIntel), ("crc16", VerifyMode.Crc16), ("crc7", VerifyMode.Crc7), ("sha256", VerifyMode.Sha256),
        ("sha512", VerifyMode.Sha512), ("sha3-224", VerifyMode.Sha3_224), ("sha3-256", VerifyMode.Sha3_256), ("sha3-384", VerifyMode.Sha3_384),
        ("sha3-512", VerifyMode.Sha3_512), ("xxhash", VerifyMode.Xxhash), ("sha1", VerifyMode.Sha1), ("meta", VerifyMode.Meta),
        ("pattern", VerifyMode.Pattern),
    ];

    /// <summary>
    /// Bytes of header at the start of each verified block: fio's 40-byte <c>verify_header</c> and the checksum after
    /// it (none for a pattern).
    /// </summary>
    public static int VerifyHeaderBytes(this VerifyMode mode) =>
        mode is VerifyMode.Pattern or VerifyMode.None ? 0 : Verify.VerifyHeader.Size + Verify.FioChecksum.Size(mode);

    /// <summary>Whether two types check the same way (crc32c and crc32c-intel are one checksum under two numbers).</summary>
    public static bool SameCheck(this VerifyMode mode, int type) =>
        (int)mode == type || (mode is VerifyMode.Crc32c or VerifyMode.Crc32cIntel && type is (int)VerifyMode.Crc32c or (int)VerifyMode.Crc32cIntel);

    /// <summary>Bytes of the checksum a report shows (its first 8 at most).</summary>
    public static int ChecksumDisplayBytes(VerifyMode mode) => Math.Min(8, Verify.FioChecksum.Size(mode));

    /// <summary>The name fio uses.</summary>
    public static string FioName(this VerifyMode mode) => mode == VerifyMode.None ? "0"
        : Array.Find(Names, n => n.Mode == mode).Name ?? throw new ArgumentOutOfRangeException(nameof(mode), mode, null);

    /// <summary>Parses a fio <c>verify</c> value; <paramref name="error"/> names the option and what is accepted.</summary>
    public static bool TryParse(string text, out VerifyMode mode, out string error)
    {
        error = "";
        mode = VerifyMode.None;
        string t = text.Trim().ToLowerInvariant();
        if (t is "0" or "none" or "off") return true;
        foreach (var (name, m) in Names)
            if (name == t)
            {
                mode = m;
                return true;
            }
        error = t == "null"
            ? $"--verify={text}: fio's null verify (pretend to verify) tests fio's own internals; use a checksum such as --verify=crc32c, or --verify=0 to turn verification off"
            : $"--verify={text}: unknown verify type; use one of {string.Join(", ", Names.Select(n => n.Name))}, or --verify=0 (or none) to turn verification off";
        return false;
    }
}

/// <summary>How <c>rate_iops</c> spaces the I/Os it starts (fio <c>rate_process</c>).</summary>
public enum RateProcess
{
    /// <summary>Evenly: one I/O every 1/rate seconds (fio's default).</summary>
    Linear,
    /// <summary>A Poisson process: exponentially distributed gaps with mean 1/rate, as independent clients arrive.</summary>
    Poisson,
}

/// <summary>Parses fio's <c>verify_pattern</c>: a hex number (<c>0xaa555aa5</c>: its bytes in the order written) or a quoted string.</summary>
public static class VerifyPattern
{
    /// <summary>The pattern's bytes; <paramref name="error"/> says what is accepted when it is not one.</summary>
    public static bool TryParse(string text, out byte[] pattern, out string error)
    {
        pattern = [];
        error = "";
        string t = text.Trim();
        if (t.Length >= 2 && (t[0] == '"' || t[0] == '\'') && t[^1] == t[0])
        {
            pattern = System.Text.Encoding.UTF8.GetBytes(t[1..^1]);
            if (pattern.Length > 0) return true;
        }
        else if (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && t.Length > 2)
        {
            string hex = t[2..];
            if (hex.Length % 2 == 1) hex = "0" + hex;
            try
            {
                pattern = Convert.FromHexString(hex);
                if (pattern.Length <= MaxBytes) return true;
            }
            catch (FormatException)
            {
            }
        }
        error = $"--verify_pattern={text}: give a hex number (for example 0xaa555aa5, its bytes in the order written) or a quoted string of up to {MaxBytes} bytes";
        return false;
    }

    /// <summary>fio's limit on a pattern's length.</summary>
    public const int MaxBytes = 512;
}
