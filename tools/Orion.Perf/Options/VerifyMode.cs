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
}

/// <summary>fio names for <see cref="VerifyMode"/>.</summary>
public static class VerifyModeExtensions
{
    /// <summary>The name fio uses.</summary>
    public static string FioName(this VerifyMode mode) => mode switch
    {
        VerifyMode.None => "0",
        VerifyMode.Crc32c => "crc32c",
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
            case "md5" or "crc64" or "crc32" or "crc16" or "crc7" or "sha1" or "sha256" or "sha512" or "sha3-224" or "sha3-256"
                or "sha3-384" or "sha3-512" or "xxhash" or "meta" or "pattern" or "null":
                error = $"--verify={text}: only crc32c is supported; use --verify=crc32c, or --verify=0 (or none) to turn verification off";
                return false;
            default:
                error = $"--verify={text}: unknown verify type; use --verify=crc32c, or --verify=0 (or none) to turn verification off";
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
