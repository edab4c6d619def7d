namespace Orion.Perf.Options;

/// <summary>How results are printed, as fio's <c>--output-format</c>.</summary>
public enum OutputFormat
{
    /// <summary>fio's human-readable report (<c>normal</c>).</summary>
    Normal,
    /// <summary>fio's JSON layout (<c>json</c>).</summary>
    Json,
    /// <summary>fio's JSON layout plus the completion-latency histogram bins (<c>json+</c>).</summary>
    JsonPlus,
}

/// <summary>fio names for <see cref="OutputFormat"/>.</summary>
public static class OutputFormatExtensions
{
    /// <summary>The name fio uses (<c>normal</c>, <c>json</c>, <c>json+</c>).</summary>
    public static string FioName(this OutputFormat format) => format switch
    {
        OutputFormat.Normal => "normal",
        OutputFormat.Json => "json",
        OutputFormat.JsonPlus => "json+",
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, null),
    };

    /// <summary>Parses a fio <c>--output-format</c> value.</summary>
    public static bool TryParse(string text, out OutputFormat format, out string error)
    {
        error = "";
        format = default;
        switch (text.Trim().ToLowerInvariant())
        {
            case "normal": format = OutputFormat.Normal; return true;
            case "json": format = OutputFormat.Json; return true;
            case "json+": format = OutputFormat.JsonPlus; return true;
            case "terse":
                error = $"--output-format={text}: the terse format is not supported yet; use normal, json or json+";
                return false;
            default:
                error = text.Contains(',')
                    ? $"--output-format={text}: only one output format at a time is supported yet; use normal, json or json+"
                    : $"--output-format={text}: unknown format; use normal, json or json+";
                return false;
        }
    }
}
