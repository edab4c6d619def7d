using System.Globalization;

namespace Orion.Perf.Options;

/// <summary>The options <c>orion-perf</c> supports, in help order, and the value parsers they share.</summary>
internal static class OptionTable
{
    private static readonly IReadOnlyList<OptionSpec> Core =
    [
        new("name", [], "STR", "job name, printed in the report (default orion)",
            (o, v) => o with { Name = v }),
        new("rw", ["readwrite"], "MODE[:N]", "read, write, randread, randwrite, rw (= readwrite), randrw, trim or randtrim (default randread); " +
            ":N adds N bytes (negative: backwards) between sequential I/Os, or runs N I/Os in sequence between random offsets",
            RwValue),
        new("bs", ["blocksize"], "SIZE[,W[,T]]", "bytes per I/O, a multiple of 512; R,W,T gives reads, writes and trims their own (default 4k)",
            BlockSizeValue),
        new("bssplit", [], "SPLIT[,W[,T]]", "block sizes with the percentage of I/Os for each, as SIZE/PCT:SIZE/PCT (for example 4k/50:64k/50); " +
            "READ,WRITE[,TRIM] gives each direction its own (trims take the write split when not given); --bs, if given, must be one of them",
            BsSplitValue),
        new("iodepth", [], "INT", "I/Os kept in flight, 1 to 4096 (default 1)",
            (o, v) => o with { IoDepth = Int("iodepth", v) }),
        new("runtime", ["timeout"], "TIME", "stop after this long; 0 or absent = one pass over --size (default none)",
            (o, v) => o with { Runtime = RuntimeValue(v) }),
        new("time_based", [], null, "keep going for the whole --runtime, wrapping around --size (default off)",
            (o, v) => o with { TimeBased = Bool("time_based", v) }),
        new("ramp_time", [], "TIME", "warm up this long before measuring; not counted (default 0)",
            (o, v) => o with { RampTime = Time("ramp_time", v) }),
        new("size", [], "SIZE|N%", "bytes (or a percentage) of the device to cover from --offset; cut at the device's end, as in fio (default: to the end of the device)",
            (o, v) => Percentage(v) is double p ? o with { SizePercent = p, Size = null } : o with { Size = Size("size", v), SizePercent = null }),
        new("offset", [], "SIZE|N%", "where the job's region starts, in bytes or a percentage of the device (default 0)",
            (o, v) => Percentage(v) is double p ? o with { OffsetPercent = p, Offset = 0 } : o with { Offset = Size("offset", v), OffsetPercent = null }),
        new("number_ios", [], "INT", "stop each job after this many measured I/Os (after --ramp_time), or at --size/--runtime if sooner; 0 = no limit (default 0)",
            (o, v) => o with { NumberIos = NumberIosValue(v) }),
        new("random_distribution", [], "DIST", "random offsets: random (uniform), zipf:THETA, pareto:H or normal:SIGMA (percent of the region) (default random)",
            (o, v) => RandomDistribution.TryParse(v, out var d, out var e) ? o with { RandomDistribution = d } : throw new OptionValueException(e)),
        new("norandommap", [], null, "draw random offsets with replacement; without it uniform random I/O touches every block once per pass (default 0)",
            (o, v) => o with { NoRandomMap = Bool("norandommap", v) }),
        new("randrepeat", [], null, "seed the offset generator the same way every run, so runs repeat their offsets (default 1)",
            (o, v) => o with { RandRepeat = Bool("randrepeat", v) }),
        new("randseed", [], "INT", "seed of the offset generator: the same seed gives the same offsets (default: a fixed seed)",
            (o, v) => o with { RandSeed = SeedValue(v) }),
        new("rwmixread", [], "INT", "percentage of reads for rw/randrw (default 50)",
            (o, v) => o with { RwMixRead = Int("rwmixread", v) }),
        new("rwmixwrite", [], "INT", "percentage of writes for rw/randrw; sets rwmixread to 100 minus it",
            (o, v) => o with { RwMixRead = 100 - Percent("rwmixwrite", v) }),
        new("device", [], "DEV", "mem:SIZE (RAM disk), null:SIZE, file:PATH[,size=SIZE][,direct][,io=auto|uring|sync] (io_uring by default, synchronous where the kernel refuses it), rbd:POOL/IMAGE[,conf=PATH][,id=NAME][,timeout=SECONDS] (a Ceph RBD image through librbd) or vhost-user:SOCKET, or virtio-pci:0000:00:03.0 (a virtio-blk PCI function bound to vfio-pci, driven through VFIO; see --list-devices), optionally ,bs=4096, ,ro and (mem:) ,prefill (default mem:1G)",
            (o, v) => Orion.Pmd.Transport.DeviceString.TryParse(v, out _, out var e) ? o with { Device = v.Trim() } : throw new OptionValueException(JobOptions.DeviceError(v, e))),
        new("numjobs", [], "INT", "jobs run together, each on its own reactor and queue (default 1)",
            (o, v) => o with { NumJobs = Int("numjobs", v) }),
        new("ring", [], "FORMAT", "virtqueue layout: split or packed (default split)",
            (o, v) => v.Trim().ToLowerInvariant() switch
            {
                "split" => o with { Ring = Orion.Pmd.Engine.RingFormat.Split },
                "packed" => o with { Ring = Orion.Pmd.Engine.RingFormat.Packed },
                _ => throw new OptionValueException($"--ring={v}: use split or packed"),
            }),
        new("indirect", [], null, "one indirect table per request when the device offers it (default 1)",
            (o, v) => o with { Indirect = Bool("indirect", v) }),
        new("event_idx", [], null, "use EVENT_IDX notification suppression when offered (default 1)",
            (o, v) => o with { EventIdx = Bool("event_idx", v) }),
        new("poll_mode", [], "MODE", "auto, polled (busy-poll), adaptive (poll, then sleep when idle), interrupt, or hybrid (adaptive, and sleep at once while the only work pending is file I/O in the kernel, as fio's io_uring engine waits, on a CPU that takes the disk's interrupts); auto is hybrid for a file: or rbd: device served on the reactors, polled otherwise (default auto)",
            (o, v) => v.Trim().ToLowerInvariant() switch
            {
                "auto" => o with { PollMode = Orion.Pmd.Engine.NotificationMode.Auto },
                "polled" or "poll" => o with { PollMode = Orion.Pmd.Engine.NotificationMode.Polled },
                "adaptive" => o with { PollMode = Orion.Pmd.Engine.NotificationMode.Adaptive },
                "interrupt" => o with { PollMode = Orion.Pmd.Engine.NotificationMode.Interrupt },
                "hybrid" => o with { PollMode = Orion.Pmd.Engine.NotificationMode.Hybrid },
                _ => throw new OptionValueException($"--poll_mode={v}: use auto, polled, adaptive, interrupt or hybrid"),
            }),
        new("device_placement", [], "WHERE", "auto, reactors (each reactor also serves its queue's device side: one thread per queue) or threads " +
            "(device threads on their own cores); auto is reactors for a file: device through io_uring or an rbd: device (the kernel or librbd's threads do the work), threads otherwise (default auto)",
            (o, v) => v.Trim().ToLowerInvariant() switch
            {
                "auto" => o with { DeviceOnReactors = null },
                "reactors" or "reactor" => o with { DeviceOnReactors = true },
                "threads" or "thread" => o with { DeviceOnReactors = false },
                _ => throw new OptionValueException($"--device_placement={v}: use auto, reactors or threads"),
            }),
        new("rate_iops", [], "INT", "open loop: each job starts INT I/Os per second on a schedule (per job, as in fio), at most --iodepth in flight; " +
            "late I/Os wait behind the schedule, and latency is also reported from their intended start (coordinated-omission corrected); " +
            "0 = no limit (default 0)",
            RateIopsValue),
        new("rate_process", [], "PROC", "how --rate_iops spaces I/Os: linear (evenly) or poisson (exponential gaps, independent arrivals) (default linear)",
            (o, v) => v.Trim().ToLowerInvariant() switch
            {
                "linear" => o with { RateProcess = RateProcess.Linear },
                "poisson" => o with { RateProcess = RateProcess.Poisson },
                _ => throw new OptionValueException($"--rate_process={v}: use linear or poisson"),
            }),
        new("verify", [], "TYPE", "md5, crc64, crc32, crc32c, crc32c-intel, crc16, crc7, sha1, sha256, sha512, sha3-224/256/384/512, xxhash: writes carry " +
            "fio's verify header (offset, seed, numberio) and that checksum of the data, in fio's on-disk layout, so fio and orion-perf check each " +
            "other's data; reads of blocks the job wrote are checked, " +
            "meta: the header alone, sealed by its own crc32c, pattern: no header, every byte --verify_pattern; a job that only reads checks " +
            "what an earlier job or run wrote (each block's own header, or the pattern); " +
            "and write/randwrite jobs read everything back after writing; 0 or none = off (default 0)",
            (o, v) => VerifyModeExtensions.TryParse(v, out var m, out var e) ? o with { Verify = m } : throw new OptionValueException(e)),
        new("verify_pattern", [], "PATTERN", "fill written data with this pattern (a hex number such as 0xaa555aa5, or a quoted string); with --verify=pattern " +
            "every block must hold it, with meta or crc32c the data after each header (default none)",
            (o, v) => VerifyPattern.TryParse(v, out var p, out var e) ? o with { VerifyPatternBytes = p } : throw new OptionValueException(e)),
        new("verify_interval", [], "SIZE", "bytes each verify header (or pattern check) covers: a multiple of 512 that divides the smallest block size " +
            "(default: the smallest block size)",
            (o, v) => o with { VerifyInterval = Size("verify_interval", v) }),
        new("verify_fatal", [], null, "stop the job at the first verify mismatch; any mismatch makes the exit status 4 either way (default 0)",
            (o, v) => o with { VerifyFatal = Bool("verify_fatal", v) }),
        new("verify_offset", [], "INT", "swap the verify header with the bytes this far into each block before writing, and back before checking " +
            "(default 0: the header at the block's start)",
            (o, v) => o with { VerifyOffset = Size("verify_offset", v) }),
        new("verify_only", [], null, "do not write: read the blocks the write workload would write and check what an earlier run (fio or orion-perf) " +
            "left there, each block by its own header (default 0)",
            (o, v) => o with { VerifyOnly = Bool("verify_only", v) }),
        new("verify_backlog", [], "INT", "after this many written blocks, read them back and check them before writing on (verify while writing); " +
            "0 = off: write first, then read everything back (default 0)",
            (o, v) => o with { VerifyBacklog = Size("verify_backlog", v) }),
        new("verify_backlog_batch", [], "INT", "blocks checked each time --verify_backlog is due; the rest wait for the next time (default: all of them)",
            (o, v) => o with { VerifyBacklogBatch = Size("verify_backlog_batch", v) }),
        new("do_verify", [], null, "with --verify, read back and check a write/randwrite job's blocks after the write phase (default 1)",
            (o, v) => o with { DoVerify = Bool("do_verify", v) }),
        new("continue_on_error", [], "WHICH", "none: the first failed I/O ends the job (exit status 5); read, write (writes and trims) or io: count those " +
            "failures and go on; verify and all accepted as in fio (mismatches stop a job only with --verify_fatal) (default none)",
            (o, v) => ContinueOnErrorExtensions.TryParse(v, out var m, out var e) ? o with { ContinueOnError = m } : throw new OptionValueException(e)),
        new("request_timeout", [], "TIME", "a request at the device longer than this resets its queue (engine RequestTimeout); 0 = off (default 30s)",
            (o, v) => o with { RequestTimeout = Time("request_timeout", v) }),
        new("timeout_policy", [], "POLICY", "what a timed-out request gets: fail (IoStatus.TimedOut) or retry (placed once more on the reset queue) (default fail)",
            (o, v) => v.Trim().ToLowerInvariant() switch
            {
                "fail" => o with { TimeoutPolicy = Orion.Pmd.Engine.TimeoutPolicy.Fail },
                "retry" or "retry_once" or "retryonce" => o with { TimeoutPolicy = Orion.Pmd.Engine.TimeoutPolicy.RetryOnce },
                _ => throw new OptionValueException($"--timeout_policy={v}: use fail or retry"),
            }),
        new("recover_queues", [], null, "reset a queue the device broke at once and place its requests again, rather than failing them (default 1)",
            (o, v) => o with { RecoverQueues = Bool("recover_queues", v) }),
        new("audit_log", [], "FILE", "write the engine's audit events (attach, feature negotiation, queue resets, detach, ...) to FILE, one JSON object per line (default none)",
            (o, v) => o with { AuditLogPath = v }),
        new("cpus_allowed", [], "CPUS", "CPUs for the jobs' reactors, as a list like 0-3,6: job i's reactor runs on the i-th; device threads take allowed " +
            "CPUs outside the list (default: chosen from the allowed set)",
            (o, v) => CpuList.TryParse(v, out var cpus, out var e) ? o with { CpusAllowed = cpus } : throw new OptionValueException($"--cpus_allowed={v}: {e}")),
        new("stonewall", ["wait_for_previous"], null, "job files: this job waits for the previous jobs to finish and starts a new reporting group (jobs not separated by stonewall run concurrently, on one engine when they share device and engine options) (default 0)",
            (o, v) => o with { Stonewall = Bool("stonewall", v) }),
        new("new_group", [], null, "job files: this job starts a new reporting group without waiting for the previous jobs (default 0)",
            (o, v) => o with { NewGroup = Bool("new_group", v) }),
        new("output-format", [], "FMT", "normal, json, json+ or terse (fio's version 3 line), or several joined by commas, for example json,normal (default normal)",
            (o, v) => OutputFormatExtensions.TryParse(v, out var f, out var e) ? o with { OutputFormat = f } : throw new OptionValueException(e)),
        new("output", [], "FILE", "write the report to FILE instead of standard output",
            (o, v) => o with { OutputPath = v }),
        new("write_hdr_log", [], "PREFIX", "log completion latency (clat, ns) histograms per interval to PREFIX_clat_hdr.N.hlog, one file per job (N from 1), " +
            "in HdrHistogram's interval log format (.hlog: HistogramLogProcessor, hdrh); a mixed job adds Tag=read/write lines (default none)",
            (o, v) => o with { WriteHdrLog = v }),
        .. LogOptions.Specs,
        new("log_hist_msec", [], "MSEC", $"length of a --write_hist_log and --write_hdr_log interval (and of --report's IOPS-over-time steps), " +
            $"{JobOptions.MinIntervalMs} to {JobOptions.MaxIntervalMs} ms (default {JobOptions.DefaultIntervalMs})",
            (o, v) => o with { LogHistMsec = IntervalMsValue(v) }),
        new("report", [], "FILE", "write a self-contained HTML report of all the jobs to FILE: summary table, clat percentile plots, IOPS over time (default none)",
            (o, v) => o with { ReportPath = v }),
        new("direct", [], null, "accepted for fio compatibility (0 or 1); no effect, orion I/O is always direct",
            (o, v) => o with { Direct = Bool("direct", v) }),
        new("eta", [], "WHEN", "accepted for fio compatibility (always, never, auto); no effect",
            (o, v) => v.Trim().ToLowerInvariant() is "always" or "never" or "auto" ? o : throw new OptionValueException($"--eta={v}: use always, never or auto")),
        new("group_reporting", [], null, "one report entry for a job's numjobs clones and the other group_reporting jobs of its group, summed as fio sums them " +
            "(default: one entry per clone)",
            (o, v) => o with { GroupReporting = Bool("group_reporting", v) }),
        new("minimal", [], null, "fio's terse output, as --output-format=terse",
            (o, v) => Bool("minimal", v) ? o with { OutputFormat = OutputFormat.Terse } : o),
        new("clat_percentiles", [], null, "report completion-latency percentiles (default 1)",
            (o, v) => o with { ClatPercentiles = Bool("clat_percentiles", v) }),
        new("lat_percentiles", [], null, "report total-latency percentiles (default 0)",
            (o, v) => o with { LatPercentiles = Bool("lat_percentiles", v) }),
        new("slat_percentiles", [], null, "report submission-latency percentiles (default 0)",
            (o, v) => o with { SlatPercentiles = Bool("slat_percentiles", v) }),
        new("percentile_list", [], "LIST", "the latency percentiles reported, separated by ':', up to 20 (default 1:5:10:20:30:40:50:60:70:80:90:95:99:99.5:99.9:99.95:99.99)",
            (o, v) => o with { Percentiles = ReportOptionValues.Percentiles(v) }),
        new("unified_rw_reporting", [], "HOW", "none: reads, writes and trims apart; mixed: summed into one 'mixed' section; both: apart, then mixed (default none)",
            (o, v) => o with { UnifiedRwReporting = ReportOptionValues.Unified(v) }),
        new("kb_base", [], "BASE", "1024: binary units first in the text output (fio's default); 1000: SI units first",
            (o, v) => o with { KbBase = ReportOptionValues.KbBase(v) }),
    ];

