using HdrHistogram;
using Orion.Pmd.Engine.Queues;

namespace Orion.Pmd.Engine.Monitoring;

/// <summary>
/// A read-only latency histogram in nanoseconds (a snapshot's <see cref="QueueSnapshot.Latency"/> and
/// <see cref="EngineSnapshot.Latency"/>): count, percentiles, mean, maximum and the recorded buckets. The engine's own
/// type, so that the public API names no third-party histogram: the recording behind it (HdrHistogram, three
/// significant digits) may change without breaking callers.
/// </summary>
public sealed class LatencyHistogram
{
    private readonly LongHistogram _histogram;

    /// <summary>An empty histogram (a snapshot built by hand, such as a test's, records nothing).</summary>
    public LatencyHistogram() : this(LatencyRecorder.NewHistogram()) { }

    /// <summary>Wraps <paramref name="histogram"/>, which the view owns and nobody writes any more.</summary>
    internal LatencyHistogram(LongHistogram histogram) => _histogram = histogram;

    /// <summary>Requests recorded.</summary>
    public long TotalCount => _histogram.TotalCount;

    /// <summary>
    /// The latency at or below which <paramref name="percentile"/> percent of the recorded requests fall (0 to 100;
    /// 50 is the median), in nanoseconds; 0 when nothing was recorded.
    /// </summary>
    public long GetValueAtPercentile(double percentile)
    {
        if (double.IsNaN(percentile) || percentile is < 0 or > 100)
            throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "a percentile from 0 to 100 (for example 99.9)");
        return _histogram.TotalCount == 0 ? 0 : _histogram.GetValueAtPercentile(percentile);
    }

    /// <summary>The largest latency recorded, in nanoseconds (0 when none).</summary>
    public long MaxValue => _histogram.TotalCount == 0 ? 0 : _histogram.GetMaxValue();

    /// <summary>The mean latency in nanoseconds (0 when none).</summary>
    public double Mean => _histogram.TotalCount == 0 ? 0 : _histogram.GetMean();

    /// <summary>The standard deviation in nanoseconds (0 when none).</summary>
    public double StandardDeviation => _histogram.TotalCount == 0 ? 0 : _histogram.GetStdDeviation();

    /// <summary>
    /// The recorded buckets, lowest first: each bucket's highest equivalent latency in nanoseconds and how many
    /// requests fell in it (the counts sum to <see cref="TotalCount"/>).
    /// </summary>
    public IEnumerable<(long ValueNs, long Count)> Buckets()
    {
        foreach (var v in _histogram.RecordedValues()) yield return (v.ValueIteratedTo, v.CountAtValueIteratedTo);
    }

    /// <summary>A new histogram holding this one's and <paramref name="other"/>'s requests (neither is changed).</summary>
    public LatencyHistogram Merge(LatencyHistogram other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var merged = LatencyRecorder.NewHistogram();
        merged.Add(_histogram);
        merged.Add(other._histogram);
        return new LatencyHistogram(merged);
    }

    /// <summary>The histogram behind the view, for the engine's own exporters (the meter).</summary>
    internal LongHistogram Recorded => _histogram;
}
