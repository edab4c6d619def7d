namespace Orion.Perf.Options;

/// <summary>
/// fio's <c>continue_on_error</c>: which failures a job counts and goes on after, rather than stopping at the first.
/// A read error is a failed read; a write error a failed write or trim (as fio files trims); a verify error a
/// block whose content did not match.
/// </summary>
[Flags]
public enum ContinueOnError
{
    /// <summary>The first failure ends the job (fio's default).</summary>
    None = 0,
    /// <summary>Go on after failed reads.</summary>
    Read = 1,
    /// <summary>Go on after failed writes and trims.</summary>
    Write = 2,
    /// <summary>Go on after any failed I/O.</summary>
    Io = Read | Write,
    /// <summary>Go on after verify mismatches (they never stop a job here unless <c>verify_fatal</c> asks).</summary>
    Verify = 4,
    /// <summary>Go on after everything.</summary>
    All = Io | Verify,
}

/// <summary>fio names for <see cref="ContinueOnError"/>.</summary>
public static class ContinueOnErrorExtensions
{
    /// <summary>The name fio uses.</summary>
    public static string FioName(this ContinueOnError mode) => mode switch
    {
        ContinueOnError.None => "none",
        ContinueOnError.Read => "read",
        ContinueOnError.Write => "write",
        ContinueOnError.Io => "io",
        ContinueOnError.Verify => "verify",
        ContinueOnError.All => "all",
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, null),
    };

    /// <summary>Parses a fio <c>continue_on_error</c> value (names, or fio's 0 = none and 1 = all).</summary>
    public static bool TryParse(string text, out ContinueOnError mode, out string error)
    {
        error = "";
        mode = ContinueOnError.None;
        switch (text.Trim().ToLowerInvariant())
        {
            case "none" or "0" or "false": return true;
            case "read": mode = ContinueOnError.Read; return true;
            case "write": mode = ContinueOnError.Write; return true;
            case "io": mode = ContinueOnError.Io; return true;
            case "verify": mode = ContinueOnError.Verify; return true;
            case "all" or "1" or "true": mode = ContinueOnError.All; return true;
            default:
                error = $"--continue_on_error={text}: use none, read, write, io, verify or all (for example --continue_on_error=io to count I/O errors and go on)";
                return false;
        }
    }
}
