using HdrHistogram;

namespace Orion.Perf.Reporting;

/// <summary>
/// A job's numjobs clones and fio's <c>group_reporting</c>: fio reports each clone of a job on its own (same
/// jobname and groupid) unless the job has <c>group_reporting</c>, and then sums every job of the reporting group
/// into one entry (fio's sum_thread_stats).
/// </summary>
public sealed partial class JobResult
{
    /// <summary>fio's iodepth_level, iodepth_submit and iodepth_complete counts; null when not measured.</summary>
    public DepthDistribution? Depths { get; set; }

    /// <summary>How many jobs (clones) the entry covers: fio's <c>jobs=</c> in the normal report's header.</summary>
    public int Members { get; set; } = 1;

    /// <summary>With numjobs above 1: each clone's own result, in clone order; empty otherwise.</summary>
    public IReadOnlyList<JobResult> Clones { get; set; } = [];

    /// <summary>
    /// A copy of this job's result for one of its clones: its own directions, depths, window, queues and errors; the
    /// CPU times stay the whole process's (the clones share it, as jobs sharing an engine do: see <see cref="SharedEngineJobs"/>).
    /// </summary>
    internal JobResult ForClone(DirectionResult read, DirectionResult write, DirectionResult trim, DepthDistribution depths, TimeSpan runtime,
                                IReadOnlyList<QueueReport> queues, ErrorReport? errors)
    {
        var clone = (JobResult)MemberwiseClone();
        clone.Read = read;
        clone.Write = write;
        clone.Trim = trim;
        clone.Depths = depths;
        clone.Runtime = runtime;
        clone.Queues = queues;
        clone.Errors = errors;
        // fio's err= is the clone's own: the errno of a failure that stopped it, or the job's verification failure.
        clone.Error = errors is { StoppedJob: true, First: { } stop } ? stop.Errno : Error == 84 ? 84 : errors is null ? Error : 0;
        clone.Clones = [];
        clone.Members = 1;
        return clone;
    }

    /// <summary>
    /// The entries of fio's report for <paramref name="jobs"/> (in job order): a job's clones one by one, or the job
    /// whole with <c>group_reporting</c>; then each run of <c>group_reporting</c> entries of one reporting group
    /// summed into the first of them, as fio's __show_run_stats does.
    /// </summary>
    public static IReadOnlyList<JobResult> FioEntries(IReadOnlyList<JobResult> jobs)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        var entries = new List<List<JobResult>>();
        foreach (var job in jobs)
        {
            if (!job.Options.GroupReporting)
            {
                foreach (var e in job.Clones.Count > 0 ? job.Clones : [job]) entries.Add([e]);
                continue;
            }
            // fio starts a new entry for a group_reporting job only when its group differs from the last entry's.
            if (entries.Count > 0 && entries[^1][^1].GroupId == job.GroupId) entries[^1].Add(job);
            else entries.Add([job]);
        }
        return entries.Select(parts => parts.Count == 1 ? parts[0] : Sum(parts)).ToList();
    }

    /// <summary>
    /// fio's sum_thread_stats over <paramref name="parts"/>: counts, bytes and histograms added, the longest window,
    /// the first part's name, options and group. CPU times are added for jobs that ran on engines of their own; jobs
    /// that shared one engine each carry the whole process's, so the largest is kept.
    /// </summary>
    internal static JobResult Sum(IReadOnlyList<JobResult> parts)
    {
        var first = parts[0];
        var sum = (JobResult)first.MemberwiseClone();
        sum.Read = DirectionResult.Sum(parts.Select(p => p.Read));
        sum.Write = DirectionResult.Sum(parts.Select(p => p.Write));
        sum.Trim = DirectionResult.Sum(parts.Select(p => p.Trim));
        sum.Depths = parts.All(p => p.Depths is not null) ? DepthDistribution.Sum(parts.Select(p => p.Depths!)) : null;
        sum.Runtime = parts.Max(p => p.Runtime);
        bool shared = parts.All(p => p.SharedEngineJobs > 1);
        sum.UserCpuSeconds = shared ? parts.Max(p => p.UserCpuSeconds) : parts.Sum(p => p.UserCpuSeconds);
        sum.SystemCpuSeconds = shared ? parts.Max(p => p.SystemCpuSeconds) : parts.Sum(p => p.SystemCpuSeconds);
        sum.AllocatedBytes = shared ? parts.Max(p => p.AllocatedBytes) : parts.Sum(p => p.AllocatedBytes);
        sum.ContextSwitches = parts.Sum(p => p.ContextSwitches);
        sum.MajorFaults = parts.Sum(p => p.MajorFaults);
        sum.MinorFaults = parts.Sum(p => p.MinorFaults);
        sum.Queues = parts.SelectMany(p => p.Queues).ToList();
        sum.Error = parts.Select(p => p.Error).FirstOrDefault(e => e != 0);
        sum.Errors = ErrorReport.Sum(parts.Select(p => p.Errors).OfType<ErrorReport>().ToList());
        sum.Clones = [];
        sum.Members = parts.Sum(p => p.Members);
        return sum;
    }
}

/// <summary>Summing directions for <see cref="JobResult.Sum"/>.</summary>
public sealed partial class DirectionResult
{
    /// <summary>The sum of <paramref name="parts"/>: counts added, histograms merged into new ones.</summary>
    internal static DirectionResult Sum(IEnumerable<DirectionResult> parts)
    {
        var list = parts.ToList();
        return new DirectionResult
        {
            TotalIos = list.Sum(p => p.TotalIos),
            Bytes = list.Sum(p => p.Bytes),
            Errors = list.Sum(p => p.Errors),
            SlatNs = Merge(list.Select(p => p.SlatNs)),
            ClatNs = Merge(list.Select(p => p.ClatNs)),
            LatNs = Merge(list.Select(p => p.LatNs)),
            IntendedLatNs = Merge(list.Select(p => p.IntendedLatNs)),
            ScheduledIos = list.Sum(p => p.ScheduledIos),
            ScheduleLagSumNs = list.Sum(p => p.ScheduleLagSumNs),
            ScheduleLagMaxNs = list.Count == 0 ? 0 : list.Max(p => p.ScheduleLagMaxNs),
        };
    }

    private static LongHistogram? Merge(IEnumerable<LongHistogram?> histograms)
    {
        LongHistogram? total = null;
        foreach (var h in histograms)
        {
            if (h is null) continue;
            total ??= new LongHistogram(h.LowestTrackableValue, h.HighestTrackableValue, h.NumberOfSignificantValueDigits);
            total.Add(h);
        }
        return total;
    }
}
