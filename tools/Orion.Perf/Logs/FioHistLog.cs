namespace Orion.Perf.Logs;

/// <summary>
/// fio's completion-latency histogram log (<c>write_hist_log</c>; stat.c <c>add_clat_sample</c>, iolog.c
/// <c>flush_hist_samples</c>), for one clone: per direction, the clat of every I/O goes into fio's buckets
/// (<see cref="FioHistogram"/>), and the first completion at least <c>log_hist_msec</c> after the direction's last
/// line writes a line: <c>time ms, direction, block size of that I/O, bucket counts since the last line...</c>, the
/// buckets summed in runs of 2^coarseness. Unlike fio, <see cref="Finish"/> also writes what came after the last line,
/// so every logged I/O is in exactly one line.
/// </summary>
internal sealed class FioHistLog
{
    private readonly TextWriter _w;
    private readonly int _msec;
    private readonly int _stride;
    private readonly long[][] _counts = new long[3][];        // per direction, since its last line
    private readonly long[] _last = new long[3];              // ms of the direction's last line (or first I/O)
    private readonly bool[] _started = new bool[3];
    private readonly bool[] _pending = new bool[3];           // counts not yet written
    private readonly int[] _lastBytes = new int[3];
    private readonly char[] _scratch = new char[24];

    /// <param name="w">The file.</param>
    /// <param name="msec">fio's <c>log_hist_msec</c>.</param>
    /// <param name="coarseness">fio's <c>log_hist_coarseness</c>: 0 to 6.</param>
    public FioHistLog(TextWriter w, int msec, int coarseness)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(msec, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(coarseness);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(coarseness, Options.JobOptions.MaxHistCoarseness);
        _w = w;
        _msec = msec;
        _stride = 1 << coarseness;
        for (int d = 0; d < 3; d++) _counts[d] = new long[FioHistogram.Buckets];
    }

    /// <summary>Columns of a line: time, direction, block size and the buckets.</summary>
    public int Columns => 3 + FioHistogram.Buckets / _stride;

    /// <summary>One completion at <paramref name="timeMs"/>.</summary>
    public void Add(long timeMs, int direction, long clatNs, int bytes)
    {
        _counts[direction][FioHistogram.IndexOf(clatNs)]++;
        _pending[direction] = true;
        _lastBytes[direction] = bytes;
        // fio starts a direction's first window at its first completion.
        if (!_started[direction])
        {
            _started[direction] = true;
            _last[direction] = timeMs;
        }
        long window = timeMs - _last[direction];
        if (window < _msec) return;
        WriteLine(timeMs, direction);
        _last[direction] = timeMs - (window - _msec);        // fio: keep the grid, less the drift
    }

    /// <summary>The end of the clone's window at <paramref name="endMs"/>: writes each direction's unwritten counts.</summary>
    public void Finish(long endMs)
    {
        for (int d = 0; d < 3; d++)
            if (_pending[d]) WriteLine(endMs, d);
    }

    private void WriteLine(long timeMs, int direction)
    {
        var counts = _counts[direction];
        WriteNumber(timeMs, first: true);
        WriteNumber(direction, first: false);
        WriteNumber(_lastBytes[direction], first: false);
        for (int j = 0; j < FioHistogram.Buckets; j += _stride)
        {
            long sum = 0;
            for (int k = j; k < j + _stride; k++) sum += counts[k];
            WriteNumber(sum, first: false);
        }
        _w.Write('\n');
        Array.Clear(counts);
        _pending[direction] = false;
    }

    private void WriteNumber(long value, bool first)
    {
        var s = _scratch.AsSpan();
        int n = first ? 0 : FioLogLine.Sep(s);
        n += FioLogLine.Put(s[n..], value);
        _w.Write(s[..n]);
    }
}
