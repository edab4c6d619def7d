using System.Globalization;
using static Orion.Perf.Options.OptionTable;

namespace Orion.Perf.Options;

/// <summary>Job control and workload-shape options (fio's names and meanings), after <see cref="OptionTable"/>'s core ones in help.</summary>
internal static class WorkloadOptionTable
{
    public static readonly IReadOnlyList<OptionSpec> All =
    [
        new("filename", [], "PATH", "without --device: the file or block device to run on (a file: device; a new file is created at --size) (default none)",
            (o, v) => string.IsNullOrWhiteSpace(v) ? throw new OptionValueException("--filename: give a path") : o with { Filename = v.Trim() }),
        new("loops", [], "INT", "run the job's I/O this many times over (default 1)",
            (o, v) => o with { Loops = Int("loops", v) }),
        new("startdelay", [], "TIME", "wait this long before starting the job; not part of its runtime (default 0)",
            (o, v) => o with { StartDelay = Time("startdelay", v) }),
        new("io_size", ["io_limit"], "SIZE", "bytes to transfer per pass when not --size (default: --size)",
            (o, v) => o with { IoSize = Size("io_size", v) }),
        new("offset_increment", [], "SIZE", "numjobs clone k starts k times this far after --offset (default 0)",
            (o, v) => o with { OffsetIncrement = Size("offset_increment", v) }),
        new("bsrange", ["blocksize_range"], "MIN-MAX", "each I/O's size drawn from MIN to MAX in multiples of MIN, as fio draws it (default none)",
            (o, v) => o with { BlockSizeRange = RangeValue(v) }),
        new("blockalign", ["ba"], "SIZE", "random offsets are multiples of this (default: the smallest block size)",
            (o, v) => o with { BlockAlign = OneBlockSize("blockalign", v.Split(',')[0]) }),
        new("random_generator", [], "GEN", "tausworthe, lfsr or tausworthe64: each gives every block once per pass (fio's random map) unless --norandommap (default tausworthe)",
            (o, v) => o with { RandomGenerator = GeneratorValue(v) }),
        new("thinktime", [], "TIME", "after --thinktime_blocks I/Os, let them complete and pause this long; a plain number is microseconds (default 0)",
            (o, v) => o with { ThinkTime = MicrosValue("thinktime", v) }),
        new("thinktime_spin", [], "TIME", "the part of --thinktime spent busy; a reactor always polls, so the whole think time is busy (default 0)",
            (o, v) => o with { ThinkTimeSpin = MicrosValue("thinktime_spin", v) }),
        new("thinktime_blocks", [], "INT", "I/Os between two pauses of --thinktime (default 1)",
            (o, v) => o with { ThinkTimeBlocks = Int("thinktime_blocks", v) }),
        new("rate", [], "BW[,W[,T]]", "cap each job's bandwidth, bytes per second with fio's suffixes, per direction as READ,WRITE,TRIM; 0 = no limit (default 0)",
            (o, v) => o with { Rate = Directions("rate", v, 0, x => NonNegativeSize("rate", x)) }),
        new("rate_min", ["ratemin"], "BW[,W[,T]]", "fail the job when a direction's bandwidth over a --rate_cycle falls below this (default 0)",
            (o, v) => o with { RateMin = Directions("rate_min", v, 0, x => NonNegativeSize("rate_min", x)) }),
        new("rate_iops_min", [], "INT[,W[,T]]", "fail the job when a direction's IOPS over a --rate_cycle fall below this (default 0)",
            (o, v) => o with { RateIopsMin = Directions("rate_iops_min", v, 0, x => Int("rate_iops_min", x)) }),
        new("rate_cycle", [], "MSEC", "the window --rate_min and --rate_iops_min are checked over, in ms (default 1000)",
            (o, v) => o with { RateCycle = TimeSpan.FromMilliseconds(Int("rate_cycle", v)) }),
        new("readonly", [], null, "refuse a job that writes or trims, as a safety net (default 0)",
            (o, v) => o with { ReadOnlyJob = Bool("readonly", v) }),
        new("iodepth_low", [], "INT", "once --iodepth is reached, issue again only when in flight fell to this (default: --iodepth)",
            (o, v) => o with { IoDepthLow = Int("iodepth_low", v) }),
        new("iodepth_batch_submit", ["iodepth_batch"], "INT", "issue I/Os in batches of at least this many (0 or 1 = as slots free up) (default 1)",
            (o, v) => o with { IoDepthBatchSubmit = Math.Max(1, Int("iodepth_batch_submit", v)) }),
        new("iodepth_batch_complete_min", ["iodepth_batch_complete"], "INT", "wait for at least this many completions before issuing again (default 1)",
            (o, v) => o with { IoDepthBatchCompleteMin = Math.Max(1, Int("iodepth_batch_complete_min", v)) }),
        new("wait_for", [], "JOB", "job files: start this job after the named job finished (default none)",
            (o, v) => o with { WaitFor = v.Trim() }),
        new("exitall", [], null, "when this job finishes, stop the jobs running with it (default 0)",
            (o, v) => o with { ExitAll = Bool("exitall", v) }),
        new("exit_what", [], "WHICH", "with --exitall: group or stonewall stop the jobs running with the finished one (all jobs that run at once here); " +
            "all also cancels every later job before it starts (reported empty, as fio) (default group)",
            (o, v) => v.Trim().ToLowerInvariant() switch
            {
                "group" or "stonewall" => o with { ExitWhatAll = false },
                "all" => o with { ExitWhatAll = true },
                _ => throw new OptionValueException($"--exit_what={v}: use group, stonewall or all"),
            }),
        new("flow", [], "INT", "weight in fio's token-based flow control: jobs (and clones) with the same --flow_id keep their I/O counts in the ratio " +
            "of their weights, a job ahead of its share holding back; 0 = off (default 0)",
            (o, v) => o with { Flow = Int("flow", v) }),
        new("flow_id", [], "INT", "the flow control group of --flow (default 0)",
            (o, v) => o with { FlowId = Int("flow_id", v) }),
        new("flow_sleep", [], "TIME", "once --flow held a job back, let its I/Os in flight complete and pause this long; a plain number is microseconds " +
            "(default 0: retry at once)",
            (o, v) => o with { FlowSleep = MicrosValue("flow_sleep", v) }),
        new("latency_target", [], "TIME", "find the highest depth, up to --iodepth, at which I/Os stay below this latency (issue to completion), as fio " +
            "searches it (from depth 1, doubling, then bisecting, one --latency_window each), run one last window there and end; " +
            "a plain number is microseconds; 0 = off (default 0)",
            (o, v) => o with { LatencyTarget = MicrosValue("latency_target", v) }),
        new("latency_window", [], "TIME", "with --latency_target, how long each depth is tried; a plain number is microseconds (default 0)",
            (o, v) => o with { LatencyWindow = MicrosValue("latency_window", v) }),
        new("latency_percentile", [], "PCT", "with --latency_target, the percentage of a window's I/Os that must meet it (default 100: one I/O above " +
            "it lowers the depth at once, and at depth 1 ends the job with fio's 'max latency exceeded')",
            (o, v) => o with { LatencyPercentile = double.TryParse(v.Trim().TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out double p)
                ? p : throw new OptionValueException($"--latency_percentile={v}: give a percentage from 0 to 100 (for example 99.9)") }),
        new("latency_run", [], null, "with --latency_target, keep adjusting the depth for the whole run rather than ending once it is found (default 0)",
            (o, v) => o with { LatencyRun = Bool("latency_run", v) }),
        new("steadystate", ["ss"], "CRIT:LIMIT", "with --ss_dur, end the job once it reached steady state: iops or bw (largest deviation from the window's mean), " +
            "iops_slope or bw_slope (least-squares slope) below LIMIT, a value or a percentage of the mean (default iops_slope:0.01%)",
            (o, v) => SteadyStateSpec.TryParse(v, out var spec, out var e) ? o with { SteadyState = spec } : throw new OptionValueException(e)),
        new("steadystate_duration", ["ss_dur"], "TIME", "the rolling window --steadystate is judged over, one sample per --ss_interval; a plain number is seconds; 0 = off (default 0)",
            (o, v) => o with { SteadyStateDuration = Time("ss_dur", v) }),
        new("steadystate_ramp_time", ["ss_ramp"], "TIME", "run this long before collecting steady-state samples; a plain number is seconds (default 0)",
            (o, v) => o with { SteadyStateRamp = Time("ss_ramp", v) }),
        new("steadystate_check_interval", ["ss_interval"], "TIME", "how often a steady-state sample is taken and checked; a plain number is seconds (default 1)",
            (o, v) => o with { SteadyStateInterval = Time("ss_interval", v) }),
        new("zonemode", [], "MODE", "none, or strided: I/O stays in a zone of --zonerange bytes until --zonesize bytes were transferred, then skips " +
            "--zoneskip bytes to the next zone (zbd is refused: Orion's devices are not zoned block devices) (default: strided when --zonesize is given)",
            (o, v) => v.Trim().ToLowerInvariant() switch
            {
                "none" => o with { ZoneMode = ZoneMode.None },
                "strided" => o with { ZoneMode = ZoneMode.Strided },
                "zbd" => throw new OptionValueException("--zonemode=zbd: Orion's devices are not zoned block devices (no zones, write pointers or zone resets); use none or strided"),
                _ => throw new OptionValueException($"--zonemode={v}: use none or strided"),
            }),
        new("zonesize", [], "SIZE", "with --zonemode=strided, bytes transferred in a zone before moving to the next (default 0)",
            (o, v) => o with { ZoneSize = NonNegativeSize("zonesize", v) }),
        new("zonerange", [], "SIZE", "with --zonemode=strided, the size of a zone, where offsets fall (default: --zonesize)",
            (o, v) => o with { ZoneRange = NonNegativeSize("zonerange", v) }),
        new("zoneskip", [], "SIZE", "with --zonemode=strided, bytes skipped after a zone before the next starts (default 0)",
            (o, v) => o with { ZoneSkip = NonNegativeSize("zoneskip", v) }),
        new("fill_device", ["fill_fs"], null, "cover the device from --offset to its end, whatever --size says (default 0)",
            (o, v) => o with { FillDevice = Bool("fill_device", v) }),
    ];

