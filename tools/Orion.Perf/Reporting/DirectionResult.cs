using HdrHistogram;

namespace Orion.Perf.Reporting;

/// <summary>What one direction (read, write or trim) of a job did in the measured window.</summary>
public sealed class DirectionResult
{
    /// <summary>I/Os completed, successful or not.</summary>
    public long TotalIos { get; set; }

    /// <summary>Bytes transferred by successful I/Os.</summary>
    public long Bytes { get; set; }

    /// <summary>I/Os that completed with an error.</summary>
    public long Errors { get; set; }

    /// <summary>Completion latency (submit to completion) in nanoseconds; null or empty when there was no I/O.</summary>
    public LongHistogram? ClatNs { get; set; }

    /// <summary>Whether the direction did any I/O (fio leaves such directions out of its text report).</summary>
    public bool HasIo => TotalIos > 0;
}
