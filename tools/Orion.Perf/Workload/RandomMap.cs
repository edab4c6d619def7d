namespace Orion.Perf.Workload;

/// <summary>
/// fio's random map: uniform random offsets that visit every slot of the region exactly once per pass, then start
/// a new pass in a new order. fio gets this from a bitmap of blocks done (tausworthe) or a full-period LFSR; here a
/// keyed bijection on the next power of two, walked until it lands inside the region (cycle walking), turns the
/// pass's counter into a slot. The order is our own, the property is fio's. Allocation-free per draw; O(1) memory.
/// </summary>
internal sealed class RandomMap
{
    private readonly ulong _slots, _mask;
    private readonly int _shift;
    private ulong _seed, _k0, _k1, _index;

    /// <param name="slots">Slots in the region (at least 1).</param>
    /// <param name="seed">Seeds each pass's order.</param>
    public RandomMap(long slots, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        _slots = (ulong)slots;
        int bits = slots == 1 ? 1 : 64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)slots - 1);
        _mask = bits >= 64 ? ulong.MaxValue : (1UL << bits) - 1;
        _shift = Math.Max(1, bits / 2);
        _seed = seed | 1;
        NewPass();
    }

    /// <summary>Passes started so far (the first is 1).</summary>
    public long Pass { get; private set; }

    /// <summary>The next slot: each of 0..slots-1 once per pass.</summary>
    public long Next()
    {
        if (_index == _slots) NewPass();
        ulong x = Permute(_index++);
        while (x >= _slots) x = Permute(x);       // cycle walking stays a bijection on [0, slots)
        return (long)x;
    }

    /// <summary>Starts a new pass now (fio resets its map when a strided zone is entered).</summary>
    public void Restart() => NewPass();

    private void NewPass()
    {
        _index = 0;
        _k0 = OffsetDistribution.NextRandom(ref _seed);
        _k1 = OffsetDistribution.NextRandom(ref _seed) | 1;      // odd: multiplication by it is invertible mod 2^bits
        Pass++;
    }

    /// <summary>A bijection on [0, 2^bits): add, xor-shift and odd multiplications, each invertible modulo 2^bits.</summary>
    private ulong Permute(ulong x)
    {
        x = (x + _k0) & _mask;
        x ^= x >> _shift;
        x = (x * _k1) & _mask;
        x ^= x >> _shift;
        x = (x * 0x9E3779B97F4A7C15UL) & _mask;
        x ^= x >> _shift;
        return x;
    }
}
