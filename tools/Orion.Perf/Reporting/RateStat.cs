namespace Orion.Perf.Reporting;

/// <summary>
/// fio's <c>io_stat</c> of bandwidth or IOPS samples (one per <c>bwavgtime</c>/<c>iopsavgtime</c> window): the
/// smallest, the largest, the count, and the running mean and sum of squared deviations (Welford, as fio's
/// <c>add_stat_sample</c>). Clones of one job are combined as fio's group reporting does (<see cref="PureSum"/>).
/// </summary>
public sealed class RateStat
{
    /// <summary>The smallest sample (0 without samples).</summary>
    public long Min => Samples == 0 ? 0 : _min;

    /// <summary>The largest sample (0 without samples).</summary>
    public long Max { get; private set; }

    /// <summary>How many samples.</summary>
    public long Samples { get; private set; }

    /// <summary>The samples' mean (0 without samples).</summary>
    public double Mean { get; private set; }

    /// <summary>Sum of squared deviations from the mean.</summary>
    private double _s;
    private long _min = long.MaxValue;

    /// <summary>The samples' standard deviation, as fio's <c>calc_lat</c>: sqrt(S / (n - 1)), 0 with fewer than two samples.</summary>
    public double StdDev => Samples > 1 ? Math.Sqrt(_s / (Samples - 1)) : 0;

    /// <summary>Adds one sample (fio's <c>add_stat_sample</c>).</summary>
    public void Add(long value)
    {
        if (value > Max) Max = value;
        if (value < _min) _min = value;
        double delta = value - Mean;
        if (delta != 0)
        {
            Mean += delta / (Samples + 1.0);
            _s += delta * (value - Mean);
        }
        Samples++;
    }

    /// <summary>
    /// fio's <c>sum_stat</c> with <c>pure_sum</c>, how group reporting adds its clones' bandwidth and IOPS: minimums,
    /// maximums, means and squared deviations add up (the group's rate is the sum of its clones'), sample counts too.
    /// </summary>
    public static RateStat PureSum(IEnumerable<RateStat> parts)
    {
        var total = new RateStat();
        foreach (var p in parts)
        {
            if (p.Samples == 0) continue;
            bool first = total.Samples == 0;
            total._min = first ? p._min : total._min + p._min;
            total.Max = first ? p.Max : total.Max + p.Max;
            total.Mean = first ? p.Mean : total.Mean + p.Mean;
            total._s = first ? p._s : total._s + p._s;
            total.Samples += p.Samples;
        }
        return total;
    }
}
