using System.Globalization;

namespace Orion.Perf.Gate;

/// <summary>One direction's gated values: IOPS, clat percentiles in nanoseconds, and the clat sample count.</summary>
internal sealed record DirectionMetrics(double Iops, double P50Ns, double P99Ns, double P999Ns, long Samples)
{
    public double Value(GateMetric m) => m switch
    {
        GateMetric.Iops => Iops,
        GateMetric.P50 => P50Ns,
        GateMetric.P99 => P99Ns,
        _ => P999Ns,
    };
}

internal enum GateVerdict
{
    Ok,
    Regressed,
    NotJudged,
}

/// <summary>One line of a gate's table.</summary>
internal sealed record GateRow(string Direction, GateMetric Metric, double Baseline, double Current, double TolerancePercent, GateVerdict Verdict, string Reason)
{
    /// <summary>Change from baseline to current in percent (positive: the value went up).</summary>
    public double ChangePercent => Baseline > 0 ? (Current - Baseline) * 100 / Baseline : double.NaN;
}

/// <summary>Judges metrics against tolerances and prints the table shared by <c>compare</c> and <c>gate</c>.</summary>
internal static class GateJudge
{
    /// <summary>Exit code when nothing regressed.</summary>
    public const int Pass = 0;
    /// <summary>Exit code for bad input: a missing or unreadable file, not an orion-perf/fio report, nothing to compare.</summary>
    public const int BadInput = 2;
    /// <summary>Exit code when a judged metric regressed beyond its tolerance.</summary>
    public const int Regression = 3;

    /// <summary>
    /// Judges <paramref name="metric"/>: IOPS regresses when current &lt; baseline × (1 − tol), a latency when
    /// current &gt; baseline × (1 + tol). A percentile with fewer than its floor of samples on either side is not judged.
    /// </summary>
    public static GateRow Judge(string direction, GateMetric metric, DirectionMetrics baseline, DirectionMetrics current, GateTolerances tolerances)
    {
        double b = baseline.Value(metric), c = current.Value(metric), tol = tolerances[metric];
        long floor = GateMetrics.MinSamples(metric);
        long fewest = Math.Min(baseline.Samples, current.Samples);
        if (GateMetrics.Percentile(metric) is not null && fewest < Math.Max(1, floor))
            return new(direction, metric, b, c, tol, GateVerdict.NotJudged,
                $"not judged: too few samples ({fewest.ToString("N0", CultureInfo.InvariantCulture)} < {Math.Max(1, floor).ToString("N0", CultureInfo.InvariantCulture)})");
        if (!double.IsFinite(b) || !double.IsFinite(c) || b <= 0)
            return new(direction, metric, b, c, tol, GateVerdict.NotJudged, "not judged: no baseline value");
        bool regressed = GateMetrics.HigherIsWorse(metric) ? c > b * (1 + tol / 100) : c < b * (1 - tol / 100);
        return new(direction, metric, b, c, tol, regressed ? GateVerdict.Regressed : GateVerdict.Ok, regressed ? "REGRESSED" : "ok");
    }

    /// <summary>Every metric of every direction present on both sides, in read, write, trim order.</summary>
    public static List<GateRow> JudgeAll(IReadOnlyDictionary<string, DirectionMetrics> baseline, IReadOnlyDictionary<string, DirectionMetrics> current,
                                         GateTolerances tolerances, IReadOnlyList<GateMetric> metrics)
    {
        var rows = new List<GateRow>();
        foreach (var dir in CommonDirections(baseline, current))
            foreach (var m in metrics)
                rows.Add(Judge(dir, m, baseline[dir], current[dir], tolerances));
        return rows;
    }

    public static List<string> CommonDirections(IReadOnlyDictionary<string, DirectionMetrics> a, IReadOnlyDictionary<string, DirectionMetrics> b) =>
        new[] { "read", "write", "trim" }.Where(d => a.ContainsKey(d) && b.ContainsKey(d)).ToList();

    public static int ExitCode(IEnumerable<GateRow> rows) => rows.Any(r => r.Verdict == GateVerdict.Regressed) ? Regression : Pass;

    /// <summary>The table: metric, baseline, current, change %, tolerance, verdict; then a one-line summary.</summary>
    public static void WriteTable(TextWriter w, IReadOnlyList<GateRow> rows, string baselineTitle, string currentTitle)
    {
        var inv = CultureInfo.InvariantCulture;
        static string Value(GateMetric m, double v) => !double.IsFinite(v) ? "-"
            : m == GateMetric.Iops ? v.ToString("N0", CultureInfo.InvariantCulture)
            : FormatNs(v);
        var lines = rows.Select(r => new[]
        {
            $"{r.Direction} {GateMetrics.Name(r.Metric)}",
            Value(r.Metric, r.Baseline),
            Value(r.Metric, r.Current),
            double.IsFinite(r.ChangePercent) ? r.ChangePercent.ToString("+0.0;-0.0;0.0", inv) + "%" : "-",
            (GateMetrics.HigherIsWorse(r.Metric) ? "+" : "-") + r.TolerancePercent.ToString("0.#", inv) + "%",
            r.Reason,
        }).ToList();
        string[] header = ["metric", baselineTitle, currentTitle, "change", "tolerance", "verdict"];
        var widths = header.Select((h, i) => Math.Max(h.Length, lines.Count == 0 ? 0 : lines.Max(l => l[i].Length))).ToArray();
        string Line(string[] cells) => string.Join("  ", cells.Select((c, i) => i is 0 or 5 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))).TrimEnd();
        w.WriteLine(Line(header));
        foreach (var l in lines) w.WriteLine(Line(l));
        int regressed = rows.Count(r => r.Verdict == GateVerdict.Regressed);
        int notJudged = rows.Count(r => r.Verdict == GateVerdict.NotJudged);
        int ok = rows.Count(r => r.Verdict == GateVerdict.Ok);
        w.WriteLine(regressed > 0
            ? $"FAIL: {regressed} regressed, {ok} ok, {notJudged} not judged"
            : $"PASS: {ok} ok, {notJudged} not judged");
    }

    /// <summary>Latency for people: <c>812ns</c>, <c>20.3us</c>, <c>1.25ms</c>.</summary>
    public static string FormatNs(double ns)
    {
        var inv = CultureInfo.InvariantCulture;
        return ns < 1_000 ? ns.ToString("0", inv) + "ns"
             : ns < 1_000_000 ? (ns / 1e3).ToString("0.0#", inv) + "us"
             : ns < 1e9 ? (ns / 1e6).ToString("0.0#", inv) + "ms"
             : (ns / 1e9).ToString("0.0#", inv) + "s";
    }
}
