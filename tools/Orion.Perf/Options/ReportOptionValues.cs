using System.Globalization;

namespace Orion.Perf.Options;

/// <summary>Value parsers of the report options (percentile_list, unified_rw_reporting, kb_base), as fio reads them.</summary>
internal static class ReportOptionValues
{
    /// <summary>fio's percentile_list: up to 20 numbers from 0 to 100 separated by ':', reported in ascending order.</summary>
    public static IReadOnlyList<double> Percentiles(string v)
    {
        var list = new List<double>();
        foreach (var part in v.Split(':'))
        {
            if (!double.TryParse(part.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double p) || !double.IsFinite(p))
                throw new OptionValueException($"--percentile_list={v}: '{part}' is not a number; give percentiles separated by ':' (for example 50:99:99.9)");
            if (p is < 0 or > 100)
                throw new OptionValueException($"--percentile_list={v}: {part} is outside 0 to 100");
            list.Add(p);
        }
        if (list.Count > JobOptions.MaxPercentiles)
            throw new OptionValueException($"--percentile_list={v}: at most {JobOptions.MaxPercentiles.ToString(CultureInfo.InvariantCulture)} percentiles, as in fio");
        // fio stops its list at the first 0 and sorts the rest.
        int zero = list.IndexOf(0);
        if (zero >= 0) list.RemoveRange(zero, list.Count - zero);
        list.Sort();
        return list;
    }

    /// <summary>fio's unified_rw_reporting values: none/0, mixed/1, both/2.</summary>
    public static UnifiedRwReporting Unified(string v) => v.Trim().ToLowerInvariant() switch
    {
        "none" or "0" => UnifiedRwReporting.None,
        "mixed" or "1" => UnifiedRwReporting.Mixed,
        "both" or "2" => UnifiedRwReporting.Both,
        _ => throw new OptionValueException($"--unified_rw_reporting={v}: use none, mixed or both (or 0, 1, 2 as in fio)"),
    };

    /// <summary>fio's kb_base: 1024 or 1000.</summary>
    public static int KbBase(string v) => v.Trim() switch
    {
        "1024" => 1024,
        "1000" => 1000,
        _ => throw new OptionValueException($"--kb_base={v}: use 1024 (binary units, the default) or 1000 (SI units)"),
    };
}
