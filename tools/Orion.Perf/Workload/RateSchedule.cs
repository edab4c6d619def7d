namespace Orion.Perf.Workload;

/// <summary>
/// The open-loop schedule of fio's <c>rate_iops</c>: when each I/O is meant to start, independent of when earlier
/// ones completed. Linear spaces them evenly; Poisson draws exponential gaps with the same mean. Intended times are
/// offsets from the start in double-precision ticks, so the rate does not drift with rounding.
/// Allocation-free; one schedule per workload (fio's rate is per job).
/// </summary>
internal sealed class RateSchedule
{
    private readonly double _ticksPerIo;
    private readonly bool _poisson;
    private ulong _rng;
    private long _origin;
    private double _offset;
    private long _started;

    /// <param name="iops">I/Os per second.</param>
    /// <param name="poisson">Exponential gaps (a Poisson process) rather than even ones.</param>
    /// <param name="seed">Seeds the gaps (Poisson).</param>
    /// <param name="ticksPerSecond">The clock's frequency (<see cref="System.Diagnostics.Stopwatch.Frequency"/>).</param>
    public RateSchedule(long iops, bool poisson, ulong seed, long ticksPerSecond)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iops, 1);
        _ticksPerIo = (double)ticksPerSecond / iops;
        _poisson = poisson;
        _rng = seed | 1;
    }

    /// <summary>When the next I/O is meant to start (a clock timestamp).</summary>
    public long Next { get; private set; }

    /// <summary>Mean gap between intended starts, in clock ticks.</summary>
    public double TicksPerIo => _ticksPerIo;

    /// <summary>Starts the schedule: the first I/O is due at <paramref name="now"/>.</summary>
    public void Start(long now)
    {
        _origin = now;
        _offset = 0;
        _started = 0;
        Next = now;
    }

    /// <summary>The I/O due at <see cref="Next"/> was started (or dropped): move to the one after it.</summary>
    public void Advance() => Advance(1);

    /// <summary>
    /// The I/O due at <see cref="Next"/> was started and cost <paramref name="units"/> of the rate (1 for a rate in
    /// I/Os, its bytes for a bandwidth cap, fio's <c>rate</c>): the next is due that many units later.
    /// </summary>
    public void Advance(long units)
    {
        // Linear: the start is computed afresh from the units so far, so rounding never accumulates.
        _started += units;
        _offset = _poisson ? _offset + Exponential() * _ticksPerIo * units : _started * _ticksPerIo;
        Next = _origin + (long)Math.Round(_offset);
    }

    /// <summary>How many I/Os were due by <paramref name="now"/> and not yet started (about, for Poisson).</summary>
    public long DueBy(long now) => Next > now ? 0 : (long)((now - Next) / _ticksPerIo) + 1;

    /// <summary>An exponential draw with mean 1: -ln(1 - U), U uniform in [0, 1).</summary>
    private double Exponential()
    {
        double u = (OffsetDistribution.NextRandom(ref _rng) >> 11) * (1.0 / (1UL << 53));
        return -Math.Log(1 - u);
    }
}
