using Orion.Perf.Verify;
using Orion.Pmd.Engine;
using Orion.Perf.Logs;

namespace Orion.Perf.Workload;

/// <summary>
/// What a run needs and gives beyond the measurement itself: a hook between the write phase and the read-back
/// (tests use it to corrupt a block through the device), and the verification and rate results.
/// </summary>
internal sealed class JobSession
{
    /// <summary>
    /// Runs on the thread that runs the job once the measured phase is over and before the read-back of a
    /// <c>--verify</c> write job starts, with the job's device (its reactors are running: use the async API).
    /// </summary>
    public Action<BlockDevice>? BeforeReadBack { get; init; }

    /// <summary>
    /// fio's exit_what=all of an earlier job ended the run before this job started: its workloads stop before their
    /// first I/O, and it is reported empty, as fio reports a job that never got to run.
    /// </summary>
    public bool TerminatedBeforeStart { get; set; }

    /// <summary>fio's latency_depth: the depth the workloads ran at last (latency_target's search result), the smallest of the clones'.</summary>
    public int? LatencyDepth { get; set; }

    /// <summary>fio's steadystate result (ss_dur given); null otherwise. Set when the job ran.</summary>
    public Reporting.SteadyStateResult? SteadyState { get; set; }

    /// <summary>Where the job's interval histograms go (<c>--write_hist_log</c>, <c>--report</c>); null to record none.</summary>
    public JobIntervals? Intervals { get; set; }

    /// <summary>fio's log files for the job's clones (<c>--write_lat_log</c>, ...); null when it writes none.</summary>
    public FioLogSetup? FioLogs { get; set; }

    /// <summary>The bandwidth and IOPS sample lengths of the report's statistics, ms (fio <c>bwavgtime</c>, <c>iopsavgtime</c>).</summary>
    public (int Bw, int Iops) SampleMs { get; set; } = (Options.JobOptions.DefaultRateAvgMs, Options.JobOptions.DefaultRateAvgMs);

    /// <summary>The bandwidth and IOPS statistics per direction (read, write, trim), clones summed as fio's group reporting; set when the job ran.</summary>
    public (Reporting.RateStat Bw, Reporting.RateStat Iops)[]? Rates { get; set; }

    /// <summary>Each numjobs clone's own samples, per direction (its entry when the job is reported per clone).</summary>
    public (Reporting.RateStat Bw, Reporting.RateStat Iops)[][]? CloneRates { get; set; }

    /// <summary>Verification results; null without <c>--verify</c>.</summary>
    public VerifySummary? Verify { get; set; }

    /// <summary>With a rate: I/Os due but never started when the measured phase ended, over all the job's workloads.</summary>
    public long UnissuedAtEnd { get; set; }

    /// <summary>What became of the job's I/Os: failures, and that each completed exactly once.</summary>
    public Reporting.ErrorReport? Errors { get; set; }

    /// <summary>Each numjobs clone's (workload's) own failures, in clone order.</summary>
    public IReadOnlyList<Reporting.ErrorReport> CloneErrors { get; private set; } = [];

    /// <summary>
    /// fio's "min rate not met" for the first workload whose rate fell below rate_min over a rate_cycle, or its "max
    /// latency exceeded" for latency_target at depth 1: why the job failed; null when it did not.
    /// </summary>
    public string? RateMinFailure { get; set; }

    /// <summary>Gathers the workloads' verification, rate and error results.</summary>
    internal void Collect(IReadOnlyList<WorkloadPoller> workloads)
    {
        UnissuedAtEnd = workloads.Sum(w => w.UnissuedAtEnd);
        if (workloads.FirstOrDefault(w => w.RateMinMissed) is { } slow)
        {
            var (d, rate, bytes) = slow.RateMinMiss;
            string dir = d switch { 0 => "read", 1 => "write", _ => "trim" };
            RateMinFailure = bytes ? $"min {dir} rate not met: {rate:0} bytes/s over the last rate_cycle, below rate_min"
                                   : $"min {dir} rate not met: {rate:0} IOPS over the last rate_cycle, below rate_iops_min";
        }
        if (workloads.FirstOrDefault(w => w.LatencyTargetMissed) is not null)
            RateMinFailure ??= "max latency exceeded: an I/O took longer than latency_target at queue depth 1 (fio's ETIMEDOUT)";
        LatencyDepth = workloads.Count == 0 ? null : workloads.Min(w => w.LatencyDepth);
        Errors = CollectErrors(workloads);
        CloneErrors = workloads.Count > 1 ? workloads.Select(w => CollectErrors([w])).ToList() : [];
        var trackers = workloads.Where(w => w.Verifier is not null).ToList();
        if (trackers.Count == 0) return;
        var recorded = new List<VerifyMismatch>();
        foreach (var w in trackers) recorded.AddRange(w.Verifier!.Recorded.ToArray());
        Verify = new VerifySummary
        {
            Mode = trackers[0].Verifier!.Mode,
            BlockBytes = trackers[0].Verifier!.BlockBytes,
            CheckedInline = trackers.Sum(w => w.Verifier!.CheckedInline),
            CheckedAfterWrites = trackers.Sum(w => w.Verifier!.CheckedAfterWrites),
            Mismatches = trackers.Sum(w => w.Verifier!.Mismatches),
            FirstMismatches = recorded,
            ReadBackRan = trackers.Any(w => w.ReadBackRan),
            StoppedEarly = trackers.Any(w => w.StoppedByVerify),
        };
    }

    private static Reporting.ErrorReport CollectErrors(IReadOnlyList<WorkloadPoller> workloads)
    {
        var first = workloads.Select(w => w.Outcomes.First).Where(f => f is not null).MinBy(f => f!.Value.Ticks);      // the earliest of all workloads
        return new Reporting.ErrorReport
        {
            Submitted = workloads.Sum(w => w.Outcomes.Submitted),
            Completed = workloads.Sum(w => w.Outcomes.Completed),
            Doubled = workloads.Sum(w => w.Outcomes.Doubled),
            Total = workloads.Sum(w => w.Outcomes.Failed),
            ByStatus = workloads.SelectMany(w => w.Outcomes.FailedByStatus()).GroupBy(x => x.Status)
                                .Select(g => KeyValuePair.Create(g.Key.ToString(), g.Sum(x => x.Count)))
                                .OrderByDescending(x => x.Value).ToList(),
            First = first is { } f
                ? new Reporting.FailedIoReport(f.Direction.ToString().ToLowerInvariant(), f.Offset, f.Bytes, f.Status.ToString(), f.ReadBack, null)
                : null,
            StoppedJob = workloads.Any(w => w.StoppedByError),
            VerifyBlocksUnknown = workloads.Sum(w => (w.Verifier?.UnknownAfterFailedWrite ?? 0) + (w.Verifier?.UnknownAfterOverlap ?? 0)),
        };
    }
}

/// <summary>Where a job's fio logs go: its options, its first clone's fio thread number, and the run's open files.</summary>
internal sealed record FioLogSetup(Options.JobOptions Options, int FirstThreadNumber, FioLogFiles Files);
