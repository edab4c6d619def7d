using System.Diagnostics;
using Orion.Perf.Reporting;

namespace Orion.Perf.Workload;

/// <summary>
/// fio's bandwidth or IOPS sampling (stat.c <c>__add_samples</c>) for one clone, run on the thread that runs the job
/// while the clone measures: once a sample length (<c>bwavgtime</c>/<c>iopsavgtime</c>, 500 ms by default) has passed
/// since the last sample, each direction that completed anything since gets one sample, its rate over the time
/// actually passed in whole ms (KiB/s for bandwidth, I/Os per second for IOPS, integer as fio's). A job shorter than
/// one sample length has none, and the partial window at the end is not sampled, as in fio.
/// </summary>
internal sealed class RateSampler(int sampleMs, bool bandwidth)
{
    private readonly long[] _last = new long[3];
    private long _lastTicks;
    private bool _started, _done;

    /// <summary>The samples' statistics per direction (read, write, trim).</summary>
    public RateStat[] Stats { get; } = [new(), new(), new()];

    /// <summary>Samples <paramref name="w"/> at <paramref name="now"/> (Stopwatch ticks) if a sample length has passed.</summary>
    public void Sample(WorkloadPoller w, long now)
    {
        if (_done) return;
        long start = w.MeasureStartTicks;
        if (start == 0) return;
        if (!_started)
        {
            _started = true;
            _lastTicks = start;
        }
        // After the clone stopped issuing, one last sample of a window that was complete by then.
        long stopped = w.StoppedIssuingAt;
        if (stopped != 0)
        {
            now = Math.Min(now, stopped);
            _done = true;
        }
        long spent = (now - _lastTicks) * 1000 / Stopwatch.Frequency;
        if (spent < sampleMs && sampleMs - spent > 1) return;      // fio's LOG_MSEC_SLACK
        for (int d = 0; d < 3; d++)
        {
            long current = bandwidth ? w.MeasuredBytes(d) : w.MeasuredIos(d);
            long delta = current - _last[d];
            if (delta == 0) continue;
            Stats[d].Add(spent == 0 ? 0 : bandwidth ? delta * 1000 / spent / 1024 : delta * 1000 / spent);
            _last[d] = current;
        }
        _lastTicks = now;
    }
}
