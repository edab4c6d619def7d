using System.Diagnostics;
using Orion.Perf.Options;

namespace Orion.Perf.Workload;

/// <summary>
/// fio's steady-state detection (steadystate.c) for one job: every check interval (<c>ss_interval</c>, 1 s) after
/// <c>ss_ramp</c> it takes the IOPS and bandwidth of the interval, keeps the last <c>ss_dur</c> of them, and once the
/// window is full computes the criterion each interval: the largest deviation from the window's mean, or the
/// least-squares slope (x = 0..n-1, oldest first), as a value or a percentage of the mean. Below the limit the job has
/// reached steady state and ends. Read by the job's thread only.
/// </summary>
internal sealed class SteadyStateDetector
{
    private readonly SteadyStateSpec _spec;
    private readonly long _intervalTicks, _rampEndTicks;
    private readonly long[] _iops, _bw;
    private int _count;                 // samples in the window (up to its length), newest at _count-1 before it fills
    private int _head;                  // once full: the oldest sample's index
    private long _prevTicks, _prevIos, _prevBytes;
    private bool _collecting;

    /// <param name="spec">The criterion.</param>
    /// <param name="duration">ss_dur: the window.</param>
    /// <param name="ramp">ss_ramp: time before data collection begins.</param>
    /// <param name="interval">ss_interval: the check interval.</param>
    /// <param name="startTicks">When the job started (Stopwatch ticks).</param>
    public SteadyStateDetector(SteadyStateSpec spec, TimeSpan duration, TimeSpan ramp, TimeSpan interval, long startTicks)
    {
        _spec = spec;
        _intervalTicks = (long)(interval.TotalSeconds * Stopwatch.Frequency);
        int n = Math.Max(1, (int)(duration.Ticks / interval.Ticks));
        _iops = new long[n];
        _bw = new long[n];
        DurationSeconds = (int)duration.TotalSeconds;
        // fio: recording begins one check interval after ss_ramp (that interval only sets the baseline); without a ramp at once.
        _rampEndTicks = ramp > TimeSpan.Zero ? startTicks + (long)(ramp.TotalSeconds * Stopwatch.Frequency) : 0;
        _collecting = ramp <= TimeSpan.Zero;
        _prevTicks = startTicks;
    }

    /// <summary>ss_dur in seconds.</summary>
    public int DurationSeconds { get; }

    /// <summary>Whether the criterion fell below the limit (the job was ended for it).</summary>
    public bool Attained { get; private set; }

    /// <summary>The criterion last computed (0 until the window filled).</summary>
    public double Criterion { get; private set; }

    /// <summary>The largest deviation from the mean last computed (deviation criteria).</summary>
    public double MaxDeviation { get; private set; }

    /// <summary>The slope last computed (slope criteria).</summary>
    public double Slope { get; private set; }

    /// <summary>
    /// Takes a sample when a check interval has passed since the last; <paramref name="ios"/> and <paramref name="bytes"/>
    /// are the job's completions so far. Returns true the first time the criterion is met.
    /// </summary>
    public bool Check(long nowTicks, long ios, long bytes)
    {
        if (Attained || nowTicks - _prevTicks < _intervalTicks) return false;
        double seconds = (double)(nowTicks - _prevTicks) / Stopwatch.Frequency;
        long dIos = ios - _prevIos, dBytes = bytes - _prevBytes;
        _prevTicks = nowTicks;
        _prevIos = ios;
        _prevBytes = bytes;
        if (!_collecting)
        {
            if (nowTicks >= _rampEndTicks + _intervalTicks) _collecting = true;
            return false;
        }
        Add((long)(dIos / seconds), (long)(dBytes / seconds));
        if (_count < _iops.Length) return false;
        Criterion = Evaluate();
        if (Math.Abs(Criterion) < _spec.Limit) Attained = true;
        return Attained;
    }

    private void Add(long iops, long bw)
    {
        if (_count < _iops.Length)
        {
            _iops[_count] = iops;
            _bw[_count] = bw;
            _count++;
            return;
        }
        _iops[_head] = iops;
        _bw[_head] = bw;
        _head = (_head + 1) % _iops.Length;
    }

    /// <summary>The window, oldest first, of the measure the criterion uses.</summary>
    private double At(int i) => (_spec.Bandwidth ? _bw : _iops)[(_head + i) % _iops.Length];

    private double Evaluate()
    {
        int n = _iops.Length;
        double sum = 0;
        for (int i = 0; i < n; i++) sum += At(i);
        double mean = sum / n;
        if (_spec.Slope)
        {
            double sumX = n * (n - 1) / 2.0, sumX2 = (n - 1) * n * (2.0 * n - 1) / 6, sumXy = 0;
            for (int i = 0; i < n; i++) sumXy += i * At(i);
            double denominator = sumX2 - sumX * sumX / n;
            Slope = denominator == 0 ? 0 : (sumXy - sumX * sum / n) / denominator;
            return _spec.Percent ? (mean == 0 ? double.PositiveInfinity : 100.0 * Slope / mean) : Slope;
        }
        double deviation = 0;
        for (int i = 0; i < n; i++) deviation = Math.Max(deviation, Math.Abs(At(i) - mean));
        MaxDeviation = deviation;
        return _spec.Percent ? (mean == 0 ? double.PositiveInfinity : 100.0 * deviation / mean) : deviation;
    }

    /// <summary>What fio's JSON <c>steadystate</c> section reports: the window's samples, oldest first (zeros where not yet filled).</summary>
    public Reporting.SteadyStateResult Result()
    {
        int n = _iops.Length;
        long[] iops = new long[n], bw = new long[n];
        for (int i = 0; i < n; i++)
        {
            int k = _count < n ? i : (_head + i) % n;
            iops[i] = i < _count || _count == n ? _iops[k] : 0;
            bw[i] = i < _count || _count == n ? _bw[k] : 0;
        }
        return new Reporting.SteadyStateResult(_spec, DurationSeconds, Attained, double.IsFinite(Criterion) ? Criterion : 0, MaxDeviation, Slope, iops, bw);
    }
}
