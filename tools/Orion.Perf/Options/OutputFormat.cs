namespace Orion.Perf.Options;

/// <summary>How results are printed, as fio's <c>--output-format</c>: one format or several (<c>json,normal</c>).</summary>
[Flags]
public enum OutputFormat
{
    /// <summary>fio's human-readable report (<c>normal</c>).</summary>
    Normal = 1,
    /// <summary>fio's JSON layout (<c>json</c>).</summary>
    Json = 2,
    /// <summary>fio's JSON layout plus the latency histogram bins (<c>json+</c>; includes <see cref="Json"/>).</summary>
    JsonPlus = Json | 4,
    /// <summary>fio's terse (version 3) line per job (<c>terse</c>, <c>minimal</c>, <c>csv</c>, or <c>--minimal</c>).</summary>
    Terse = 8,
}

/// <summary>fio names for <see cref="OutputFormat"/>.</summary>
public static class OutputFormatExtensions
{
    private const string Hint = "use normal, json, json+ or terse, or several joined by commas (for example json,normal)";

    /// <summary>The name fio uses (<c>normal</c>, <c>json</c>, <c>json+</c>, <c>terse</c>), comma-joined for several.</summary>
    public static string FioName(this OutputFormat format)
    {
        var names = new List<string>();
        if (format.HasFlag(OutputFormat.Terse)) names.Add("terse");
        if (format.HasFlag(OutputFormat.JsonPlus)) names.Add("json+");
        else if (format.HasFlag(OutputFormat.Json)) names.Add("json");
        if (format.HasFlag(OutputFormat.Normal)) names.Add("normal");
        if (names.Count == 0 || (format & ~(OutputFormat.Normal | OutputFormat.JsonPlus | OutputFormat.Terse)) != 0)
            throw new ArgumentOutOfRangeException(nameof(format), format, null);
        return string.Join(",", names);
    }

    /// <summary>Parses a fio <c>--output-format</c> value: formats joined by commas, as fio's parse_output_format.</summary>
    public static bool TryParse(string text, out OutputFormat format, out string error)
    {
        error = "";
        format = 0;
        foreach (var part in text.Split(','))
        {
            switch (part.Trim().ToLowerInvariant())
            {
                case "normal": format |= OutputFormat.Normal; break;
                case "json": format |= OutputFormat.Json; break;
                case "json+": format |= OutputFormat.JsonPlus; break;
                case "terse" or "minimal" or "csv": format |= OutputFormat.Terse; break;
                default:
                    error = $"--output-format={text}: unknown format '{part.Trim()}'; {Hint}";
                    format = 0;
                    return false;
            }
        }
        return true;
    }
}
