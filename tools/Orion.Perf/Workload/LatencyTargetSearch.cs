namespace Orion.Perf.Workload;

/// <summary>
/// fio's latency_target search (io_u.c: lat_target_init, lat_target_check, lat_target_success, __lat_target_failed)
/// for one workload: start at depth 1; after each latency_window, if at least latency_percentile of the window's
/// I/Os completed within the target, raise the depth (doubling until the first failure, then bisecting towards the
/// last failing depth), else bisect it down. With latency_percentile 100 a single late I/O lowers the depth at once.
/// When a success leaves the depth unchanged the depth is found: the workload quiesces, its statistics restart and
/// one last window runs there, then the job ends (unless latency_run keeps the search going). Reactor thread only.
/// </summary>
internal sealed class LatencyTargetSearch
{
    /// <summary>What the workload must do after a step of the search.</summary>
    public enum Step
    {
        /// <summary>Nothing beyond the depth.</summary>
        None,
        /// <summary>The depth is found: restart the measured statistics (fio's reset_all_stats) for the last window.</summary>
        RestartMeasure,
        /// <summary>The last window at the depth found is over: the job ends (fio's td->done).</summary>
        Done,
        /// <summary>An I/O missed the target at depth 1 with latency_percentile 100: fio's "max latency exceeded".</summary>
        Fatal,
    }

    private readonly int _ioDepth;
    private readonly long _target, _window;
    private readonly double _percentile;
    private readonly bool _run;
    private int _low, _high, _stable;
    private long _completed, _completedAtCycle, _failed, _cycleStart;
    private bool _endRun;

    /// <param name="ioDepth">iodepth: the most the search goes to.</param>
    /// <param name="targetTicks">latency_target, in Stopwatch ticks.</param>
    /// <param name="windowTicks">latency_window, in Stopwatch ticks.</param>
    /// <param name="percentile">latency_percentile.</param>
    /// <param name="run">latency_run.</param>
    public LatencyTargetSearch(int ioDepth, long targetTicks, long windowTicks, double percentile, bool run)
    {
        _ioDepth = ioDepth;
        _target = targetTicks;
        _window = windowTicks;
        _percentile = percentile;
        _run = run;
        Depth = _low = 1;
        _high = ioDepth;
    }

    /// <summary>The depth to keep in flight now (fio's latency_qd).</summary>
    public int Depth { get; private set; }

    /// <summary>Set after a depth change: issue nothing until every I/O in flight came back (fio's io_u_quiesce), then clear it.</summary>
    public bool Quiesce { get; set; }

    /// <summary>Starts the first window at <paramref name="now"/>.</summary>
    public void Start(long now) => NewCycle(now);

    /// <summary>A read or write came back after <paramref name="latency"/> ticks (fio's lat_target_failed for a late one).</summary>
    public Step Completed(long latency, long now)
    {
        _completed++;
        if (latency <= _target) return Step.None;
        if (_percentile < 100)
        {
            _failed++;
            return Step.None;
        }
        return Failed(now) ? Step.Fatal : Step.None;
    }

    /// <summary>fio's lat_target_check: once a window passed, judge it.</summary>
    public Step Check(long now)
    {
        if (now - _cycleStart < _window) return Step.None;
        long ios = _completed - _completedAtCycle;
        // No I/O in a whole window fails it, as fio's 0/0 comparison does.
        double success = ios == 0 ? double.NaN : 100.0 * (ios - _failed) / ios;
        if (success >= _percentile) return Succeeded(now);
        Failed(now);
        return Step.None;
    }

    private void NewCycle(long now)
    {
        _cycleStart = now;
        _completedAtCycle = _completed;
        _failed = 0;
    }

    /// <summary>fio's __lat_target_failed: bisect down and quiesce; true when already at depth 1.</summary>
    private bool Failed(long now)
    {
        if (Depth == 1) return true;
        _high = Depth;
        if (Depth == _low) _low--;
        Depth = Math.Max(1, (Depth + _low) / 2);
        _stable = 0;
        Quiesce = true;
        NewCycle(now);
        return false;
    }

    /// <summary>fio's lat_target_success.</summary>
    private Step Succeeded(long now)
    {
        int previous = Depth;
        _low = Depth;
        if (Depth + 1 == _high && ++_stable >= 3)
        {
            _high++;                                    // fio's heuristic: stable three times in a row, try one deeper
            _stable = 0;
        }
        Depth = Math.Clamp(_high != _ioDepth ? (Depth + _high) / 2 : Depth * 2, 1, _ioDepth);
        var step = Step.None;
        if (!_run && Depth == previous)
        {
            if (_endRun) return Step.Done;
            Quiesce = true;
            _endRun = true;
            step = Step.RestartMeasure;
        }
        NewCycle(now);
        return step;
    }
}
