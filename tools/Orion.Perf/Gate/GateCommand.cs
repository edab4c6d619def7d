using System.Globalization;
using System.Text;
using Orion.Perf.Options;
using Orion.Perf.Reporting;
using Orion.Perf.Workload;

namespace Orion.Perf.Gate;

/// <summary>
/// <c>orion-perf gate [--reference "ARGS"] [--candidate "ARGS"] [--rounds N] [--tolerance ...]</c>: runs the reference
/// and the candidate workloads interleaved (A B A B ..., after one short unrecorded warm-up of each) in this process,
/// takes each side's per-round median of every metric, and judges the candidate against the reference. Because both
/// sides run on the same machine minutes apart and interleaved, a shared CI runner's speed cancels out of the ratios,
/// which absolute baselines cannot offer. Exit codes as <see cref="CompareCommand"/>: 0 pass, 3 regression, 2 bad input.
/// </summary>
internal static class GateCommand
{
    /// <summary>The workload both sides run unless told otherwise: a short 4k random read of a null device at iodepth 8.</summary>
    public const string DefaultWorkload = "--rw=randread --bs=4k --iodepth=8 --runtime=1 --time_based --device=null:64M";

    /// <summary>Metrics the gate judges (p99.9 needs more samples than a short CI run gives; compare judges it).</summary>
    private static readonly GateMetric[] Judged = [GateMetric.Iops, GateMetric.P50, GateMetric.P99];

