using HdrHistogram;

namespace Orion.Perf.Reporting;

/// <summary>What one direction (read, write or trim) of a job did in the measured window.</summary>
public sealed partial class DirectionResult
{
    /// <summary>I/Os completed, successful or not (fio's total_io_u: the one count a failed I/O is in besides <see cref="Errors"/>).</summary>
    public long TotalIos { get; set; }

    /// <summary>Bytes transferred by successful I/Os.</summary>
    public long Bytes { get; set; }

    /// <summary>I/Os that completed with an error.</summary>
    public long Errors { get; set; }

    /// <summary>Submission latency (issue to placement in the ring) of successful I/Os in nanoseconds; null when not measured.</summary>
    public LongHistogram? SlatNs { get; set; }

    /// <summary>Completion latency (placement in the ring to completion) in nanoseconds; null or empty when there was no I/O.</summary>
    public LongHistogram? ClatNs { get; set; }

    /// <summary>Total latency (issue to completion, slat + clat) in nanoseconds; null when not measured.</summary>
    public LongHistogram? LatNs { get; set; }

    /// <summary>
    /// With <c>--rate_iops</c>: latency from each I/O's intended start on the schedule to its completion, in
    /// nanoseconds (coordinated-omission corrected); null without a rate.
    /// </summary>
    public LongHistogram? IntendedLatNs { get; set; }

    /// <summary>With a rate: I/Os started in the measured window on the schedule.</summary>
    public long ScheduledIos { get; set; }

    /// <summary>With a rate: the sum of how late those I/Os started, ns.</summary>
    public long ScheduleLagSumNs { get; set; }

    /// <summary>With a rate: the latest start, ns behind schedule.</summary>
    public long ScheduleLagMaxNs { get; set; }

    /// <summary>With a rate: the mean start delay behind schedule, ns.</summary>
    public double MeanScheduleLagNs => ScheduledIos == 0 ? 0 : (double)ScheduleLagSumNs / ScheduledIos;

    /// <summary>
    /// Bandwidth samples in KiB/s, one per <c>bwavgtime</c> window of the measured phase (fio's <c>bw_min</c>,
    /// <c>bw_max</c>, <c>bw_mean</c>, <c>bw_dev</c>, <c>bw_samples</c>); null when not sampled.
    /// </summary>
    public RateStat? BwStat { get; set; }

    /// <summary>IOPS samples, one per <c>iopsavgtime</c> window (fio's <c>iops_min</c> ... <c>iops_samples</c>); null when not sampled.</summary>
    public RateStat? IopsStat { get; set; }

    /// <summary>Whether the direction did any I/O (fio leaves such directions out of its text report).</summary>
    public bool HasIo => TotalIos > 0;
}
