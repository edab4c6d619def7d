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

    /// <summary>Gathers the workloads' verification and rate results.</summary>
    internal void Collect(IReadOnlyList<WorkloadPoller> workloads)
    {
        UnissuedAtEnd = workloads.Sum(w => w.UnissuedAtEnd);
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
}
