namespace Orion.Perf.Reporting;

/// <summary>One direction of one interval: what completed in it and its completion latency.</summary>
/// <param name="Ios">I/Os completed in the interval.</param>
/// <param name="Bytes">Bytes they moved.</param>
/// <param name="P50ClatNs">Median completion latency, ns (0 without I/O).</param>
/// <param name="P99ClatNs">99th percentile completion latency, ns (0 without I/O).</param>
/// <param name="MaxClatNs">Largest completion latency, ns (0 without I/O).</param>
public readonly record struct IntervalDirection(long Ios, long Bytes, long P50ClatNs, long P99ClatNs, long MaxClatNs);

/// <summary>
/// One interval of a job's measured window (<c>--log_hist_msec</c> long, the last one possibly shorter or a little
/// longer): the same intervals as the <c>--write_hist_log</c> file.
/// </summary>
/// <param name="StartSeconds">Start, in seconds after the job's first interval started.</param>
/// <param name="LengthSeconds">Length in seconds.</param>
/// <param name="Read">Reads.</param>
/// <param name="Write">Writes.</param>
/// <param name="Trim">Trims.</param>
public sealed record IntervalSample(double StartSeconds, double LengthSeconds, IntervalDirection Read, IntervalDirection Write, IntervalDirection Trim)
{
    /// <summary>The three directions in fio's order.</summary>
    public IEnumerable<(string Name, IntervalDirection Result)> Directions => [("read", Read), ("write", Write), ("trim", Trim)];

    /// <summary>I/Os per second of all directions.</summary>
    public double Iops => LengthSeconds <= 0 ? 0 : (Read.Ios + Write.Ios + Trim.Ios) / LengthSeconds;
}
