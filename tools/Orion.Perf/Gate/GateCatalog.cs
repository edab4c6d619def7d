using System.Globalization;

namespace Orion.Perf.Gate;

/// <summary>How a metric's change is measured and its tolerance read.</summary>
internal enum ChangeScale
{
    /// <summary>Candidate/baseline ratio (judged on logarithms); the tolerance is a percentage.</summary>
    Relative,
    /// <summary>Candidate − baseline in the metric's unit; the tolerance is an amount in that unit (a baseline may be 0).</summary>
    Absolute,
}

/// <summary>
/// One metric the gate can judge. <paramref name="PerDirection"/> metrics come from fio's <c>read</c>/<c>write</c>/
/// <c>trim</c> objects (any fio-shaped report); the others from orion-perf's <c>orion</c> section, per I/O of the job.
/// <paramref name="Counted"/>: from the engine's counters rather than a clock, so a noisy neighbour barely moves it.
/// </summary>
internal sealed record MetricSpec(string Name, bool PerDirection, bool Counted, ChangeScale Scale, bool HigherIsWorse,
                                  double DefaultTolerance, bool GatedByDefault, long MinSamples, string Unit, string Description)
{
    /// <summary>The tolerance as text: <c>5%</c> or <c>8 B/io</c>.</summary>
    public string FormatTolerance(double t) => Scale == ChangeScale.Relative
        ? (HigherIsWorse ? "+" : "-") + t.ToString("0.##", CultureInfo.InvariantCulture) + "%"
        : "+" + t.ToString("0.###", CultureInfo.InvariantCulture) + " " + Unit;
}

/// <summary>
/// The metrics <c>orion-perf gate</c> knows and their default tolerances. Timed tolerances are what a change must
/// exceed before it counts as a regression (the confidence interval, not the tolerance, keeps noise from failing a
/// gate); counted tolerances are tight because those figures are exact: one extra 24-byte allocation per I/O is
/// +24 B/io, one extra kick per batch of 8 is +0.125 kicks/io.
/// </summary>
internal static class GateCatalog
{
    public static readonly IReadOnlyList<MetricSpec> All =
    [
        new("iops", true, false, ChangeScale.Relative, false, 5, true, 0, "IOPS", "I/Os per second (lower is worse)"),
        new("p50", true, false, ChangeScale.Relative, true, 5, true, 0, "ns", "median completion latency, clat (higher is worse)"),
        new("p99", true, false, ChangeScale.Relative, true, 10, true, 10_000, "ns", "99th percentile clat; judged from 10,000 samples per run"),
        new("p99.9", true, false, ChangeScale.Relative, true, 20, true, 100_000, "ns", "99.9th percentile clat; judged from 100,000 samples per run"),
        new("cpu", false, true, ChangeScale.Relative, true, 10, true, 0, "ns/io",
            "process CPU time per I/O (orion.cpu_ns_per_io); a polling reactor spins while it waits, so this follows wall time: judged as a ratio"),
        new("alloc", false, true, ChangeScale.Absolute, true, 8, true, 0, "B/io", "managed bytes allocated per I/O (orion.allocated_bytes_per_io)"),
        new("kicks", false, true, ChangeScale.Absolute, true, 0.01, true, 0, "kicks/io", "doorbells rung per I/O (orion.queues[].kicks)"),
        new("syscalls", false, true, ChangeScale.Absolute, true, 0.01, true, 0, "syscalls/io",
            "the reactor's counted system calls per I/O: kicks and sleeps (orion.queues[].syscalls)"),
        new("polls", false, true, ChangeScale.Relative, true, 50, false, 0, "polls/io",
            "completion polls per I/O (orion.queues[].polls); idle spinning makes it follow latency, so gated only when asked"),
    ];

    public static MetricSpec? Find(string name) =>
        All.FirstOrDefault(m => string.Equals(m.Name, name.Trim(), StringComparison.OrdinalIgnoreCase))
        ?? (name.Trim().ToLowerInvariant() switch { "p999" => Find("p99.9"), "median" => Find("p50"), _ => null });

    /// <summary>The directions of fio's report, in its order.</summary>
    public static readonly string[] Directions = ["read", "write", "trim"];
}

/// <summary>Which metrics a gate judges and each one's tolerance: defaults, <c>--tolerance</c> and <c>--metrics</c>.</summary>
internal sealed class GateLimits
{
    private readonly Dictionary<string, double> _tolerance = GateCatalog.All.ToDictionary(m => m.Name, m => m.DefaultTolerance);
    private HashSet<string> _gated = GateCatalog.All.Where(m => m.GatedByDefault).Select(m => m.Name).ToHashSet();

    public double this[MetricSpec m] => _tolerance[m.Name];

    public bool IsGated(MetricSpec m) => _gated.Contains(m.Name);

    /// <summary>The judged metrics, in catalogue order.</summary>
    public IEnumerable<MetricSpec> Gated => GateCatalog.All.Where(IsGated);

    private static string Names => string.Join(", ", GateCatalog.All.Select(m => m.Name));

    /// <summary>Applies <c>--tolerance NAME=VALUE[,...]</c>: a percentage for relative metrics, an amount per I/O for counted ones.</summary>
    public bool TryApplyTolerances(string spec, out string error)
    {
        error = "";
        foreach (var item in spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = item.IndexOf('=');
            var m = eq > 0 ? GateCatalog.Find(item[..eq]) : null;
            if (m is null)
            {
                error = $"--tolerance '{item}': expected NAME=VALUE with NAME one of {Names} (for example iops=5 or alloc=8)";
                return false;
            }
            string text = item[(eq + 1)..].Trim();
            bool percentSign = text.EndsWith('%');
            if (!double.TryParse(text.TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v) || v < 0
                || (m.Scale == ChangeScale.Relative && !m.HigherIsWorse && v >= 100) || (m.Scale == ChangeScale.Absolute && percentSign))
            {
                error = m.Scale == ChangeScale.Absolute
                    ? $"--tolerance '{item}': {m.Name} is counted; its tolerance is an amount of {m.Unit} of 0 or more, not a percentage (for example {m.Name}={m.DefaultTolerance.ToString(CultureInfo.InvariantCulture)})"
                    : m.HigherIsWorse
                        ? $"--tolerance '{item}': {m.Name}'s tolerance is the rise allowed, a percentage of 0 or more (for example {m.Name}={m.DefaultTolerance.ToString(CultureInfo.InvariantCulture)})"
                        : $"--tolerance '{item}': {m.Name}'s tolerance is the drop allowed, a percentage from 0 to below 100 (for example {m.Name}=5)";
                return false;
            }
            _tolerance[m.Name] = v;
        }
        return true;
    }

    /// <summary>Applies <c>--metrics NAME[,NAME...]</c>: exactly these are judged.</summary>
    public bool TrySelect(string spec, out string error)
    {
        error = "";
        var chosen = new HashSet<string>();
        foreach (var name in spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (GateCatalog.Find(name) is not { } m)
            {
                error = $"--metrics '{name}': not a metric; use some of {Names}";
                return false;
            }
            chosen.Add(m.Name);
        }
        if (chosen.Count == 0) { error = $"--metrics needs at least one of {Names}"; return false; }
        _gated = chosen;
        return true;
    }
}
