namespace Orion.Perf.Logs;

/// <summary>
/// fio's latency bucket layout (stat.h, <c>FIO_IO_U_PLAT_*</c>, fio 3.x): values below 2^(BITS+1) have a bucket
/// each; above, every power of two is split into 2^BITS buckets, so a bucket's width is at most 1/2^BITS of its
/// values. 29 groups of 64 buckets: 1856, values in nanoseconds up to about 17 s (larger ones share the last
/// bucket). <c>fiologparser_hist.py</c> derives the bucket values from the same constants.
/// </summary>
internal static class FioHistogram
{
    /// <summary>FIO_IO_U_PLAT_BITS.</summary>
    public const int Bits = 6;

    /// <summary>FIO_IO_U_PLAT_VAL: buckets per group.</summary>
    public const int Val = 1 << Bits;

    /// <summary>FIO_IO_U_PLAT_GROUP_NR.</summary>
    public const int Groups = 29;

    /// <summary>FIO_IO_U_PLAT_NR: buckets in all (1856).</summary>
    public const int Buckets = Groups * Val;

    /// <summary>fio's <c>plat_val_to_idx</c>: the bucket of a value.</summary>
    public static int IndexOf(long value)
    {
        if (value < 0) value = 0;
        int msb = value == 0 ? 0 : 63 - System.Numerics.BitOperations.LeadingZeroCount((ulong)value);
        if (msb <= Bits) return (int)value;
        int errorBits = msb - Bits;
        long index = ((long)(errorBits + 1) << Bits) + ((Val - 1) & (value >> errorBits));
        return (int)Math.Min(index, Buckets - 1);
    }

    /// <summary>fio's <c>plat_idx_to_val</c>: the middle of a bucket.</summary>
    public static double ValueOf(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Buckets);
        if (index < Val << 1) return index;
        int errorBits = (index >> Bits) - 1;
        long groupBase = 1L << (errorBits + Bits);
        int k = index % Val;
        return groupBase + (k + 0.5) * (1L << errorBits);
    }
}
