namespace Orion.Perf.Options;

/// <summary>What fio's <c>verify</c> option asks for.</summary>
public enum VerifyMode
{
    /// <summary>No verification (fio <c>verify=0</c> or <c>none</c>, the default).</summary>
    None,
    /// <summary>
    /// Each written block carries a header (magic, length, offset, sequence, seed) and a CRC32C of the block, checked
    /// when the job reads it back (fio <c>verify=crc32c</c>, also <c>crc32c-intel</c>).
    /// </summary>
    Crc32c,
    /// <summary>
    /// fio <c>verify=meta</c>: each block carries the header alone, sealed with a CRC-32C of the header (magic, length,
    /// offset, seed, sequence); the data after it is checked only against <c>verify_pattern</c> when one is given.
    /// </summary>
    Meta,
    /// <summary>fio <c>verify=pattern</c>: no header; every byte of a block is <c>verify_pattern</c>, repeated.</summary>
    Pattern,
}

/// <summary>fio names for <see cref="VerifyMode"/>.</summary>
public static class VerifyModeExtensions
{
    /// <summary>Bytes of header at the start of each verified block (none for a pattern).</summary>
    public static int VerifyHeaderBytes(this VerifyMode mode) => mode == VerifyMode.Pattern ? 0 : 32;

    /// <summary>The name fio uses.</summary>
    public static string FioName(this VerifyMode mode) => mode switch
    {
        VerifyMode.None => "0",
        VerifyMode.Crc32c => "crc32c",
        VerifyMode.Meta => "meta",
        VerifyMode.Pattern => "pattern",
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, null),
    };

    /// <summary>Parses a fio <c>verify</c> value; <paramref name="error"/> names the option and what is accepted.</summary>
    public static bool TryParse(string text, out VerifyMode mode, out string error)
    {
        error = "";
        mode = VerifyMode.None;
        switch (text.Trim().ToLowerInvariant())
        {
            case "0" or "none" or "off":
                return true;
            case "crc32c" or "crc32c-intel":
                mode = VerifyMode.Crc32c;
                return true;
            case "meta":
                mode = VerifyMode.Meta;
                return true;
            case "pattern":
                mode = VerifyMode.Pattern;
                return true;
            case "md5" or "crc64" or "crc32" or "crc16" or "crc7" or "sha1" or "sha256" or "sha512" or "sha3-224" or "sha3-256"
                or "sha3-384" or "sha3-512" or "xxhash" or "null":
                error = $"--verify={text}: the checksums supported are crc32c, meta and pattern; use --verify=crc32c, or --verify=0 (or none) to turn verification off";
                return false;
            default:
                error = $"--verify={text}: unknown verify type; use --verify=crc32c, meta or pattern, or --verify=0 (or none) to turn verification off";
                return false;
        }
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
