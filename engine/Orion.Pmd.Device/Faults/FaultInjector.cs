using System.Diagnostics;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Device.Faults;

/// <summary>Faults injected on one queue (or summed over queues), by kind; written by the device thread, read by anyone.</summary>
public readonly record struct FaultCounters(
    long Requests, long IoErrors, long Unsupported, long Delays, long Drops, long Stalls, long NeedsReset,
    long GarbageIdRange, long GarbageIdUnused, long GarbageIdDuplicate, long GarbageLength, long GarbageWrap)
{
    /// <summary>Every garbage used element written.</summary>
    public long Garbage => GarbageIdRange + GarbageIdUnused + GarbageIdDuplicate + GarbageLength + GarbageWrap;
    /// <summary>Every fault injected.</summary>
    public long Total => IoErrors + Unsupported + Delays + Drops + Stalls + NeedsReset + Garbage;

    /// <summary>The sum of two sets of counters.</summary>
    public static FaultCounters operator +(FaultCounters a, FaultCounters b) => new(
        a.Requests + b.Requests, a.IoErrors + b.IoErrors, a.Unsupported + b.Unsupported, a.Delays + b.Delays, a.Drops + b.Drops,
        a.Stalls + b.Stalls, a.NeedsReset + b.NeedsReset, a.GarbageIdRange + b.GarbageIdRange, a.GarbageIdUnused + b.GarbageIdUnused,
        a.GarbageIdDuplicate + b.GarbageIdDuplicate, a.GarbageLength + b.GarbageLength, a.GarbageWrap + b.GarbageWrap);
}

/// <summary>The fault a request gets: none (<see cref="Rule"/> null), or the first rule of the plan that fired.</summary>
internal readonly struct FaultDecision
{
    public FaultDecision(FaultRule rule, long ticks)
    {
        Rule = rule;
        DurationTicks = ticks;
    }

    public FaultRule? Rule { get; }
    public long DurationTicks { get; }
    public bool None => Rule is null;
}

/// <summary>
/// One queue's view of a <see cref="FaultPlan"/>: per-rule request counters, the rate PRNG (splitmix64, seeded from the
/// plan's seed and the queue index, so a run is reproducible) and the counters of faults injected. Single-threaded (the
/// queue's device thread); <see cref="Decide"/> does not allocate.
/// </summary>
internal sealed class FaultInjector
{
    private readonly FaultRule[] _rules;
    private readonly long[] _ticks;
    private readonly ulong[] _threshold;       // rate rules: fire when the next random is below this
    private readonly long[] _matched;          // matching requests seen, per rule
    private readonly long[] _injected = new long[12];
    private ulong _rng;

    public FaultInjector(FaultPlan plan, int queue, bool packed)
    {
        _rules = [.. plan.Rules.Where(r => (r.Queue is null || r.Queue == queue) && (packed || r.Garbage != GarbageKind.Wrap))];
        _ticks = [.. _rules.Select(r => r.Duration > TimeSpan.Zero ? Math.Max(1, (long)Math.Ceiling(r.Duration.TotalSeconds * Stopwatch.Frequency)) : 0)];
        _threshold = [.. _rules.Select(r => r.RatePercent >= 100 ? ulong.MaxValue : (ulong)(r.RatePercent / 100 * 18446744073709551616.0))];
        _matched = new long[_rules.Length];
        _rng = plan.Seed ^ (0x9E3779B97F4A7C15UL * (ulong)(queue + 1));
        HasGarbage = _rules.Any(r => r.Kind == FaultKind.Garbage);
    }

    /// <summary>Whether any rule of this queue writes garbage (the queue then tracks ids in flight).</summary>
    public bool HasGarbage { get; }

    /// <summary>Whether the plan has any rule for this queue at all.</summary>
    public bool IsEmpty => _rules.Length == 0;

    /// <summary>Counts the request and picks its fault; <paramref name="type"/> is null when the header could not be read.</summary>
    public FaultDecision Decide(BlkRequestType? type)
    {
        Volatile.Write(ref _injected[0], _injected[0] + 1);
        FaultDecision decision = default;
        for (int i = 0; i < _rules.Length; i++)
        {
            var r = _rules[i];
            if (r.Type is { } t && t != type) continue;
            long n = ++_matched[i];
            bool fire = r.Every > 0 ? n % r.Every == 0
                : r.At > 0 ? n == r.At
                : NextRandom() < _threshold[i];
            if (fire && decision.None) decision = new FaultDecision(r, _ticks[i]);
        }
        return decision;
    }

    /// <summary>Records that <paramref name="rule"/> was injected.</summary>
    public void Count(FaultRule rule)
    {
        int slot = rule.Kind == FaultKind.Garbage ? 6 + (int)rule.Garbage : 1 + (int)rule.Kind;
        Volatile.Write(ref _injected[slot], _injected[slot] + 1);
    }

    public FaultCounters Counters
    {
        get
        {
            long R(int i) => Volatile.Read(ref _injected[i]);
            return new FaultCounters(R(0), R(1), R(2), R(3), R(4), R(5), R(6), R(7), R(8), R(9), R(10), R(11));
        }
    }

    private ulong NextRandom()
    {
        // splitmix64
        ulong z = _rng += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
