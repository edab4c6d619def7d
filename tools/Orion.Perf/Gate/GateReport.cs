using System.Globalization;

namespace Orion.Perf.Gate;

/// <summary>Everything a finished gate reports, whatever the format.</summary>
internal sealed record GateReport(
    GateOutcome Outcome,
    IReadOnlyList<MetricResult> Results,
    int BaselineRounds,
    int CandidateRounds,
    bool Paired,
    string BaselineLabel,
    string CandidateCommand,
    ulong Seed,
    double Confidence,
    string? Failure,
    string StopReason,
    MachineInfo Machine,
    BuildInfo Build,
    TimeSpan Elapsed)
{
    public int ExitCode => GateVerdicts.ExitCode(Outcome);

    public string OutcomeWord => Outcome switch
    {
        GateOutcome.Pass => "PASS",
        GateOutcome.Regressed => "REGRESSED",
        GateOutcome.Undecided => "UNDECIDED",
        _ => "FAILED",
    };

    /// <summary>One sentence on the outcome, for a CI log or a step summary.</summary>
    public string Summary => Outcome switch
    {
        GateOutcome.Pass => $"every judged metric is within its tolerance ({Count(Verdict.Pass)} pass, {Count(Verdict.NotJudged)} not judged)",
        GateOutcome.Regressed => $"{Count(Verdict.Regressed)} metric(s) regressed beyond tolerance: {string.Join(", ", Named(Verdict.Regressed))}",
        GateOutcome.Undecided => $"no regression proven, but {string.Join(", ", Named(Verdict.Undecided))} undecided when the rounds ran out ({StopReason})",
        _ => Failure ?? "nothing could be judged: no metric is reported by both sides",
    };

    /// <summary>How the intervals were made, reported so anyone can reproduce them.</summary>
    public string Method =>
        $"{(Confidence * 100).ToString("0.#", CultureInfo.InvariantCulture)}% percentile-bootstrap intervals ({GateStatistics.Resamples} resamples, " +
        $"seed {Seed.ToString(CultureInfo.InvariantCulture)}) over {(Paired ? "paired, interleaved rounds in randomised order" : "rounds of each side (stored baseline: unpaired)")}";

    private int Count(Verdict v) => Results.Count(r => r.Verdict == v);

    private IEnumerable<string> Named(Verdict v) => Results.Where(r => r.Verdict == v).Select(r => r.Name);

    /// <summary>A metric's value for people: IOPS with separators, latencies as ns/us/ms, counts per I/O with three decimals.</summary>
    public static string Value(MetricSpec m, double v) => !double.IsFinite(v) ? "-"
        : m.Name == "iops" ? v.ToString("N0", CultureInfo.InvariantCulture)
        : m.Unit == "ns" ? GateJudge.FormatNs(v)
        : m.Name == "cpu" ? GateJudge.FormatNs(v) + "/io"
        : v.ToString("0.###", CultureInfo.InvariantCulture) + " " + m.Unit;

    /// <summary>The change's point estimate: <c>+3.1%</c> (relative) or <c>+24 B/io</c> (absolute).</summary>
    public static string Change(MetricResult r, double v) => r.Change is null ? "-" : r.Spec.Scale == ChangeScale.Relative
        ? ((v - 1) * 100).ToString("+0.0;-0.0;0.0", CultureInfo.InvariantCulture) + "%"
        : v.ToString("+0.###;-0.###;0", CultureInfo.InvariantCulture) + " " + r.Spec.Unit;

    public static string Interval(MetricResult r) => r.Change is { } c ? $"[{Change(r, c.Low)}, {Change(r, c.High)}]" : "-";

    public static string Detectable(MetricResult r) => r.Detectable is double d
        ? "±" + d.ToString(r.Spec.Scale == ChangeScale.Relative ? "0.0" : "0.###", CultureInfo.InvariantCulture) + (r.Spec.Scale == ChangeScale.Relative ? "%" : " " + r.Spec.Unit)
        : "-";

    /// <summary>The rows as text cells: metric, baseline, candidate, change, interval, tolerance, detectable, verdict.</summary>
    public IEnumerable<string[]> Rows => Results.Select(r => new[]
    {
        r.Name, Value(r.Spec, r.BaselineMedian), Value(r.Spec, r.CandidateMedian), r.Change is { } c ? Change(r, c.Point) : "-",
        Interval(r), r.Spec.FormatTolerance(r.Tolerance), Detectable(r), r.Reason,
    });

    public string[] Header => ["metric", "baseline", "candidate", "change", $"{(Confidence * 100).ToString("0.#", CultureInfo.InvariantCulture)}% interval", "tolerance", "detectable", "verdict"];
}
