namespace Orion.Perf.Gate;

/// <summary>
/// <c>orion-perf compare BASELINE.json CURRENT.json [--tolerance metric=pct ...]</c>: judges a run against a stored
/// one, per direction present in both, and prints a table. Exit codes: 0 nothing regressed, 3 a regression, 2 bad
/// input. Absolute numbers are only comparable on the same machine: for CI on shared runners use <c>gate</c>.
/// </summary>
internal static class CompareCommand
{
    public const string Usage =
        "usage: orion-perf compare BASELINE.json CURRENT.json [--tolerance METRIC=PCT[,METRIC=PCT...]]...\n" +
        "  judges CURRENT against BASELINE (orion-perf or fio --output-format=json reports), per direction in both:\n" +
        "    iops   lower is worse,  default tolerance 10%\n" +
        "    p50    higher is worse, default 15%   (clat)\n" +
        "    p99    higher is worse, default 30%   (not judged below 10,000 samples in either file)\n" +
        "    p99.9  higher is worse, default 50%   (not judged below 100,000 samples in either file)\n" +
        "  exit status: 0 nothing regressed, 3 a regression, 2 bad input";

    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        var tolerances = new GateTolerances();
        var files = new List<string>();
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (a is "-h" or "--help") { stdout.WriteLine(Usage); return 0; }
            if (a == "--tolerance" || a.StartsWith("--tolerance=", StringComparison.Ordinal))
            {
                string? value = a.Length > "--tolerance".Length ? a["--tolerance=".Length..] : i + 1 < args.Count ? args[++i] : null;
                if (value is null) return Bad(stderr, "--tolerance needs a value such as iops=10");
                if (!tolerances.TryApply(value, out var error)) return Bad(stderr, error);
            }
            else if (a.StartsWith('-') && a.Length > 1) return Bad(stderr, $"unknown option '{a}'");
            else files.Add(a);
        }
        if (files.Count != 2) return Bad(stderr, $"expected two files, BASELINE.json and CURRENT.json; got {files.Count}");
        if (!PerfJson.TryRead(files[0], out var baseline, out var e1)) return Bad(stderr, e1);
        if (!PerfJson.TryRead(files[1], out var current, out var e2)) return Bad(stderr, e2);
        if (GateJudge.CommonDirections(baseline, current).Count == 0)
            return Bad(stderr, $"no common directions: {files[0]} has {string.Join(", ", baseline.Keys)}, {files[1]} has {string.Join(", ", current.Keys)}");
        var rows = GateJudge.JudgeAll(baseline, current, tolerances, GateMetrics.All);
        GateJudge.WriteTable(stdout, rows, "baseline", "current");
        return GateJudge.ExitCode(rows);
    }

    private static int Bad(TextWriter stderr, string message)
    {
        stderr.WriteLine($"orion-perf compare: {message}");
        stderr.WriteLine("run 'orion-perf compare --help' for usage");
        return GateJudge.BadInput;
    }
}
