using Orion.Perf.Verify;
using Orion.Pmd.Engine;

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

    /// <summary>Where the job's interval histograms go (<c>--write_hist_log</c>, <c>--report</c>); null to record none.</summary>
    public JobIntervals? Intervals { get; set; }

    /// <summary>Verification results; null without <c>--verify</c>.</summary>
    public VerifySummary? Verify { get; set; }

    /// <summary>With a rate: I/Os due but never started when the measured phase ended, over all the job's workloads.</summary>
    public long UnissuedAtEnd { get; set; }

    /// <summary>What became of the job's I/Os: failures, and that each completed exactly once.</summary>
    public Reporting.ErrorReport? Errors { get; set; }

    /// <summary>fio's "min rate not met" for the first workload whose rate fell below rate_min over a rate_cycle; null when none did.</summary>
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
        Errors = CollectErrors(workloads);
        var trackers = workloads.Where(w => w.Verifier is not null).ToList();
        if (trackers.Count == 0) return;
        var recorded = new List<VerifyMismatch>();
        foreach (var w in trackers) recorded.AddRange(w.Verifier!.Recorded.ToArray());
        Verify = new VerifySummary
        {
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