    /// <summary>fio's bssplit: one split for all directions, or one per direction (READ,WRITE[,TRIM]).</summary>
    private static JobOptions BsSplitValue(JobOptions o, string v)
    {
        if (!BlockSizeSplit.TryParseDirections(v, out var splits, out var e)) throw new OptionValueException(e);
        bool same = splits[0] is { } r && splits[1] is { } w && splits[2] is { } t && r.SequenceEqual(w) && w.SequenceEqual(t);
        return same ? o with { BlockSizeSplit = splits[0], BlockSizeSplits3 = null }
                    : o with { BlockSizeSplit = splits[0], BlockSizeSplits3 = splits };
    }

    /// <summary>Every option, in help order: the core ones, then job control and workload shape.</summary>
    public static readonly IReadOnlyList<OptionSpec> All = [.. Core, .. WorkloadOptionTable.All];

    /// <summary>Looks options up by every normalized name and alias.</summary>
    public static readonly IReadOnlyDictionary<string, OptionSpec> ByName =
        All.SelectMany(s => s.Names.Select(n => (Key: JobOptionsParser.NormalizeName(n), Spec: s)))
           .ToDictionary(x => x.Key, x => x.Spec, StringComparer.Ordinal);

    /// <summary>fio's <c>bs</c>: one size for all directions, or <c>R,W,T</c> (an empty field keeps the 4k default; a missing trim takes the write size).</summary>
    private static JobOptions BlockSizeValue(JobOptions o, string v)
    {
        if (!v.Contains(',')) return o with { BlockSize = OneBlockSize("bs", v), BlockSizes3 = null };
        var d = Directions("bs", v, defaultValue: 4096, one: x => OneBlockSize("bs", x));
        return o with { BlockSize = (int)d.Read, BlockSizes3 = d };
    }

