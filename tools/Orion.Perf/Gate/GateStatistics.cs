namespace Orion.Perf.Gate;

/// <summary>A change and its confidence interval: a ratio (relative metrics) or a difference (absolute ones).</summary>
internal readonly record struct ChangeInterval(double Point, double Low, double High);

/// <summary>
/// The percentile bootstrap over rounds (Efron), as the rigorous-benchmarking literature asks (Kalibera and Jones):
/// an interval for the change, not one ratio. Relative metrics are judged on logarithms, so the change is the geometric
/// mean of candidate/baseline; absolute ones on the plain difference of means. Paired samples (both sides ran in each
/// round, interleaved) resample whole rounds, so a machine that slowed down for a round slows both of its runs and
/// cancels out; unpaired ones (a stored baseline) resample each side on its own. Deterministic for a given seed.
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
        double point = c.Average() - b.Average();
        var stats = new double[Resamples];
        var rng = new SplitMix64(seed);
        for (int r = 0; r < Resamples; r++)
        {
            double sb = 0, sc = 0;
            if (paired)
            {
                for (int i = 0; i < b.Length; i++)
                {
                    int k = rng.Below(b.Length);
                    sb += b[k];
                    sc += c[k];
                }
                stats[r] = (sc - sb) / b.Length;
            }
            else
            {
                for (int i = 0; i < b.Length; i++) sb += b[rng.Below(b.Length)];
                for (int i = 0; i < c.Length; i++) sc += c[rng.Below(c.Length)];
                stats[r] = sc / c.Length - sb / b.Length;
            }
        }
        Array.Sort(stats);
        double alpha = 1 - confidence;
        double lo = Quantile(stats, alpha / 2), hi = Quantile(stats, 1 - alpha / 2);
        return scale == ChangeScale.Relative ? new(Math.Exp(point), Math.Exp(lo), Math.Exp(hi)) : new(point, lo, hi);
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
