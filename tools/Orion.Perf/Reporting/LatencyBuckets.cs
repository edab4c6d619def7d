using HdrHistogram;

namespace Orion.Perf.Reporting;

/// <summary>
/// fio's coarse latency distribution (<c>latency_ns</c>/<c>latency_us</c>/<c>latency_ms</c> in JSON,
/// <c>lat (nsec)   : 2=..%</c> in text), counted over all directions of a job as fio does.
/// </summary>
internal sealed class LatencyBuckets
{
    /// <summary>Upper bounds (exclusive) of the ns and us buckets, as fio labels them.</summary>
    public static readonly string[] SubMsLabels = ["2", "4", "10", "20", "50", "100", "250", "500", "750", "1000"];

    /// <summary>Labels of the ms buckets.</summary>
    public static readonly string[] MsLabels = ["2", "4", "10", "20", "50", "100", "250", "500", "750", "1000", "2000", ">=2000"];

    /// <summary>Counts below 1 µs.</summary>
    public long[] Ns { get; } = new long[10];

    /// <summary>Counts from 1 µs to below 1 ms.</summary>
    public long[] Us { get; } = new long[10];

    /// <summary>Counts from 1 ms.</summary>
    public long[] Ms { get; } = new long[12];

    /// <summary>All counted samples.</summary>
    public long Total { get; private set; }

    /// <summary>What the percentages are of: fio divides by total_io_u, every I/O issued (failed ones too); at least <see cref="Total"/>.</summary>
    public long Of { get; private set; }

    /// <summary>
    /// Buckets the completion latencies of every direction's good I/Os in <paramref name="job"/>, in percent of all
    /// its I/Os (fio's stat_calc_lat: a failed I/O has no latency but counts in total_io_u).
    /// </summary>
    public static LatencyBuckets From(JobResult job)
    {
        var buckets = new LatencyBuckets();
        foreach (var (_, d) in job.Directions) buckets.Add(d.ClatNs);
        buckets.Of = Math.Max(buckets.Total, job.TotalIos);
        return buckets;
    }

    /// <summary>Adds every recorded value of <paramref name="histogram"/>.</summary>
    public void Add(LongHistogram? histogram)
    {
        if (histogram is null || histogram.TotalCount == 0) return;
        foreach (var v in histogram.RecordedValues()) Add(v.ValueIteratedTo, v.CountAtValueIteratedTo);
    }

    /// <summary>Counts <paramref name="count"/> samples of <paramref name="ns"/> nanoseconds.</summary>
    public void Add(long ns, long count)
    {
        if (ns < 1_000) Ns[Index(ns)] += count;
        else if (ns < 1_000_000) Us[Index(ns / 1_000)] += count;
        else if (ns < 1_000_000_000) Ms[Index(ns / 1_000_000)] += count;
        else Ms[ns < 2_000_000_000 ? 10 : 11] += count;
        Total += count;
    }

    /// <summary>fio's percentage of a bucket: a bucket with any sample shows at least 0.01 %.</summary>
    public double Percent(long count)
    {
        if (count == 0) return 0;
        return Math.Max(0.01, count * 100.0 / Math.Max(Of, Total));
    }

    /// <summary>fio's io_u_mark_lat_* index for a value below 1000 of its unit.</summary>
    private static int Index(long v) => v switch
    {
        < 2 => 0,
        < 4 => 1,
        < 10 => 2,
        < 20 => 3,
        < 50 => 4,
        < 100 => 5,
        < 250 => 6,
        < 500 => 7,
        < 750 => 8,
        _ => 9,
    };
}
