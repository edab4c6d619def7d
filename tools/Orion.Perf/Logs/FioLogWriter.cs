using System.Diagnostics;
using Orion.Perf.Options;
using Orion.Perf.Workload;

namespace Orion.Perf.Logs;

/// <summary>
/// One clone's fio logs (<c>write_lat_log</c>, <c>write_bw_log</c>, <c>write_iops_log</c>, <c>write_hist_log</c>),
/// fed from its <see cref="IoLogRing"/> on the thread that runs the job, never on the reactor. Times are ms since
/// the clone's measured phase started (fio's epoch is reset after the ramp too). Without <c>log_avg_msec</c> every
/// I/O gets a line in each log, as fio's: slat/clat/lat in ns, bandwidth as fio's per-I/O
/// <c>bytes * 10^6 / clat_ns</c>, IOPS 1. With it, see <see cref="FioWindowedLogs"/>.
/// </summary>
internal sealed class FioLogWriter : IIoLogSink
{
    private readonly FioLogLine _line;
    private readonly TextWriter? _slat, _clat, _lat, _bw, _iops;
    private readonly FioWindowedLogs? _windowed;
    private readonly FioHistLog? _hist;
    private long _startTicks;

    /// <param name="o">The job's options.</param>
    /// <param name="threadNumber">The clone's fio thread number (from 1), in the file names.</param>
    /// <param name="files">The run's open log files.</param>
    /// <param name="fixedBlockBytes">The job's block size when every I/O has it (fio writes it in windowed bw/iops lines), else 0.</param>
    public FioLogWriter(JobOptions o, int threadNumber, FioLogFiles files, int fixedBlockBytes)
    {
        _line = new FioLogLine(o.LogOffset, o.LogPrio);
        TextWriter? Open(FioLogKind kind) => o.FioLogPath(kind, threadNumber) is { } path ? files.Open(path, o) : null;
        _slat = Open(FioLogKind.Slat);
        _clat = Open(FioLogKind.Clat);
        _lat = Open(FioLogKind.Lat);
        _bw = Open(FioLogKind.Bw);
        _iops = Open(FioLogKind.Iops);
        if (Open(FioLogKind.ClatHist) is { } hist) _hist = new FioHistLog(hist, o.IntervalMs, o.LogHistCoarseness);
        if (o.LogAvgMsec > 0)
            _windowed = new FioWindowedLogs(_line, o.LogAvgMsec, o.LogMaxValue, fixedBlockBytes, _slat, _clat, _lat, _bw, _iops);
    }

    /// <summary>Whether <see cref="Start"/> was called.</summary>
    public bool Started { get; private set; }

    /// <summary>The clone's measured phase started at <paramref name="measureStartTicks"/> (Stopwatch ticks): time 0 of its lines.</summary>
    public void Start(long measureStartTicks)
    {
        _startTicks = measureStartTicks;
        Started = true;
    }

    /// <summary>Ms since the start, truncated as fio's <c>mtime_since</c>.</summary>
    private long Ms(long ticks) => Math.Max(0, (ticks - _startTicks) * 1000 / Stopwatch.Frequency);

    public void Add(in IoLogEntry e)
    {
        long t = Ms(e.Ticks);
        int d = (int)e.Direction;
        _hist?.Add(t, d, e.ClatNs, e.Bytes);
        if (_windowed is not null)
        {
            _windowed.Add(t, d, e);
            return;
        }
        if (_slat is not null) _line.Write(_slat, t, e.SlatNs, d, e.Bytes, e.Offset);
        if (_clat is not null) _line.Write(_clat, t, e.ClatNs, d, e.Bytes, e.Offset);
        if (_lat is not null) _line.Write(_lat, t, e.LatNs, d, e.Bytes, e.Offset);
        if (_bw is not null) _line.Write(_bw, t, e.ClatNs > 0 ? e.Bytes * 1_000_000L / e.ClatNs : 0, d, e.Bytes, e.Offset);
        if (_iops is not null) _line.Write(_iops, t, 1, d, e.Bytes, e.Offset);
    }

    /// <summary>The clone's measured phase ended at <paramref name="endTicks"/>: what the windows still hold is written.</summary>
    public void Finish(long endTicks)
    {
        long end = Ms(endTicks);
        _windowed?.Finish(end);
        _hist?.Finish(end);
    }
}
