namespace Orion.Perf.Gate;

/// <summary>A change and its confidence interval: a ratio (relative metrics) or a difference (absolute ones).</summary>
internal readonly record struct ChangeInterval(double Point, double Low, double High);

/// <summary>
/// The percentile bootstrap over rounds (Efron), as the rigorous-benchmarking literature asks (Kalibera and Jones):
/// an interval for the change, not one ratio. Relative metrics are judged on logarithms, so the change is the median
/// candidate/baseline ratio; absolute ones on the plain difference. Paired samples (both sides ran in each
/// round, interleaved) resample whole rounds, so a machine that slowed down for a round slows both of its runs and
/// cancels out; unpaired ones (a stored baseline) resample each side on its own. The statistic is the median, not the
/// mean: a shared VM now and then stalls a whole run (a round at 1 % of the usual IOPS), and a mean of logarithms
/// would follow that one round; a trimmed mean still does whenever a resample repeats it. Deterministic for a seed.
/// </summary>
internal static class GateStatistics
{
    /// <summary>Bootstrap resamples per interval.</summary>
    public const int Resamples = 4000;

    public static ChangeInterval Interval(IReadOnlyList<double> baseline, IReadOnlyList<double> candidate, bool paired, ChangeScale scale,
                                          double confidence, ulong seed)
    {
        if (baseline.Count == 0 || candidate.Count == 0) throw new ArgumentException("both sides need at least one round");
        if (paired && baseline.Count != candidate.Count) throw new ArgumentException("paired samples need as many rounds on each side");
        Func<double, double> f = scale == ChangeScale.Relative ? Math.Log : static v => v;
        double[] b = baseline.Select(f).ToArray(), c = candidate.Select(f).ToArray();
        double[] d = paired ? c.Select((v, i) => v - b[i]).ToArray() : [];
        double point = paired ? Median(d.ToArray()) : Median(c.ToArray()) - Median(b.ToArray());
        var stats = new double[Resamples];
        var rng = new SplitMix64(seed);
        var rb = new double[b.Length];
        var rc = new double[c.Length];
        for (int r = 0; r < Resamples; r++)
        {
            if (paired)
            {
                for (int i = 0; i < d.Length; i++) rb[i] = d[rng.Below(d.Length)];
                stats[r] = Median(rb);
            }
            else
            {
                for (int i = 0; i < b.Length; i++) rb[i] = b[rng.Below(b.Length)];
                for (int i = 0; i < c.Length; i++) rc[i] = c[rng.Below(c.Length)];
                stats[r] = Median(rc) - Median(rb);
            }
        }
        Array.Sort(stats);
        double alpha = 1 - confidence;
        double lo = Quantile(stats, alpha / 2), hi = Quantile(stats, 1 - alpha / 2);
        return scale == ChangeScale.Relative ? new(Math.Exp(point), Math.Exp(lo), Math.Exp(hi)) : new(point, lo, hi);
    }

    /// <summary>The median (the mean of the middle two for an even count); sorts <paramref name="v"/> in place.</summary>
    internal static double Median(double[] v)
    {
        Array.Sort(v);
        int h = v.Length / 2;
        return v.Length % 2 == 1 ? v[h] : (v[h - 1] + v[h]) / 2;
    }

    /// <summary>Linear interpolation between order statistics of a sorted array.</summary>
    internal static double Quantile(double[] sorted, double q)
    {
        double pos = q * (sorted.Length - 1);
        int i = (int)Math.Floor(pos);
        if (i >= sorted.Length - 1) return sorted[^1];
        return sorted[i] + (sorted[i + 1] - sorted[i]) * (pos - i);
    }

    /// <summary>Vigna's SplitMix64: fast, and the same sequence for a seed on every runtime (System.Random promises neither).</summary>
    internal struct SplitMix64(ulong seed)
    {
        private ulong _state = seed;

        public ulong Next()
        {
            ulong z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        /// <summary>A uniform integer in [0, n) (Lemire's multiply-shift; the bias for n ≪ 2^64 is negligible).</summary>
        public int Below(int n) => (int)(((UInt128)Next() * (ulong)n) >> 64);
    }
}
