using Orion.Perf.Options;

namespace Orion.Perf.Workload;

/// <summary>
/// Draws random I/O slots (positions in units of the smallest block size) over a region, following fio's
/// <c>random_distribution</c>. Everything a draw needs is computed here, once per plan (zipf's ζ(n) sum is O(n));
/// <see cref="Next"/> allocates nothing and is safe from several threads, each with its own generator state.
/// </summary>
/// <remarks>
/// As in fio: zipf uses Gray et al.'s quick approximation with ζ(n) summed over at most 10 million slots, pareto maps
/// a uniform draw through <c>u^(log h / log(1-h))</c>, and both scatter the hot slots over the region with a hash so
/// that "hot" does not mean "at the start". Normal is centred on the middle of the region with σ a percentage of it,
/// wrapping at the ends; normal:0 is uniform. Draws are with replacement (fio's norandommap).
/// </remarks>
internal sealed class OffsetDistribution
{
    /// <summary>fio's ZIPF_MAX_GEN: ζ(n) is summed over at most this many terms.</summary>
    private const long ZipfMaxTerms = 10_000_000;

    private readonly RandomDistributionKind _kind;
    private readonly long _slots;
    private readonly double _theta, _alpha, _eta, _zetaN, _twoCut;     // zipf
    private readonly double _paretoPower;                               // pareto
    private readonly double _sigma;                                     // normal, in slots
    private readonly int[] _zoneCumulative = [];                        // zoned: running access percentages
    private readonly long[] _zoneStart = [], _zoneSlots = [];           // zoned: each zone's first slot and slots

    /// <param name="distribution">The distribution.</param>
    /// <param name="slots">Slots in the region.</param>
    /// <param name="slotBytes">Bytes per slot, for zoned_abs's sizes.</param>
    public OffsetDistribution(RandomDistribution distribution, long slots, long slotBytes = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        _kind = distribution.Kind;
        _slots = slots;
        switch (distribution.Kind)
        {
            case RandomDistributionKind.Zipf:
                _theta = distribution.Parameter;
                long terms = Math.Min(slots, ZipfMaxTerms);
                double zeta = 0;
                for (long i = terms; i >= 1; i--) zeta += Math.Pow(i, -_theta);     // small terms first: less rounding
                _zetaN = zeta;
                double zeta2 = 1 + Math.Pow(2, -_theta);
                _alpha = 1 / (1 - _theta);
                _eta = (1 - Math.Pow(2.0 / slots, 1 - _theta)) / (1 - zeta2 / _zetaN);
                _twoCut = 1 + Math.Pow(0.5, _theta);
                break;
            case RandomDistributionKind.Pareto:
                _paretoPower = Math.Log(distribution.Parameter) / Math.Log(1 - distribution.Parameter);
                break;
            case RandomDistributionKind.Normal:
                _sigma = distribution.Parameter / 100 * slots;
                break;
            case RandomDistributionKind.Zoned or RandomDistributionKind.ZonedAbs:
            {
                // Zones follow each other from the region's start; each gets at least one slot and none runs past the end.
                var zones = distribution.Zones!;
                _zoneCumulative = new int[zones.Count];
                _zoneStart = new long[zones.Count];
                _zoneSlots = new long[zones.Count];
                long at = 0;
                int running = 0;
                for (int i = 0; i < zones.Count; i++)
                {
                    long want = distribution.Kind == RandomDistributionKind.Zoned
                        ? (long)Math.Round(zones[i].Size / 100 * slots) : (long)(zones[i].Size / Math.Max(1, slotBytes));
                    long start = Math.Min(at, slots - 1);
                    _zoneStart[i] = start;
                    _zoneSlots[i] = Math.Clamp(want, 1, slots - start);
                    at = start + _zoneSlots[i];
                    _zoneCumulative[i] = running += zones[i].AccessPercent;
                }
                break;
            }
        }
    }

    /// <summary>Slots drawn over: positions 0 to <c>Slots - 1</c>.</summary>
    public long Slots => _slots;

    /// <summary>The next slot, advancing <paramref name="state"/> (an xorshift64* state; never 0).</summary>
    public long Next(ref ulong state)
    {
        switch (_kind)
        {
            case RandomDistributionKind.Zipf:
            {
                double u = Uniform(ref state);
                double z = u * _zetaN;
                long rank;
                if (z < 1) rank = 0;
                else if (z < _twoCut) rank = 1;
                else rank = (long)(_slots * Math.Pow(_eta * u - _eta + 1, _alpha));
                return Scatter(Math.Clamp(rank, 0, _slots - 1));
            }
            case RandomDistributionKind.Pareto:
            {
                long rank = (long)((_slots - 1) * Math.Pow(Uniform(ref state), _paretoPower));
                return Scatter(Math.Clamp(rank, 0, _slots - 1));
            }
            case RandomDistributionKind.Normal when _sigma > 0:
            {
                // Box-Muller; one of the pair is enough.
                double u1 = 1 - Uniform(ref state), u2 = Uniform(ref state);
                double g = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
                long slot = (long)Math.Floor(_slots / 2.0 + g * _sigma) % _slots;
                return slot < 0 ? slot + _slots : slot;
            }
            case RandomDistributionKind.Zoned or RandomDistributionKind.ZonedAbs:
            {
                int draw = (int)(NextRandom(ref state) % 100);
                int z = 0;
                while (z < _zoneCumulative.Length - 1 && draw >= _zoneCumulative[z]) z++;
                return _zoneStart[z] + (long)(NextRandom(ref state) % (ulong)_zoneSlots[z]);
            }
            default:
                return (long)(NextRandom(ref state) % (ulong)_slots);
        }
    }

    /// <summary>xorshift64*: a few cycles, no allocation, good enough to spread offsets.</summary>
    public static ulong NextRandom(ref ulong state)
    {
        ulong x = state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state = x;
        return x * 0x2545F4914F6CDD1DUL;
    }

    /// <summary>A uniform double in [0, 1).</summary>
    private static double Uniform(ref ulong state) => (NextRandom(ref state) >> 11) * (1.0 / (1UL << 53));

    /// <summary>Moves rank <paramref name="rank"/> (0 = hottest) to a pseudo-random slot, as fio hashes its zipf and pareto values.</summary>
    private long Scatter(long rank)
    {
        // splitmix64's finalizer: a bijection on 64 bits, so distinct ranks rarely share a slot.
        ulong z = (ulong)rank + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (long)(z % (ulong)_slots);
    }
}
