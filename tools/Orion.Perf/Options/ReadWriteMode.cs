namespace Orion.Perf.Options;

/// <summary>The I/O pattern, as fio's <c>rw</c>/<c>readwrite</c> option names it.</summary>
public enum ReadWriteMode
{
    /// <summary>Sequential reads (fio <c>read</c>).</summary>
    Read,
    /// <summary>Sequential writes (fio <c>write</c>).</summary>
    Write,
    /// <summary>Random reads (fio <c>randread</c>).</summary>
    RandRead,
    /// <summary>Random writes (fio <c>randwrite</c>).</summary>
    RandWrite,
    /// <summary>Mixed sequential reads and writes (fio <c>rw</c> or <c>readwrite</c>); the mix is <see cref="JobOptions.RwMixRead"/>.</summary>
    ReadWrite,
    /// <summary>Mixed random reads and writes (fio <c>randrw</c>); the mix is <see cref="JobOptions.RwMixRead"/>.</summary>
    RandRw,
    /// <summary>Sequential discards (fio <c>trim</c>).</summary>
    Trim,
    /// <summary>Random discards (fio <c>randtrim</c>).</summary>
    RandTrim,
}

/// <summary>fio names and properties of <see cref="ReadWriteMode"/>.</summary>
public static class ReadWriteModeExtensions
{
    /// <summary>The name fio prints for the mode (<c>randread</c>, <c>rw</c>, ...).</summary>
    public static string FioName(this ReadWriteMode mode) => mode switch
    {
        ReadWriteMode.Read => "read",
        ReadWriteMode.Write => "write",
        ReadWriteMode.RandRead => "randread",
        ReadWriteMode.RandWrite => "randwrite",
        ReadWriteMode.ReadWrite => "rw",
        ReadWriteMode.RandRw => "randrw",
        ReadWriteMode.Trim => "trim",
        ReadWriteMode.RandTrim => "randtrim",
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, null),
    };

    /// <summary>Whether offsets are random rather than sequential.</summary>
    public static bool IsRandom(this ReadWriteMode mode) => mode is ReadWriteMode.RandRead or ReadWriteMode.RandWrite or ReadWriteMode.RandRw or ReadWriteMode.RandTrim;

    /// <summary>Whether the mode mixes reads and writes (and so uses <see cref="JobOptions.RwMixRead"/>).</summary>
    public static bool IsMixed(this ReadWriteMode mode) => mode is ReadWriteMode.ReadWrite or ReadWriteMode.RandRw;

    /// <summary>Whether the mode issues any reads.</summary>
    public static bool HasReads(this ReadWriteMode mode) => mode is not (ReadWriteMode.Write or ReadWriteMode.RandWrite or ReadWriteMode.Trim or ReadWriteMode.RandTrim);

    /// <summary>Whether the mode discards (fio <c>trim</c>, <c>randtrim</c>).</summary>
    public static bool IsTrim(this ReadWriteMode mode) => mode is ReadWriteMode.Trim or ReadWriteMode.RandTrim;

    /// <summary>Whether the mode changes the device (writes or discards).</summary>
    public static bool HasWrites(this ReadWriteMode mode) => mode is not (ReadWriteMode.Read or ReadWriteMode.RandRead);

    /// <summary>Parses a fio <c>rw</c> value; <paramref name="error"/> explains a value fio knows but we do not support.</summary>
    public static bool TryParse(string text, out ReadWriteMode mode, out string error)
    {
        error = "";
        mode = default;
        string value = text.Trim().ToLowerInvariant();
        // fio's "randread:8" form (offset modifier) would silently change the pattern if we dropped it.
        if (value.Contains(':'))
        {
            error = $"--rw={text}: the ':N' offset modifier is not supported yet";
            return false;
        }
        switch (value)
        {
            case "read": mode = ReadWriteMode.Read; return true;
            case "write": mode = ReadWriteMode.Write; return true;
            case "randread": mode = ReadWriteMode.RandRead; return true;
            case "randwrite": mode = ReadWriteMode.RandWrite; return true;
            case "rw": case "readwrite": mode = ReadWriteMode.ReadWrite; return true;
            case "randrw": mode = ReadWriteMode.RandRw; return true;
            case "trim": mode = ReadWriteMode.Trim; return true;
            case "randtrim": mode = ReadWriteMode.RandTrim; return true;
            case "trimwrite": case "randtrimwrite":
                error = $"--rw={text}: trim-then-write workloads are not supported yet; use read, write, randread, randwrite, rw (readwrite), randrw, trim or randtrim";
                return false;
            default:
                error = $"--rw={text}: unknown I/O pattern; use read, write, randread, randwrite, rw (readwrite), randrw, trim or randtrim";
                return false;
        }
    }
}
