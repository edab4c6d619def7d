using System.Globalization;

namespace Orion.Perf.Gate;

/// <summary>A metric's verdict.</summary>
internal enum Verdict
{
    /// <summary>The whole confidence interval is within the tolerance.</summary>
    Pass,
    /// <summary>The whole confidence interval is beyond the tolerance.</summary>
    Regressed,
    /// <summary>The interval straddles the tolerance: more rounds (or less noise) would tell.</summary>
    Undecided,
    /// <summary>Not judged: missing on a side, too few samples for a percentile, a value that cannot be a ratio.</summary>
    NotJudged,
}

/// <summary>One judged metric: medians, the change with its interval, the tolerance and the verdict.</summary>
internal sealed record MetricResult(MetricSpec Spec, string? Direction, Verdict Verdict, double BaselineMedian, double CandidateMedian,
                                    ChangeInterval? Change, double Tolerance, string Reason)
{
    /// <summary><c>read p50</c> or <c>alloc</c>.</summary>
    public string Name => Direction is null ? Spec.Name : $"{Direction} {Spec.Name}";

    /// <summary>
    /// The smallest change this run could have told from no change: the interval's half-width (percent for a relative
    /// metric, the unit for an absolute one). A true change beyond tolerance + this is called regressed.
    /// </summary>
    public double? Detectable => Change is { } c ? (c.High - c.Low) / 2 * (Spec.Scale == ChangeScale.Relative ? 100 : 1) : null;
}

/// <summary>The whole gate's verdict, in order of precedence.</summary>
internal enum GateOutcome
{
    Pass,
    Regressed,
    Undecided,
    /// <summary>A side failed to run, or nothing could be judged: never a pass.</summary>
    Failed,
}

/// <summary>Turns rounds of samples into per-metric verdicts and the gate's outcome and exit status.</summary>
internal static class GateVerdicts
{
    /// <summary>Exit status: every judged metric passed.</summary>
    public const int PassExit = 0;
    /// <summary>Exit status: bad input, or a side failed to run (its exit status, no JSON, failed I/Os), or nothing to judge.</summary>
    public const int BadInputExit = 2;
    /// <summary>Exit status: a metric regressed.</summary>
    public const int RegressedExit = 3;
    /// <summary>Exit status: no regression proven but some metric still undecided when the rounds or the budget ran out.</summary>
    public const int UndecidedExit = 4;

    /// <summary>
    /// Rounds each side needs before a verdict. Below five the bootstrap median only asks whether every round agreed,
    /// which noise alone does 1 time in 2^n: at five, 1 in 32 for a metric that is pure noise.
    /// </summary>
    public const int MinRoundsToJudge = 5;

    public static int ExitCode(GateOutcome o) => o switch
    {
        GateOutcome.Pass => PassExit,
        GateOutcome.Regressed => RegressedExit,
        GateOutcome.Undecided => UndecidedExit,
        _ => BadInputExit,
    };

    /// <summary>Every gated metric present on either side, per direction where it has one.</summary>
    public static List<MetricResult> JudgeAll(IReadOnlyList<RoundSample> baseline, IReadOnlyList<RoundSample> candidate, bool paired,
                                              GateLimits limits, double confidence, ulong seed)
    {
        var results = new List<MetricResult>();
        int index = 0;
        foreach (var spec in limits.Gated)
        {
            string?[] dirs = spec.PerDirection ? [.. GateCatalog.Directions] : [null];
            foreach (var dir in dirs)
            {
                string key = RoundSample.Key(spec, dir);
                bool onBaseline = baseline.Any(s => s.Values.ContainsKey(key)), onCandidate = candidate.Any(s => s.Values.ContainsKey(key));
                if (!onBaseline && !onCandidate) continue;
                results.Add(Judge(spec, dir, baseline, candidate, paired, limits[spec], confidence, seed + (ulong)index++));
            }
        }
        return results;
    }

