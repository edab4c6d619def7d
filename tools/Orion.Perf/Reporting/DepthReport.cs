namespace Orion.Perf.Reporting;

/// <summary>fio's three depth distributions of a job as percentages with fio's labels (JSON, normal and terse output).</summary>
internal static class DepthReport
{
    /// <summary>Labels of <c>iodepth_level</c>.</summary>
    public static readonly string[] LevelLabels = ["1", "2", "4", "8", "16", "32", ">=64"];

    /// <summary>Labels of <c>iodepth_submit</c> and <c>iodepth_complete</c>.</summary>
    public static readonly string[] BatchLabels = ["0", "4", "8", "16", "32", "64", ">=64"];

    /// <summary>
    /// <c>iodepth_level</c>: measured I/Os by the depth in flight, in percent of fio's total_io_u (all I/Os issued).
    /// A result without measured depths (built in code) puts everything at its iodepth.
    /// </summary>
    public static IReadOnlyList<(string Label, double Percent)> Levels(JobResult job)
    {
        if (job.Depths is { } d) return Zip(LevelLabels, DepthDistribution.Percentages(d.Level, Math.Max(job.TotalIos, d.Level.Sum())));
        int depth = job.Options.IoDepth;
        int index = depth switch { <= 1 => 0, < 4 => 1, < 8 => 2, < 16 => 3, < 32 => 4, < 64 => 5, _ => 6 };
        return LevelLabels.Select((l, i) => (l, i == index && job.TotalIos > 0 ? 100.0 : 0.0)).ToList();
    }

    /// <summary><c>iodepth_submit</c>: placement batches by size, in percent of all batches.</summary>
    public static IReadOnlyList<(string Label, double Percent)> Submit(JobResult job) =>
        Zip(BatchLabels, job.Depths is { } d ? DepthDistribution.Percentages(d.Submit, d.TotalSubmit) : new double[DepthDistribution.Buckets]);

    /// <summary><c>iodepth_complete</c>: reaped completion batches by size, in percent of all of them.</summary>
    public static IReadOnlyList<(string Label, double Percent)> Complete(JobResult job) =>
        Zip(BatchLabels, job.Depths is { } d ? DepthDistribution.Percentages(d.Complete, d.TotalComplete) : new double[DepthDistribution.Buckets]);

    private static List<(string, double)> Zip(string[] labels, double[] pct) => labels.Select((l, i) => (l, pct[i])).ToList();
}
