namespace Orion.Perf.Reporting;

/// <summary>
/// fio's three queue-depth distributions of a job, counted as fio's io_u.c counts them: <see cref="Level"/>
/// (<c>iodepth_level</c>, fio's <c>io_u_map</c>: each I/O placed in the ring, in the bucket of the depth in flight
/// once its batch was placed), <see cref="Submit"/> (<c>iodepth_submit</c>: each batch the queue placed with one
/// publish, in the bucket of its size) and <see cref="Complete"/> (<c>iodepth_complete</c>: each reaped batch of
/// completions, in the bucket of its size). Single writer (the workload's reactor); read once the workload is done.
/// </summary>
public sealed class DepthDistribution
{
    /// <summary>fio's seven buckets (FIO_IO_U_MAP_NR).</summary>
    public const int Buckets = 7;

    /// <summary>I/Os by the depth in flight when they were placed: 1, 2-3, 4-7, 8-15, 16-31, 32-63, 64 and more.</summary>
    public long[] Level { get; } = new long[Buckets];

    /// <summary>Placement batches by size: 0, 1-4, 5-8, 9-16, 17-32, 33-64, 65 and more.</summary>
    public long[] Submit { get; } = new long[Buckets];

    /// <summary>Reaped completion batches by size, in <see cref="Submit"/>'s buckets.</summary>
    public long[] Complete { get; } = new long[Buckets];

    /// <summary>Batches placed (fio's <c>total_submit</c>).</summary>
    public long TotalSubmit { get; private set; }

    /// <summary>Completion batches reaped (fio's <c>total_complete</c>).</summary>
    public long TotalComplete { get; private set; }

    /// <summary><paramref name="ios"/> I/Os were placed with <paramref name="depth"/> in flight (fio's io_u_mark_depth).</summary>
    public void MarkDepth(int depth, int ios) => Level[LevelIndex(depth)] += ios;

    /// <summary>One batch of <paramref name="ios"/> I/Os was placed (fio's io_u_mark_submit).</summary>
    public void MarkSubmit(int ios)
    {
        Submit[BatchIndex(ios)]++;
        TotalSubmit++;
    }

    /// <summary>One batch of <paramref name="ios"/> completions was reaped (fio's io_u_mark_complete).</summary>
    public void MarkComplete(int ios)
    {
        Complete[BatchIndex(ios)]++;
        TotalComplete++;
    }

    /// <summary>Forgets everything (the ramp is over).</summary>
    public void Reset()
    {
        Array.Clear(Level);
        Array.Clear(Submit);
        Array.Clear(Complete);
        TotalSubmit = TotalComplete = 0;
    }

    /// <summary>Adds <paramref name="other"/>'s counts (fio's sum_thread_stats).</summary>
    public void Add(DepthDistribution other)
    {
        ArgumentNullException.ThrowIfNull(other);
        for (int i = 0; i < Buckets; i++)
        {
            Level[i] += other.Level[i];
            Submit[i] += other.Submit[i];
            Complete[i] += other.Complete[i];
        }
        TotalSubmit += other.TotalSubmit;
        TotalComplete += other.TotalComplete;
    }

    /// <summary>The sum of several distributions.</summary>
    public static DepthDistribution Sum(IEnumerable<DepthDistribution> parts)
    {
        var total = new DepthDistribution();
        foreach (var p in parts) total.Add(p);
        return total;
    }

    /// <summary>fio's stat_calc_dist: each bucket in percent of <paramref name="total"/>, a non-empty one at least 0.1 %.</summary>
    public static double[] Percentages(long[] map, long total)
    {
        var pct = new double[map.Length];
        if (total <= 0) return pct;
        for (int i = 0; i < map.Length; i++)
        {
            pct[i] = map[i] * 100.0 / total;
            if (pct[i] < 0.1 && map[i] > 0) pct[i] = 0.1;
        }
        return pct;
    }

    /// <summary>fio's io_u_mark_depth buckets.</summary>
    private static int LevelIndex(int depth) => depth switch
    {
        <= 1 => 0,
        < 4 => 1,
        < 8 => 2,
        < 16 => 3,
        < 32 => 4,
        < 64 => 5,
        _ => 6,
    };

    /// <summary>fio's __io_u_mark_map buckets.</summary>
    private static int BatchIndex(int ios) => ios switch
    {
        <= 0 => 0,
        <= 4 => 1,
        <= 8 => 2,
        <= 16 => 3,
        <= 32 => 4,
        <= 64 => 5,
        _ => 6,
    };
}
