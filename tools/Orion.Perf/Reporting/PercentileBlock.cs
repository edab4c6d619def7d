using System.Globalization;
using System.Text;

namespace Orion.Perf.Reporting;

/// <summary>fio's <c>clat percentiles (nsec):</c> block, laid out exactly as fio's show_clat_percentiles.</summary>
internal static class PercentileBlock
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>
    /// Writes the block for the percentiles <paramref name="list"/>, with as many decimals as the most precise of them
    /// needs (fio's percentile_precision; its default list needs 2).
    /// </summary>
    public static void Write(TextWriter w, string label, LatencySummary lat, IReadOnlyList<double> list)
    {
        if (list.Count == 0) return;
        int precision = list.Max(p => { string t = p.ToString("R", Inv); int dot = t.IndexOf('.'); return dot < 0 ? 0 : t.Length - dot - 1; });
        var values = list.Select(lat.ValueAt).ToArray();
        long minv = values.Min(), maxv = values.Max();

        // fio picks the unit from the percentile values themselves, not from clat min/max.
        int scaleDown;
        long divisor;
        string unit;
        if (minv > 2_000_000 && maxv > 99_999_999) { scaleDown = 2; divisor = 1_000_000; unit = "msec"; }
        else if (minv > 2_000 && maxv > 99_999) { scaleDown = 1; divisor = 1_000; unit = "usec"; }
        else { scaleDown = 0; divisor = 1; unit = "nsec"; }

        long scaledMax = maxv / divisor;
        int timeWidth = Math.Max(5, scaledMax <= 0 ? 0 : (int)(Math.Log10(scaledMax) + 1));
        int perLine = (80 - 7) / (precision + 10 + timeWidth);

        var sb = new StringBuilder();
        sb.Append("    ").Append(label).Append(" percentiles (").Append(unit).Append("):\n     |");
        for (int j = 0; j < list.Count; j++)
        {
            if (j != 0 && j % perLine == 0) sb.Append("     |");
            bool last = j == list.Count - 1;
            long v = values[j];
            // fio rounds up each step down in unit.
            for (int i = 0; i < scaleDown; i++) v = (v + 999) / 1000;
            sb.Append(' ').Append(list[j].ToString("F" + precision, Inv).PadLeft(precision + 3))
              .Append("th=[").Append(v.ToString(Inv).PadLeft(timeWidth)).Append(']').Append(last ? '\n' : ',');
            if (last) break;
            if (j % perLine == perLine - 1) sb.Append('\n');
        }
        // Use the writer's newline so the block matches the other lines on every platform.
        w.Write(sb.ToString().Replace("\n", w.NewLine, StringComparison.Ordinal));
    }
}