    internal static int OneBlockSize(string name, string v)
    {
        long bytes = Size(name, v);
        if (bytes > JobOptions.MaxBlockSize)
            throw new OptionValueException($"--{name}={v}: block size must be at most {FioSize.Format(JobOptions.MaxBlockSize)}");
        return (int)bytes;
    }

    /// <summary>
    /// fio's per-direction values <c>READ,WRITE,TRIM</c>: one value for all; with commas an empty field is
    /// <paramref name="defaultValue"/>, and a missing trim field takes the write value.
    /// </summary>
    internal static PerDirection Directions(string name, string v, long defaultValue, Func<string, long> one)
    {
        var parts = v.Split(',');
        if (parts.Length > 3) throw new OptionValueException($"--{name}={v}: give at most three values, READ,WRITE,TRIM");
        long Field(int i) => i < parts.Length && parts[i].Trim().Length > 0 ? one(parts[i]) : defaultValue;
        if (parts.Length == 1) return PerDirection.All(one(v));
        long write = Field(1);
        return new PerDirection(Field(0), write, parts.Length > 2 ? Field(2) : write);
    }

    /// <summary>fio's <c>rw=MODE[:N]</c>.</summary>
    private static JobOptions RwValue(JobOptions o, string v)
    {
        int colon = v.IndexOf(':');
        string mode = colon < 0 ? v : v[..colon];
        if (!ReadWriteModeExtensions.TryParse(mode, out var m, out var e)) throw new OptionValueException(e);
        if (colon < 0) return o with { Rw = m, RwModifier = 0 };
        string n = v[(colon + 1)..].Trim();
        long modifier;
        if (m.IsRandom())
        {
            if (!long.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out modifier) || modifier < 1)
                throw new OptionValueException($"--rw={v}: for a random pattern N is how many I/Os run in sequence before a new random offset, a whole number of at least 1");
        }
        else
        {
            bool negative = n.StartsWith('-');
            if (!FioSize.TryParse(negative ? n[1..] : n, out long bytes))
                throw new OptionValueException($"--rw={v}: for a sequential pattern N is bytes added between I/Os, a size such as 8k or -8k (backwards); {FioSize.Hint}");
            modifier = negative ? -bytes : bytes;
        }
        return o with { Rw = m, RwModifier = modifier };
    }

    /// <summary>The percentage of <c>N%</c>, or null when <paramref name="v"/> is not one.</summary>
    private static double? Percentage(string v)
    {
        string t = v.Trim();
        if (!t.EndsWith('%')) return null;
        return double.TryParse(t[..^1], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double p)
            ? p : throw new OptionValueException($"'{v}' is not a percentage (for example 50%)");
    }

    /// <summary>fio reads rate_iops=0 as "no limit"; <c>R,W,T</c> gives each direction its own.</summary>
    private static JobOptions RateIopsValue(JobOptions o, string v)
    {
        var d = Directions("rate_iops", v, 0, x => RateIopsOne(v, x));
        if (d.Read == d.Write && d.Write == d.Trim)
            return o with { RateIops = d.Read == 0 ? null : (int)d.Read, RateIopsByDirection = null };
        return o with { RateIops = null, RateIopsByDirection = d };
    }

    private static long RateIopsOne(string all, string v)
    {
        if (!long.TryParse(v.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n))
            throw new OptionValueException($"--rate_iops={all}: '{v}' is not a whole number of I/Os per second (for example --rate_iops=5000)");
        if (n < 0 || n > JobOptions.MaxRateIops)
            throw new OptionValueException($"--rate_iops={all}: the rate must be from 1 to {JobOptions.MaxRateIops.ToString(CultureInfo.InvariantCulture)} I/Os per second per job (or 0 for no limit)");
        return n;
    }

    /// <summary>fio's log_hist_msec: whole milliseconds (a <c>ms</c> suffix is accepted too).</summary>
    private static int IntervalMsValue(string v)
    {
        string t = v.Trim();
        if (t.EndsWith("ms", StringComparison.OrdinalIgnoreCase)) t = t[..^2].TrimEnd();
        if (!long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long ms))
            throw new OptionValueException($"--log_hist_msec={v}: '{v}' is not a whole number of milliseconds (for example --log_hist_msec=1000)");
        if (ms is < JobOptions.MinIntervalMs or > JobOptions.MaxIntervalMs)
            throw new OptionValueException($"--log_hist_msec={v}: the interval must be from {JobOptions.MinIntervalMs.ToString(CultureInfo.InvariantCulture)} " +
                                           $"to {JobOptions.MaxIntervalMs.ToString(CultureInfo.InvariantCulture)} ms");
        return (int)ms;
    }

    /// <summary>fio reads number_ios=0 as "no limit".</summary>
    private static long? NumberIosValue(string v)
    {
        if (!long.TryParse(v.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n))
            throw new OptionValueException($"--number_ios={v}: '{v}' is not a whole number");
        if (n < 0) throw new OptionValueException($"--number_ios={v}: the number of I/Os must not be negative");
        return n == 0 ? null : n;
    }

    private static ulong SeedValue(string v) =>
        ulong.TryParse(v.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out ulong seed)
            ? seed : throw new OptionValueException($"--randseed={v}: '{v}' is not a whole number from 0 to {ulong.MaxValue.ToString(CultureInfo.InvariantCulture)}");

    /// <summary>fio reads runtime=0 as "no limit".</summary>
    private static TimeSpan? RuntimeValue(string v)
    {
        var t = Time("runtime", v);
        return t == TimeSpan.Zero ? null : t;
    }

    internal static long Size(string name, string v)
    {
        if (v.TrimEnd().EndsWith('%'))
            throw new OptionValueException($"--{name}={v}: a percentage is not accepted here; give a size ({FioSize.Hint})");
        return FioSize.TryParse(v, out long bytes) ? bytes : throw new OptionValueException($"--{name}={v}: '{v}' is not a size; {FioSize.Hint}");
    }

    internal static TimeSpan Time(string name, string v) =>
        FioTime.TryParse(v, out var t) ? t : throw new OptionValueException($"--{name}={v}: '{v}' is not a time; {FioTime.Hint}");

    internal static int Int(string name, string v) =>
        int.TryParse(v.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int n)
            ? n : throw new OptionValueException($"--{name}={v}: '{v}' is not a whole number");

    internal static int Percent(string name, string v)
    {
        int n = Int(name, v);
        return n is >= 0 and <= 100 ? n : throw new OptionValueException($"--{name}={v}: the percentage must be from 0 to 100");
    }

    internal static bool Bool(string name, string v) => v.Trim().ToLowerInvariant() switch
    {
        "1" or "true" or "yes" or "on" => true,
        "0" or "false" or "no" or "off" => false,
        _ => throw new OptionValueException($"--{name}={v}: use 1 or 0 (or just --{name} to turn it on)"),
    };
}
