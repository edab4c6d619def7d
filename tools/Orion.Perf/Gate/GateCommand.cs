using System.Diagnostics;
using System.Globalization;

namespace Orion.Perf.Gate;

/// <summary>
/// <c>orion-perf gate --baseline CMD --candidate CMD</c>: runs two commands that print fio-shaped JSON (two orion-perf
/// builds, fio, a user's own benchmark) round after round, interleaved in randomised order after an unrecorded
/// warm-up of each, and judges every metric by a bootstrap confidence interval of the candidate/baseline change
/// against its tolerance: pass, regressed or undecided (<see cref="GateVerdicts"/>). With <c>--max-rounds</c> or
/// <c>--budget</c> it adds rounds while the gate is undecided and stops as soon as it is decided. <c>--save NAME</c>
/// stores the candidate's rounds with the machine and build; <c>--against NAME</c> judges against stored rounds and
/// refuses a different machine. Exit: 0 pass, 3 regressed, 4 undecided, 2 bad input or a side that failed to run.
/// </summary>
internal static class GateCommand
{
    public const string Usage =
        "usage: orion-perf gate --baseline CMD --candidate CMD [options]\n" +
        "       orion-perf gate --candidate CMD --against NAME [options]      (judge against stored rounds)\n" +
        "       orion-perf gate --candidate CMD --save NAME [options]         (record the candidate's rounds)\n" +
        "  CMD is a shell command printing fio-shaped JSON, e.g. 'dotnet orion-perf.dll --rw=randread --runtime=1 --time_based\n" +
        "  --output-format=json' or 'fio job.fio --output-format=json'. A side fails (the gate exits 2, never 0) when it exits\n" +
        "  non-zero, times out, prints no JSON or reports a failed I/O.\n" +
        "  --rounds N          rounds before the first verdict (default 5)\n" +
        "  --max-rounds N      add rounds while undecided, up to N (default: --rounds; 50 with --budget)\n" +
        "  --budget TIME       stop adding rounds when the next would end after TIME (90, 90s, 5m)\n" +
        "  --warmup N          unrecorded runs of each side first (default 1)\n" +
        "  --tolerance NAME=V  per metric; a percentage for iops (drop), p50, p99, p99.9, cpu, polls (rise); an amount per\n" +
        "                      I/O for the counted alloc (bytes), kicks, syscalls (default iops=5,p50=5,p99=10,p99.9=20,cpu=10,\n" +
        "                      alloc=8,kicks=0.01,syscalls=0.01,polls=50)\n" +
        "  --metrics LIST      judge only these (default all but polls); counted ones come from orion-perf's \"orion\" section\n" +
        "  --confidence PCT    of the bootstrap intervals (default 95)     --seed N   bootstrap and order seed (default 1)\n" +
        "  --timeout TIME      for one run of a side (default 10m)\n" +
        "  --save NAME / --against NAME / --store DIR   stored baselines, DIR/NAME.gate.json (default DIR: perf/baselines)\n" +
        "  --junit FILE  --markdown FILE  --json FILE   the verdict for CI (one JUnit test case per metric)\n" +
        "  verdicts: pass (the whole interval within tolerance), regressed (the whole interval beyond), undecided (across)\n" +
        "  exit status: 0 pass, 3 regressed, 4 undecided within the rounds/budget, 2 bad input or a side failed to run";

    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, CancellationToken cancel = default)
    {
        if (!GateOptions.TryParse(args, out var o, out string error)) return Bad(stderr, error);
        if (o.Help) { stdout.WriteLine(Usage); return 0; }
        var machine = MachineInfo.Current();
        StoredBaseline? stored = null;
        if (o.Against is { } name)
        {
            if (!BaselineStore.TryLoad(o.Store, name, out stored, out error)) return Bad(stderr, error);
            var diff = stored.Machine.Differences(machine);
            if (diff.Count > 0)
                return Bad(stderr, $"--against {name}: refusing to judge against rounds recorded on a different machine ({string.Join("; ", diff)}); " +
                                   "timed samples only compare on the machine that made them: record a baseline here with --save, or gate two builds with --baseline");
        }
        var build = BuildInfo.Current();
        var clock = Stopwatch.StartNew();
        var session = new Session(o, stdout, cancel);
        session.Run(stored);
        if (!o.Judging)
        {
            if (session.Failure is not null) { stderr.WriteLine($"orion-perf gate: {session.Failure}"); return GateVerdicts.BadInputExit; }
            return SaveOrFail(o, session.Candidate, machine, build, stdout, stderr) ?? GateVerdicts.PassExit;
        }
        var baselineRounds = stored?.Rounds ?? session.Baseline;
        var results = session.Failure is null
            ? GateVerdicts.JudgeAll(baselineRounds, session.Candidate, paired: stored is null, o.Limits, o.Confidence, o.Seed)
            : [];
        var outcome = GateVerdicts.Overall(results, session.Failure);
        string baselineLabel = stored is null ? o.Baseline! : $"stored '{stored.Name}' ({stored.Rounds.Count} rounds of {stored.Command}; build {stored.Build}, {stored.CreatedUtc:yyyy-MM-dd HH:mm} UTC)";
        var report = new GateReport(outcome, results, baselineRounds.Count, session.Candidate.Count, stored is null, baselineLabel, o.Candidate!,
                                    o.Seed, o.Confidence, session.Failure, session.StopReason, machine, build, clock.Elapsed);
        GateReportWriter.WriteConsole(stdout, report);
        try
        {
            if (o.JUnitPath is { } junit) File.WriteAllText(junit, GateReportWriter.JUnit(report));
            if (o.MarkdownPath is { } md) File.WriteAllText(md, GateReportWriter.Markdown(report));
            if (o.JsonPath is { } json) File.WriteAllText(json, GateReportWriter.Json(report, baselineRounds, session.Candidate));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Bad(stderr, $"could not write a report: {e.Message}");
        }
        if (session.Failure is not null) stderr.WriteLine($"orion-perf gate: {session.Failure}");
        if (session.Failure is null && SaveOrFail(o, session.Candidate, machine, build, stdout, stderr) is int saveFailed) return saveFailed;
        return report.ExitCode;
    }

    /// <summary>With <c>--save</c>: stores the candidate's rounds; null when saved (or not asked), else the exit status.</summary>
    private static int? SaveOrFail(GateOptions o, IReadOnlyList<RoundSample> rounds, MachineInfo machine, BuildInfo build, TextWriter stdout, TextWriter stderr)
    {
        if (o.Save is not { } name) return null;
        try
        {
            BaselineStore.Save(o.Store, new StoredBaseline(name, o.Candidate!, DateTimeOffset.UtcNow, machine, build, rounds));
            stdout.WriteLine($"saved {rounds.Count} round(s) as '{name}' in {BaselineStore.PathOf(o.Store, name)} ({machine}; build {build})");
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Bad(stderr, $"--save {name}: {e.Message}");
        }
    }

    /// <summary>The rounds themselves: warm-up, interleaved runs in randomised order, and the stopping rule.</summary>
    private sealed class Session(GateOptions o, TextWriter stdout, CancellationToken cancel)
    {
        public List<RoundSample> Baseline { get; } = [];
        public List<RoundSample> Candidate { get; } = [];
        public string? Failure { get; private set; }
        public string StopReason { get; private set; } = "";

        public void Run(StoredBaseline? stored)
        {
            var clock = Stopwatch.StartNew();
            bool runBaseline = o.Baseline is not null;
            var order = new GateStatistics.SplitMix64(o.Seed ^ 0x6F72696F6E676174UL);
            if (stored is not null) stdout.WriteLine($"baseline: stored '{stored.Name}', {stored.Rounds.Count} round(s) of: {stored.Command}");
            else if (runBaseline) stdout.WriteLine($"baseline: {o.Baseline}");
            stdout.WriteLine($"candidate: {o.Candidate}");
            for (int w = 1; w <= o.Warmup; w++)
            {
                // JIT, page cache and CPU frequency settle in unrecorded runs, so round 1's first side is not handicapped.
                if (runBaseline && Once("baseline", o.Baseline!, $"warm-up {w}") is null) return;
                if (Once("candidate", o.Candidate!, $"warm-up {w}") is null) return;
            }
            for (int round = 1; ; round++)
            {
                var roundClock = Stopwatch.StartNew();
                bool baselineFirst = runBaseline && order.Below(2) == 0;
                RoundSample? b = null, c;
                if (baselineFirst && (b = Once("baseline", o.Baseline!, $"round {round}")) is null) return;
                if ((c = Once("candidate", o.Candidate!, $"round {round}")) is null) return;
                if (runBaseline && !baselineFirst && (b = Once("baseline", o.Baseline!, $"round {round}")) is null) return;
                if (b is not null) Baseline.Add(b);
                Candidate.Add(c);
                stdout.WriteLine($"round {round}{(runBaseline ? baselineFirst ? " (baseline first)" : " (candidate first)" : "")}: " +
                                 (b is null ? "" : $"baseline {Brief(b)} | ") + $"candidate {Brief(c)}");
                if (round < o.Rounds) continue;
                if (o.Judging)
                {
                    var outcome = GateVerdicts.Overall(
                        GateVerdicts.JudgeAll(stored?.Rounds ?? Baseline, Candidate, paired: stored is null, o.Limits, o.Confidence, o.Seed), null);
                    if (outcome != GateOutcome.Undecided) { StopReason = $"decided after {round} round(s)"; return; }
                }
                if (round >= o.RoundsAtMost) { StopReason = $"{round} round(s), the most allowed"; return; }
                if (o.Budget is { } budget && clock.Elapsed + roundClock.Elapsed > budget)
                {
                    StopReason = $"the budget of {budget.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s would run out in another round";
                    return;
                }
                if (!o.Judging) { StopReason = $"{round} round(s) recorded"; return; }
            }
        }

        /// <summary>One run of a side; null (and <see cref="Failure"/> set) when it failed.</summary>
        private RoundSample? Once(string side, string command, string when)
        {
            var outcome = SideCommand.Run(command, o.RunTimeout, cancel);
            if (outcome.Sample is { } s) return s;
            Failure = $"the {side} failed to run ({when}): {outcome.Failure}";
            StopReason = $"the {side} failed to run";
            stdout.WriteLine($"{when}: {side} FAILED: {outcome.Failure}");
            return null;
        }

        private static string Brief(RoundSample s) => string.Join(", ", GateCatalog.Directions.Where(d => s.Values.ContainsKey($"{d} iops")).Select(d =>
            $"{d} {s.Values[$"{d} iops"].ToString("N0", CultureInfo.InvariantCulture)} IOPS" +
            (s.Values.TryGetValue($"{d} p50", out double p50) ? $" p50 {GateJudge.FormatNs(p50)}" : "")))
            + (s.Values.TryGetValue("alloc", out double a) ? $", {a.ToString("0.##", CultureInfo.InvariantCulture)} B/io" : "");
    }

    private static int Bad(TextWriter stderr, string message)
    {
        stderr.WriteLine($"orion-perf gate: {message}");
        stderr.WriteLine("run 'orion-perf gate --help' for usage");
        return GateVerdicts.BadInputExit;
    }
}