    public const string Usage =
        "usage: orion-perf gate [--reference \"ARGS\"] [--candidate \"ARGS\"] [--rounds N] [--tolerance METRIC=PCT[,...]]...\n" +
        "  runs the reference and candidate orion-perf workloads interleaved (A B A B ..., N rounds, default 3) and judges\n" +
        "  candidate/reference ratios of the per-round medians: iops >= 1 - tol (default 10%), p50 <= 1 + tol (15%),\n" +
        "  p99 <= 1 + tol (30%; not judged below 10,000 samples per run)\n" +
        "  default workload for both: " + DefaultWorkload + "\n" +
        "  exit status: 0 nothing regressed, 3 a regression, 2 bad input";

    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, CancellationToken cancel = default)
    {
        var tolerances = new GateTolerances();
        string referenceText = DefaultWorkload, candidateText = DefaultWorkload;
        int rounds = 3;
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (a is "-h" or "--help") { stdout.WriteLine(Usage); return 0; }
            int eq = a.IndexOf('=');
            string name = a.StartsWith("--", StringComparison.Ordinal) && eq > 0 ? a[..eq] : a;
            if (name is not ("--reference" or "--candidate" or "--rounds" or "--tolerance"))
                return Bad(stderr, $"unknown argument '{a}'");
            string? value = eq > 0 && name != a ? a[(eq + 1)..] : i + 1 < args.Count ? args[++i] : null;
            if (value is null) return Bad(stderr, $"{name} needs a value");
            switch (name)
            {
                case "--reference": referenceText = value; break;
                case "--candidate": candidateText = value; break;
                case "--rounds":
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out rounds) || rounds is < 1 or > 100)
                        return Bad(stderr, $"--rounds '{value}': use a whole number from 1 to 100");
                    break;
                default:
                    if (!tolerances.TryApply(value, out var error)) return Bad(stderr, error);
                    break;
            }
        }
        if (!TryParseWorkload("--reference", referenceText, out var reference, out var e1)) return Bad(stderr, e1);
        if (!TryParseWorkload("--candidate", candidateText, out var candidate, out var e2)) return Bad(stderr, e2);

        stdout.WriteLine($"reference: {referenceText}");
        stdout.WriteLine($"candidate: {candidateText}");
        var refRuns = new List<Dictionary<string, DirectionMetrics>>();
        var candRuns = new List<Dictionary<string, DirectionMetrics>>();
        try
        {
            // JIT, page faults and CPU frequency settle in a short unrecorded run of each side, so round 1's
            // reference is not handicapped against its candidate.
            Execute(WarmUp(reference), cancel);
            Execute(WarmUp(candidate), cancel);
            for (int r = 1; r <= rounds; r++)
            {
                var a = Execute(reference, cancel);
                var b = Execute(candidate, cancel);
                refRuns.Add(a);
                candRuns.Add(b);
                stdout.WriteLine($"round {r}: reference {Brief(a)} | candidate {Brief(b)}");
            }
        }
        catch (Exception e) when (e is ArgumentException or FormatException or NotSupportedException or InvalidOperationException
                                       or InsufficientMemoryException or TimeoutException or IOException or OperationCanceledException)
        {
            return Bad(stderr, $"a workload failed to run: {e.Message}");
        }
        var refMedian = Medians(refRuns);
        var candMedian = Medians(candRuns);
        if (GateJudge.CommonDirections(refMedian, candMedian).Count == 0)
            return Bad(stderr, $"no common directions: the reference does {string.Join(", ", refMedian.Keys)}, the candidate {string.Join(", ", candMedian.Keys)}");
        var rows = GateJudge.JudgeAll(refMedian, candMedian, tolerances, Judged);
        stdout.WriteLine($"medians of {rounds} interleaved round{(rounds == 1 ? "" : "s")}:");
        GateJudge.WriteTable(stdout, rows, "reference", "candidate");
        return GateJudge.ExitCode(rows);
    }

    private static bool TryParseWorkload(string what, string text, out JobOptions options, out string error)
    {
        options = null!;
        error = "";
        if (!TrySplit(text, out var argv)) { error = $"{what}: unbalanced quotes in \"{text}\""; return false; }
        var outcome = JobOptionsParser.Parse(argv);
        if (outcome.Kind != ParseOutcomeKind.Success || outcome.Options is null)
        {
            error = outcome.Kind == ParseOutcomeKind.Error ? $"{what}: {outcome.Message}" : $"{what}: expected job options, not --help or --version";
            return false;
        }
        options = outcome.Options;
        return true;
    }

    private static JobOptions WarmUp(JobOptions o) =>
        o with { Runtime = TimeSpan.FromMilliseconds(150), TimeBased = true, RampTime = TimeSpan.Zero, NumberIos = null };

    private static Dictionary<string, DirectionMetrics> Execute(JobOptions options, CancellationToken cancel)
    {
        var result = JobExecution.Execute(options, status: null, cancel);
        if (result.Error != 0) throw new IOException($"the job on {result.Device} completed I/Os with errors");
        return FromResult(result);
    }

    /// <summary>The gated metrics of a finished job, the same values its JSON report would carry.</summary>
    internal static Dictionary<string, DirectionMetrics> FromResult(JobResult result)
    {
        var metrics = new Dictionary<string, DirectionMetrics>();
        double seconds = result.Runtime.TotalSeconds;
        foreach (var (name, d) in result.Directions)
        {
            if (!d.HasIo || seconds <= 0) continue;
            var lat = LatencySummary.From(d.ClatNs);
            metrics[name] = new DirectionMetrics(d.TotalIos / seconds, lat.ValueAt(50), lat.ValueAt(99), lat.ValueAt(99.9), lat.Count);
        }
        return metrics;
    }

    /// <summary>Per direction present in every round: the median of each metric; samples are the fewest of any round.</summary>
    internal static Dictionary<string, DirectionMetrics> Medians(IReadOnlyList<Dictionary<string, DirectionMetrics>> runs)
    {
        var medians = new Dictionary<string, DirectionMetrics>();
        if (runs.Count == 0) return medians;
        foreach (var dir in runs[0].Keys.Where(k => runs.All(r => r.ContainsKey(k))))
        {
            var all = runs.Select(r => r[dir]).ToList();
            medians[dir] = new DirectionMetrics(Median(all.Select(m => m.Iops)), Median(all.Select(m => m.P50Ns)),
                                                Median(all.Select(m => m.P99Ns)), Median(all.Select(m => m.P999Ns)), all.Min(m => m.Samples));
        }
        return medians;
    }

    internal static double Median(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        if (v.Length == 0) return double.NaN;
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }

    private static string Brief(Dictionary<string, DirectionMetrics> m) => string.Join(", ", m.Select(kv =>
        $"{kv.Key} {kv.Value.Iops.ToString("N0", CultureInfo.InvariantCulture)} IOPS p50 {GateJudge.FormatNs(kv.Value.P50Ns)} p99 {GateJudge.FormatNs(kv.Value.P99Ns)}"));

    /// <summary>Splits a command line on white space, honouring single and double quotes.</summary>
    internal static bool TrySplit(string text, out List<string> args)
    {
        args = [];
        var current = new StringBuilder();
        bool inToken = false;
        char quote = '\0';
        foreach (char c in text)
        {
            if (quote != '\0')
            {
                if (c == quote) quote = '\0';
                else current.Append(c);
            }
            else if (c is '"' or '\'') { quote = c; inToken = true; }
            else if (char.IsWhiteSpace(c))
            {
                if (inToken) { args.Add(current.ToString()); current.Clear(); inToken = false; }
            }
            else { current.Append(c); inToken = true; }
        }
        if (quote != '\0') return false;
        if (inToken) args.Add(current.ToString());
        return true;
    }

    private static int Bad(TextWriter stderr, string message)
    {
        stderr.WriteLine($"orion-perf gate: {message}");
        stderr.WriteLine("run 'orion-perf gate --help' for usage");
        return GateJudge.BadInput;
    }
}
