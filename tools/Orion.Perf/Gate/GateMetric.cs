using System.Globalization;

namespace Orion.Perf.Gate;

/// <summary>What a regression gate judges, per direction.</summary>
internal enum GateMetric
{
    /// <summary>I/Os per second: lower is worse.</summary>
    Iops,
    /// <summary>Median completion latency: higher is worse.</summary>
    P50,
    /// <summary>99th percentile completion latency: higher is worse; needs 10,000 samples.</summary>
    P99,
    /// <summary>99.9th percentile completion latency: higher is worse; needs 100,000 samples.</summary>
    P999,
}

/// <summary>
/// Names, directions, default tolerances and sample-count floors of the gated metrics. A percentile estimated from
/// fewer samples than its floor is mostly the few slowest I/Os of that run (at n = 100, p99 is the maximum), so it is
/// reported as not judged rather than failed: a gate that flags noise gets ignored.
/// </summary>
internal static class GateMetrics
{
    public static readonly GateMetric[] All = [GateMetric.Iops, GateMetric.P50, GateMetric.P99, GateMetric.P999];

    public static string Name(GateMetric m) => m switch
    {
        GateMetric.Iops => "iops",
        GateMetric.P50 => "p50",
        GateMetric.P99 => "p99",
        _ => "p99.9",
    };

    /// <summary>fio's key under <c>clat_ns.percentile</c>; null for IOPS.</summary>
    public static double? Percentile(GateMetric m) => m switch
    {
        GateMetric.P50 => 50,
        GateMetric.P99 => 99,
        GateMetric.P999 => 99.9,
        _ => null,
    };

    public static bool HigherIsWorse(GateMetric m) => m != GateMetric.Iops;

    /// <summary>Samples each side needs before the metric is judged.</summary>
    public static long MinSamples(GateMetric m) => m switch
    {
        GateMetric.P99 => 10_000,
        GateMetric.P999 => 100_000,
        _ => 0,
    };

    /// <summary>Default tolerances in percent: tails are noisier than the median, the median than throughput.</summary>
    public static double DefaultTolerancePercent(GateMetric m) => m switch
    {
        GateMetric.Iops => 10,
        GateMetric.P50 => 15,
        GateMetric.P99 => 30,
        _ => 50,
    };

    public static bool TryParse(string text, out GateMetric metric)
    {
        switch (text.Trim().ToLowerInvariant())
        {
            case "iops": metric = GateMetric.Iops; return true;
            case "p50" or "median": metric = GateMetric.P50; return true;
            case "p99": metric = GateMetric.P99; return true;
            case "p99.9" or "p999": metric = GateMetric.P999; return true;
            default: metric = default; return false;
        }
    }
}

/// <summary>Per-metric tolerances in percent, from defaults and <c>--tolerance metric=pct[,metric=pct...]</c>.</summary>
internal sealed class GateTolerances
{
    private readonly double[] _percent = GateMetrics.All.Select(GateMetrics.DefaultTolerancePercent).ToArray();

    public double this[GateMetric m] => _percent[(int)m];

    /// <summary>Applies one <c>--tolerance</c> value; on failure <paramref name="error"/> says why.</summary>
    public bool TryApply(string spec, out string error)
    {
        error = "";
        foreach (var item in spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = item.IndexOf('=');
            if (eq <= 0 || !GateMetrics.TryParse(item[..eq], out var metric))
            {
                error = $"--tolerance '{item}': expected METRIC=PERCENT with METRIC one of iops, p50, p99, p99.9 (for example iops=10 or p99=30)";
                return false;
            }
            string value = item[(eq + 1)..].Trim().TrimEnd('%');
            if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double pct) || !double.IsFinite(pct) || pct < 0
                || (metric == GateMetric.Iops && pct >= 100))
            {
                error = metric == GateMetric.Iops
                    ? $"--tolerance '{item}': an IOPS tolerance is a percentage from 0 to below 100 (the drop allowed)"
                    : $"--tolerance '{item}': a latency tolerance is a percentage of 0 or more (the rise allowed)";
                return false;
            }
            _percent[(int)metric] = pct;
        }
        return true;
    }
}
