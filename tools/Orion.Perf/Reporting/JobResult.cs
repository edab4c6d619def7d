using Orion.Perf.Options;

namespace Orion.Perf.Reporting;

/// <summary>Everything the reports need about one finished job.</summary>
public sealed partial class JobResult
{
    /// <summary>Job name (usually <see cref="JobOptions.Name"/>).</summary>
    public required string Name { get; init; }

    /// <summary>The options the job ran with.</summary>
    public required JobOptions Options { get; init; }

    /// <summary>A description of the device (for example <c>mem:1g (RAM disk, 1 GiB, 512-byte blocks)</c>).</summary>
    public required string Device { get; init; }

    /// <summary>The measured window; excludes the ramp.</summary>
    public TimeSpan Runtime { get; set; }

    /// <summary>Reads.</summary>
    public DirectionResult Read { get; set; } = new();

    /// <summary>Writes.</summary>
    public DirectionResult Write { get; set; } = new();

    /// <summary>Trims (discards).</summary>
    public DirectionResult Trim { get; set; } = new();

    /// <summary>User CPU time of the whole process over the window, device thread included.</summary>
    public double UserCpuSeconds { get; set; }

    /// <summary>System CPU time of the whole process over the window.</summary>
    public double SystemCpuSeconds { get; set; }

    /// <summary>
    /// Bytes the job's reactor threads, where the data path runs (engine and workload), allocated on the managed heap
    /// over the measured window: a counted figure that a noisy neighbour does not move; it should be nothing per I/O.
    /// </summary>
    public long AllocatedBytes { get; set; }

    /// <summary><see cref="AllocatedBytes"/> per I/O; null when there was no I/O.</summary>
    public double? AllocatedBytesPerIo => TotalIos == 0 ? null : (double)AllocatedBytes / TotalIos;

    /// <summary>The external device process (vhost-user back-end), when there is one.</summary>
    public int? DeviceProcessId { get; set; }

    /// <summary>User CPU time of the external device process over the window (10 ms resolution).</summary>
    public double? DeviceUserCpuSeconds { get; set; }

    /// <summary>System CPU time of the external device process over the window.</summary>
    public double? DeviceSystemCpuSeconds { get; set; }

    /// <summary>The external device process's CPU time per I/O in nanoseconds; null without one or without I/O.</summary>
    public double? DeviceCpuNsPerIo => TotalIos == 0 || DeviceUserCpuSeconds is not double u || DeviceSystemCpuSeconds is not double s ? null : (u + s) * 1e9 / TotalIos;

    /// <summary>CPUs the process could use.</summary>
    public int CpuCount { get; set; }

    /// <summary>Per-queue engine counters.</summary>
    public IReadOnlyList<QueueReport> Queues { get; set; } = [];

    /// <summary>
    /// How many jobs ran concurrently on this job's engine, itself included, counting each numjobs clone as fio does (1
    /// when it ran alone). With more than one, the CPU times are the whole process's over the job's window, shared with
    /// the other jobs (as fio's threads).
    /// </summary>
    public int SharedEngineJobs { get; set; } = 1;

    /// <summary>When the job started (before the ramp).</summary>
    public DateTimeOffset Start { get; set; }

    /// <summary>fio's <c>err=</c>: the first error code the job stopped on, 0 if none (84, EILSEQ, for a verification failure).</summary>
    public int Error { get; set; }

    /// <summary>fio's reporting group (<c>groupid</c>): 0, and one more at each job with <c>stonewall</c> or <c>new_group</c>.</summary>
    public int GroupId { get; set; }

    /// <summary>fio's rate_min / rate_iops_min failure that ended the job ("min rate not met"); null when none.</summary>
    public string? RateMinFailure { get; init; }

    /// <summary>What became of the job's I/Os: failures by status, the first and the last ones, lost or doubled completions; null when not collected.</summary>
    public ErrorReport? Errors { get; set; }

    /// <summary>fio's <c>total_err</c>: every failed I/O of the job (ramp and read-back included).</summary>
    public long TotalErrors => Errors?.Total ?? Read.Errors + Write.Errors + Trim.Errors;

    /// <summary>fio's latency_depth (latency_target's search result); null means iodepth.</summary>
    public int? LatencyDepth { get; init; }

    /// <summary>fio's steadystate result (the job's clones together; a group entry carries its first job's); null without ss_dur.</summary>
    public SteadyStateResult? SteadyState { get; init; }

    /// <summary>Verification results; null without <c>--verify</c>.</summary>
    public Verify.VerifySummary? Verify { get; set; }

    /// <summary>With <c>--rate_iops</c>: I/Os that were due when the measured window ended but never started (the device was behind).</summary>
    public long UnissuedAtEnd { get; set; }

    /// <summary>
    /// The measured window cut into intervals (<c>--write_hist_log</c> or <c>--report</c>), in order; empty when no
    /// intervals were recorded.
    /// </summary>
    public IReadOnlyList<IntervalSample> Intervals { get; set; } = [];

    /// <summary>The interval length in ms behind <see cref="Intervals"/> (0 without intervals).</summary>
    public int IntervalMs { get; set; }

    /// <summary>The <c>--write_hist_log</c> file the job wrote, or null.</summary>
    public string? HistLogPath { get; set; }

    /// <summary>The process id printed as fio's <c>pid=</c>.</summary>
    public int ProcessId { get; set; } = Environment.ProcessId;

    /// <summary>Context switches over the window (fio <c>ctx</c>: voluntary plus involuntary).</summary>
    public long ContextSwitches { get; set; }

    /// <summary>Major page faults over the window (fio <c>majf</c>).</summary>
    public long MajorFaults { get; set; }

    /// <summary>Minor page faults over the window (fio <c>minf</c>).</summary>
    public long MinorFaults { get; set; }

    /// <summary>The three directions in fio's order (read, write, trim).</summary>
    public IEnumerable<(string Name, DirectionResult Result)> Directions => [("read", Read), ("write", Write), ("trim", Trim)];

    /// <summary>I/Os of all directions.</summary>
    public long TotalIos => Read.TotalIos + Write.TotalIos + Trim.TotalIos;

    /// <summary>When the measured window ended.</summary>
    public DateTimeOffset End => Start + Options.RampTime + Runtime;

    /// <summary>Process CPU time per I/O in nanoseconds (device thread included); null when there was no I/O.</summary>
    public double? CpuNsPerIo => TotalIos == 0 ? null : (UserCpuSeconds + SystemCpuSeconds) * 1e9 / TotalIos;

    /// <summary>User CPU as fio's <c>usr_cpu</c>: percent of the window (can exceed 100 with several busy threads).</summary>
    public double UserCpuPercent => Runtime <= TimeSpan.Zero ? 0 : UserCpuSeconds * 100 / Runtime.TotalSeconds;

    /// <summary>System CPU as fio's <c>sys_cpu</c>.</summary>
    public double SystemCpuPercent => Runtime <= TimeSpan.Zero ? 0 : SystemCpuSeconds * 100 / Runtime.TotalSeconds;
}
