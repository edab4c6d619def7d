using HdrHistogram;

namespace Orion.Perf.Reporting;

/// <summary>fio's latency statistics (min, max, mean, stddev, N, percentiles) read from an HdrHistogram.</summary>
internal sealed class LatencySummary
{
    private static readonly LatencySummary Empty = new(null);

    private readonly LongHistogram? _histogram;

    private LatencySummary(LongHistogram? histogram)
    {
        _histogram = histogram;
        if (histogram is null || histogram.TotalCount == 0) return;
        Count = histogram.TotalCount;
        // HdrHistogram .NET 2.5.0 has no GetMinValue; the first recorded bucket's lowest value is what Java's returns.
        var first = histogram.RecordedValues().First();
        Min = histogram.LowestEquivalentValue(first.ValueIteratedTo);
        Max = histogram.GetMaxValue();
        Mean = histogram.GetMean();
        StdDev = histogram.GetStdDeviation();
    }

    /// <summary>Samples (fio <c>N</c>).</summary>
    public long Count { get; }

    /// <summary>Smallest value, ns.</summary>
    public long Min { get; }

    /// <summary>Largest value, ns.</summary>
    public long Max { get; }

    /// <summary>Mean, ns.</summary>
    public double Mean { get; }

    /// <summary>Standard deviation, ns.</summary>
    public double StdDev { get; }

    /// <summary>Summarizes <paramref name="histogram"/>; a null or empty one gives all zeros, as fio prints for no I/O.</summary>
    public static LatencySummary From(LongHistogram? histogram) =>
        histogram is null || histogram.TotalCount == 0 ? Empty : new LatencySummary(histogram);

    /// <summary>The value at <paramref name="percentile"/> (0..100); 0 when empty (HdrHistogram throws on an empty histogram).</summary>
    public long ValueAt(double percentile) => Count == 0 ? 0 : _histogram!.GetValueAtPercentile(percentile);

    /// <summary>Every non-empty bucket as (value, count), lowest first: the json+ <c>bins</c>.</summary>
    public IEnumerable<(long Value, long Count)> Bins()
    {
        if (Count == 0) yield break;
        foreach (var v in _histogram!.RecordedValues())
            yield return (v.ValueIteratedTo, v.CountAtValueIteratedTo);
    }
}