    public static MetricResult Judge(MetricSpec spec, string? dir, IReadOnlyList<RoundSample> baseline, IReadOnlyList<RoundSample> candidate,
                                     bool paired, double tolerance, double confidence, ulong seed)
    {
        string key = RoundSample.Key(spec, dir);
        var b = baseline.Select(s => s.Values.GetValueOrDefault(key, double.NaN)).ToArray();
        var c = candidate.Select(s => s.Values.GetValueOrDefault(key, double.NaN)).ToArray();
        double bm = Median(b), cm = Median(c);
        MetricResult Not(string why) => new(spec, dir, Verdict.NotJudged, bm, cm, null, tolerance, "not judged: " + why);
        if (b.Any(double.IsNaN)) return Not(b.All(double.IsNaN) ? "the baseline does not report it (fio, or an older build)" : "missing from some baseline rounds");
        if (c.Any(double.IsNaN)) return Not(c.All(double.IsNaN) ? "the candidate does not report it" : "missing from some candidate rounds");
        if (spec.MinSamples > 0 && dir is not null)
        {
            long fewest = baseline.Concat(candidate).Min(s => s.ClatSamples.GetValueOrDefault(dir));
            if (fewest < spec.MinSamples)
                return Not($"too few samples per run ({fewest.ToString("N0", CultureInfo.InvariantCulture)} < {spec.MinSamples.ToString("N0", CultureInfo.InvariantCulture)})");
        }
        if (spec.Scale == ChangeScale.Relative && b.Concat(c).Any(v => v <= 0)) return Not("a value of 0 or less has no ratio");
        if (b.Length < MinRoundsToJudge || c.Length < MinRoundsToJudge)
            return new(spec, dir, Verdict.Undecided, bm, cm, null, tolerance, $"undecided: needs {MinRoundsToJudge} rounds per side");
        var change = GateStatistics.Interval(b, c, paired, spec.Scale, confidence, seed);
        var (worseLow, worseHigh, limit) = Oriented(spec, change, tolerance);
        var verdict = worseLow > limit ? Verdict.Regressed : worseHigh <= limit ? Verdict.Pass : Verdict.Undecided;
        string reason = verdict switch
        {
            Verdict.Regressed => "REGRESSED",
            Verdict.Pass => "pass",
            _ => "undecided",
        };
        return new(spec, dir, verdict, bm, cm, change, tolerance, reason);
    }

    /// <summary>The interval's ends as "how much worse" (positive is worse) and the tolerance on the same scale.</summary>
    private static (double Low, double High, double Limit) Oriented(MetricSpec spec, ChangeInterval c, double tolerance)
    {
        if (spec.Scale == ChangeScale.Relative)
        {
            return spec.HigherIsWorse
                ? (Math.Log(c.Low), Math.Log(c.High), Math.Log(1 + tolerance / 100))
                : (-Math.Log(c.High), -Math.Log(c.Low), -Math.Log(1 - tolerance / 100));
        }
        return spec.HigherIsWorse ? (c.Low, c.High, tolerance) : (-c.High, -c.Low, tolerance);
    }

    /// <summary>The gate's outcome: failed if a side failed or nothing was judged, else regressed, undecided, pass in that order.</summary>
    public static GateOutcome Overall(IReadOnlyList<MetricResult> results, string? failure)
    {
        if (failure is not null || results.All(r => r.Verdict == Verdict.NotJudged)) return GateOutcome.Failed;
        if (results.Any(r => r.Verdict == Verdict.Regressed)) return GateOutcome.Regressed;
        if (results.Any(r => r.Verdict == Verdict.Undecided)) return GateOutcome.Undecided;
        return GateOutcome.Pass;
    }

    /// <summary>The median of the values present (NaN marks a round without the metric); NaN when none is.</summary>
    public static double Median(IReadOnlyList<double> values)
    {
        var v = values.Where(x => !double.IsNaN(x)).ToArray();
        return v.Length == 0 ? double.NaN : GateStatistics.Median(v);
    }
}