    private static long NonNegativeSize(string name, string v)
    {
        long n = Size(name, v);
        return n >= 0 ? n : throw new OptionValueException($"--{name}={v}: must not be negative");
    }

    /// <summary>fio's time options without a unit are microseconds here (thinktime).</summary>
    private static TimeSpan MicrosValue(string name, string v) =>
        long.TryParse(v.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long us) ? TimeSpan.FromMicroseconds(us) : Time(name, v);

    private static (int, int) RangeValue(string v)
    {
        string first = v.Split(',')[0];
        if (v.Contains(',') && v.Split(',').Any(x => x.Trim().Length > 0 && x.Trim() != first.Trim()))
            throw new OptionValueException($"--bsrange={v}: separate ranges per direction are not supported; give one MIN-MAX for all");
        int dash = first.IndexOf('-');
        if (dash <= 0) throw new OptionValueException($"--bsrange={v}: give MIN-MAX (for example 4k-64k)");
        return (OneBlockSize("bsrange", first[..dash]), OneBlockSize("bsrange", first[(dash + 1)..]));
    }

    private static RandomGenerator GeneratorValue(string v) => v.Trim().ToLowerInvariant() switch
    {
        "tausworthe" => RandomGenerator.Tausworthe,
        "lfsr" => RandomGenerator.Lfsr,
        "tausworthe64" => RandomGenerator.Tausworthe64,
        _ => throw new OptionValueException($"--random_generator={v}: use tausworthe, lfsr or tausworthe64"),
    };
}
