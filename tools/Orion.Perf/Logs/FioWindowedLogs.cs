using Orion.Perf.Workload;

namespace Orion.Perf.Logs;

/// <summary>
/// fio's logs with <c>log_avg_msec</c> (stat.c <c>add_log_sample</c> and <c>__add_samples</c>). Latency logs: per
/// direction, the values of a window are averaged (rounded, or the largest with <c>log_max_value</c>), and the
/// first completion at least a window after the last line writes it, stamped with its time, block size and offset
/// 0; the job's end writes the rest. Bandwidth (KiB/s) and IOPS logs: per window of the grid, each direction that
/// completed anything gets its rate over the window, stamped at the window's end with the job's block size (0 when
/// it varies); a last, partial window is not written, as in fio.
/// </summary>
internal sealed class FioWindowedLogs
{
    private readonly FioLogLine _line;
    private readonly int _msec;
    private readonly bool _max;
    private readonly int _blockBytes;
    private readonly TextWriter?[] _latLogs;          // slat, clat, lat
    private readonly Window[,] _windows = new Window[3, 3];   // [log, direction]
    private readonly long[] _latLast = new long[3 * 3];
    private readonly TextWriter? _bw, _iops;
    private long _rateStart;                          // ms: the open bw/iops window's start on the grid
    private readonly long[] _bytes = new long[3], _ios = new long[3];

    private struct Window
    {
        public long Samples, Max;
        public double Mean;

        public void Add(long v)
        {
            if (v > Max) Max = v;
            Mean += (v - Mean) / (Samples + 1.0);
            Samples++;
        }
    }

    public FioWindowedLogs(FioLogLine line, int msec, bool max, int blockBytes, TextWriter? slat, TextWriter? clat, TextWriter? lat, TextWriter? bw, TextWriter? iops)
    {
        _line = line;
        _msec = msec;
        _max = max;
        _blockBytes = blockBytes;
        _latLogs = [slat, clat, lat];
        _bw = bw;
        _iops = iops;
    }

    /// <summary>One completion at <paramref name="t"/> ms.</summary>
    public void Add(long t, int d, in IoLogEntry e)
    {
        for (int log = 0; log < 3; log++)
        {
            if (_latLogs[log] is null) continue;
            _windows[log, d].Add(log == 0 ? e.SlatNs : log == 1 ? e.ClatNs : e.LatNs);
            ref long last = ref _latLast[log * 3 + d];
            if (t < last || t - last < _msec) continue;
            WriteLat(log, d, t);
            last = t - t % _msec;
        }
        if (_bw is null && _iops is null) return;
        if (t >= _rateStart + _msec)
        {
            WriteRates(_rateStart + _msec);
            _rateStart = t - t % _msec;           // windows without I/O write nothing
        }
        _bytes[d] += e.Bytes;
        _ios[d]++;
    }

    /// <summary>The end at <paramref name="end"/> ms: the latency windows' rest is written.</summary>
    public void Finish(long end)
    {
        for (int log = 0; log < 3; log++)
            for (int d = 0; d < 3; d++)
                if (_latLogs[log] is not null && _windows[log, d].Samples > 0) WriteLat(log, d, end);
    }

    private void WriteLat(int log, int d, long t)
    {
        ref var w = ref _windows[log, d];
        _line.Write(_latLogs[log]!, t, _max ? w.Max : (long)(w.Mean + 0.5), d, 0, 0);
        w = default;
    }

    private void WriteRates(long t)
    {
        for (int d = 0; d < 3; d++)
        {
            if (_ios[d] == 0) continue;
            if (_bw is not null) _line.Write(_bw, t, _bytes[d] * 1000 / _msec / 1024, d, _blockBytes, 0);
            if (_iops is not null) _line.Write(_iops, t, _ios[d] * 1000 / _msec, d, _blockBytes, 0);
            _bytes[d] = _ios[d] = 0;
        }
    }
}
