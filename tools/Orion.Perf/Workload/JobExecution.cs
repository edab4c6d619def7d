using System.Diagnostics;
using System.Numerics;
using Orion.Perf.Options;
using Orion.Perf.Reporting;
using Orion.Pmd.Engine;
using Orion.Pmd.Linux;

namespace Orion.Perf.Workload;

/// <summary>Turns parsed fio-style options into an engine configuration and a workload plan, runs them, and shapes the report.</summary>
internal static class JobExecution
{
    /// <param name="options">The job.</param>
    /// <param name="status">Where the live status line goes; null for none.</param>
    /// <param name="cancel">Stops the job.</param>
    /// <param name="session">Hooks and extra results (tests); a new one when null.</param>
    /// <param name="jobNumber">The job's number in the run, from 1: it names the <c>--write_hdr_log</c> file.</param>
    /// <param name="intervals">Record interval histograms even without <c>--write_hdr_log</c> (for <c>--report</c>).</param>
    /// <param name="auditLog">Where the engine's audit log goes (<c>--audit_log</c>); null for none.</param>
    /// <param name="threadNumber">fio's thread number of the job's first clone, from 1: it names the fio log files.</param>
    /// <param name="logFiles">The run's open fio log files; null to open the job's own.</param>
    public static JobResult Execute(JobOptions options, TextWriter? status, CancellationToken cancel, JobSession? session = null,
                                    int jobNumber = 1, bool intervals = false, Microsoft.Extensions.Logging.ILoggerFactory? auditLog = null,
                                    int threadNumber = 1, Logs.FioLogFiles? logFiles = null)
    {
        var engineOptions = EngineOptionsFor(options) with { LoggerFactory = auditLog };
        session ??= new JobSession();
        // The log files are created before the engine starts, so a path that cannot be written stops the job before it runs.
        using var ownFiles = logFiles is null && options.WritesFioLogs ? new Logs.FioLogFiles() : null;
        PrepareLogs(options, session, threadNumber, logFiles ?? ownFiles);
        using var jobIntervals = options.WriteHdrLog is not null || intervals
            ? new JobIntervals(options.IntervalMs, options.HdrLogPath(jobNumber), options.Name) : null;
        session.Intervals = jobIntervals;
        var measurement = JobRunner.Run(engineOptions, device => PlanFor(options, device), status, cancel, session);
        return ToResult(options, measurement, session);
    }

    /// <summary>Sets the session's bandwidth and IOPS sample lengths and, when the job writes fio logs, opens them.</summary>
    private static void PrepareLogs(JobOptions o, JobSession session, int threadNumber, Logs.FioLogFiles? files)
    {
        session.SampleMs = (o.BwSampleMs, o.IopsSampleMs);
        session.FioLogs = o.WritesFioLogs ? new FioLogSetup(o, threadNumber, files!) : null;
        if (session.FioLogs is null) return;
        foreach (var kind in Enum.GetValues<FioLogKind>())
            for (int clone = 0; clone < o.NumJobs; clone++)
                if (o.FioLogPath(kind, threadNumber + clone) is { } path) files!.Open(path, o);
    }

    /// <summary>
    /// Runs jobs concurrently on one engine (fio's jobs between two <c>stonewall</c>s): the engine has the sum of
    /// their numjobs as queues, job k takes its own range of them, and each is reported from its own workloads and
    /// queues. The jobs must be <see cref="Compatible"/>.
    /// </summary>
    /// <param name="firstJobNumber">The first job's number in the run, from 1 (the others follow).</param>
    /// <param name="auditLog">Where the engine's audit log goes (<c>--audit_log</c>); null for none.</param>
    /// <param name="threadNumbers">fio's thread number of each job's first clone (fio logs' file names); null for consecutive numbers from 1.</param>
    /// <param name="logFiles">The run's open fio log files; null to open the jobs' own.</param>
    public static JobResult[] ExecuteConcurrent(IReadOnlyList<JobOptions> jobs, TextWriter? status, CancellationToken cancel,
                                                IReadOnlyList<JobSession?> sessions, int firstJobNumber, bool intervals = false,
                                                Microsoft.Extensions.Logging.ILoggerFactory? auditLog = null,
                                                IReadOnlyList<int>? threadNumbers = null, Logs.FioLogFiles? logFiles = null)
    {
        threadNumbers ??= jobs.Select((_, k) => 1 + jobs.Take(k).Sum(j => j.NumJobs)).ToList();
        if (jobs.Count == 1) return [Execute(jobs[0], status, cancel, sessions[0], firstJobNumber, intervals, auditLog, threadNumbers[0], logFiles)];
        var engineOptions = EngineOptionsFor(jobs) with { LoggerFactory = auditLog };
        var owned = new List<JobIntervals>();
        using var ownFiles = logFiles is null && jobs.Any(j => j.WritesFioLogs) ? new Logs.FioLogFiles() : null;
        try
        {
            var shared = new JobRunner.SharedJob[jobs.Count];
            var real = new JobSession[jobs.Count];
            for (int k = 0; k < jobs.Count; k++)
            {
                var o = jobs[k];
                real[k] = sessions[k] ?? new JobSession();
                PrepareLogs(o, real[k], threadNumbers[k], logFiles ?? ownFiles);
                if (o.WriteHdrLog is not null || intervals)
                {
                    var ji = new JobIntervals(o.IntervalMs, o.HdrLogPath(firstJobNumber + k), o.Name);
                    owned.Add(ji);
                    real[k].Intervals = ji;
                }
                else real[k].Intervals = null;
                shared[k] = new JobRunner.SharedJob(device => PlanFor(o, device), o.NumJobs, real[k]) { ExitAll = o.ExitAll };
            }
            var measurements = JobRunner.RunShared(engineOptions, shared, status, cancel);
            return jobs.Select((o, k) => ToResult(o, measurements[k], real[k])).ToArray();
        }
        finally
        {
            foreach (var ji in owned) ji.Dispose();
        }
    }

    /// <summary>
    /// Why two jobs cannot share one engine (different device or engine options), or null when they can.
    /// </summary>
    internal static string? Incompatibility(JobOptions a, JobOptions b)
    {
        if (a.Device != b.Device) return $"device {b.Device} differs from {a.Device}";
        if (a.Ring != b.Ring) return $"ring {b.Ring} differs from {a.Ring}";
        if (a.Indirect != b.Indirect) return "indirect differs";
        if (a.EventIdx != b.EventIdx) return "event_idx differs";
        if (a.PollMode != b.PollMode) return "poll_mode differs";
        if (a.DeviceOnReactors != b.DeviceOnReactors) return "device_placement differs";
        if ((a.CpusAllowed is null) != (b.CpusAllowed is null)) return "cpus_allowed is set on one job only";
        if (a.RequestTimeout != b.RequestTimeout) return "request_timeout differs";
        if (a.TimeoutPolicy != b.TimeoutPolicy) return "timeout_policy differs";
        if (a.RecoverQueues != b.RecoverQueues) return "recover_queues differs";
        if (a.CpusAllowed is { } ca && b.CpusAllowed is { } cb && ca.Take(a.NumJobs).Intersect(cb.Take(b.NumJobs)).Any())
            return "their cpus_allowed reactors overlap";
        return null;
    }

    /// <summary>One engine for concurrent jobs: the sum of their queues, deep and large enough for every one of them.</summary>
    internal static EngineOptions EngineOptionsFor(IReadOnlyList<JobOptions> jobs)
    {
        var each = jobs.Select(EngineOptionsFor).ToList();
        var first = each[0];
        // A mem: device read by any job is prefilled once for all of them (one RAM disk, as fio's shared file).
        string device = each.FirstOrDefault(e => e.Device != jobs[0].Device)?.Device ?? first.Device;
        return first with
        {
            Device = device,
            Queues = jobs.Sum(j => j.NumJobs),
            QueueSize = each.Max(e => e.QueueSize),
            MaxBufferBytes = each.Max(e => e.MaxBufferBytes),
            BufferMemoryBytes = each.Sum(e => e.BufferMemoryBytes),
            ReactorCores = jobs[0].CpusAllowed is null ? null : jobs.SelectMany(j => j.CpusAllowed!.Take(j.NumJobs)).ToList(),
        };
    }

    /// <summary>The engine a job needs: one queue deep enough for its iodepth, and buffers for every request in flight.</summary>
    internal static EngineOptions EngineOptionsFor(JobOptions o)
    {
        var device = DeviceString.Parse(o.Device);
        string deviceText = o.Device;
        // Like fio laying out a file before reading it: a RAM disk that is read gets real pages first, otherwise
        // every read would hit the kernel's single shared zero page and measure nothing.
        if (device.Kind == DeviceKind.Memory && !device.Prefill && o.Rw.HasReads()) deviceText += ",prefill";
        int queueSize = (int)Math.Min(32768, Math.Max(256, BitOperations.RoundUpToPowerOf2((uint)o.IoDepth)));
        int bufferClass = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(o.MaxBlockBytes, 4096));
        long bufferMemory = Math.Max(16L << 20, (long)bufferClass * o.IoDepth * o.NumJobs + (4L << 20));
        return new EngineOptions
        {
            Device = deviceText,
            Queues = o.NumJobs,
            Ring = o.Ring,
            UseIndirect = o.Indirect,
            UseEventIdx = o.EventIdx,
            Notifications = o.PollMode,
            DeviceOnReactors = o.DeviceOnReactors,
            QueueSize = queueSize,
            MaxBufferBytes = Math.Max(1 << 20, bufferClass),
            BufferMemoryBytes = bufferMemory,
            // fio's cpus_allowed: job i's reactor on the i-th CPU; the device threads go to allowed CPUs outside the list.
            ReactorCores = o.CpusAllowed,
            RequestTimeout = o.RequestTimeout ?? new EngineOptions().RequestTimeout,
            TimeoutPolicy = o.TimeoutPolicy,
            RecoverBrokenQueues = o.RecoverQueues,
        };
    }

    internal static WorkloadPlan PlanFor(JobOptions o, BlockDevice device)
    {
        // A file: device's size is known only now that it is open (mem: and null: were checked with the options).
        if (o.RegionErrors(device.CapacityBytes).FirstOrDefault() is { } regionError) throw new ArgumentException(regionError);
        int lbs = device.BlockSize;
        // As fio: percentages of the device, and a size beyond its end cut there.
        var (offset, regionBytes) = o.ResolveRegion(device.CapacityBytes, lbs);
        if (offset % lbs != 0) throw new ArgumentException($"--offset={FioSize.Format(offset)}: offset must be a multiple of the device's {lbs}-byte logical block size");
        long regionBlocks = regionBytes / lbs;
        var sizes = new BlockSizeTable(o, lbs);
        int maxBlocks = o.MaxBlockBytes / lbs;
        int minBlocks = o.MinBlockBytes / lbs;
        int alignBlocks = Math.Max(1, (o.BlockAlign ?? o.MinBlockBytes) / lbs);
        if (o.Rw.IsTrim())
        {
            if (!device.Features.HasFlag(Orion.Pmd.Virtio.VirtioFeatures.BlkDiscard))
                throw new NotSupportedException($"--rw={o.Rw.FioName()}: {device.Description} does not support discard");
            long maxSectors = device.Config.MaxDiscardSectors;
            if (maxSectors != 0 && (long)o.MaxBlockBytes / 512 > maxSectors)
                throw new NotSupportedException($"--rw={o.Rw.FioName()}: a {FioSize.Format(o.MaxBlockBytes)} trim is above the device's limit of {maxSectors} sectors per discard");
        }
        if (o.Verify != VerifyMode.None)
        {
            long headers = regionBlocks / Math.Max(1, o.VerifyChunkBytes / lbs);
            if (headers > Verify.VerifyTracker.MaxBlocks)
                throw new ArgumentException($"--verify={o.Verify.FioName()}: the region holds {headers} blocks of {FioSize.Format(o.VerifyChunkBytes)}; " +
                                            $"verification tracks at most {Verify.VerifyTracker.MaxBlocks}: give a smaller --size or a larger --bs");
        }
        bool random = o.Rw.IsRandom();
        // zonemode=strided: offsets fall within the current zone, which must fit on the device after the region's start.
        long zoneRangeBlocks = o.Strided ? o.EffectiveZoneRange / lbs : 0;
        long wrapBlocks = device.CapacityBytes / lbs - offset / lbs;
        if (o.Strided && zoneRangeBlocks > wrapBlocks)
            throw new ArgumentException($"--zonerange={FioSize.Format(o.EffectiveZoneRange)}: the zone is larger than the device after --offset ({FioSize.Format(wrapBlocks * lbs)})");
        long slotBlocks = o.Strided ? zoneRangeBlocks : regionBlocks;
        var ticks = (TimeSpan t) => (long)(t.TotalSeconds * Stopwatch.Frequency);
        // rate (bytes per second) wins over per-direction rate_iops, as fio's bandwidth cap does.
        var directionRates = o.Rate.Any ? o.Rate : o.RateIopsByDirection ?? default;
        return new WorkloadPlan
        {
            BlockBytes = o.MaxBlockBytes,
            IoDepth = o.IoDepth,
            RegionStartLba = offset / lbs,
            RegionBlocks = regionBlocks,
            BlocksPerIo = maxBlocks,
            Sizes = sizes,
            AlignBlocks = alignBlocks,
            VerifyBlocks = Math.Max(1, o.VerifyChunkBytes / lbs),
            // Slots leave room for the largest size at the last one, so every I/O fits in the region.
            Offsets = random ? new OffsetDistribution(o.RandomDistribution, (slotBlocks - maxBlocks) / alignBlocks + 1, (long)alignBlocks * lbs) : null,
            LatencyTargetTicks = ticks(o.LatencyTarget),
            LatencyWindowTicks = ticks(o.LatencyWindow),
            LatencyPercentile = o.LatencyPercentile,
            LatencyRun = o.LatencyRun,
            SteadyState = o.SteadyState,
            SteadyStateDuration = o.SteadyStateDuration,
            SteadyStateRamp = o.SteadyStateRamp,
            SteadyStateInterval = o.SteadyStateInterval,
            FlowWeight = o.Flow,
            FlowId = o.FlowId,
            FlowSleepTicks = ticks(o.FlowSleep),
            ZoneSizeBytes = o.Strided ? o.ZoneSize : 0,
            ZoneRangeBlocks = zoneRangeBlocks,
            ZoneSkipBlocks = o.ZoneSkip / lbs,
            ZoneWrapBlocks = wrapBlocks,
            Random = random,
            RandomMap = random && !o.NoRandomMap && o.RandomDistribution.Kind == RandomDistributionKind.Random,
            RandomRun = random && o.RwModifier > 0 ? (int)Math.Min(o.RwModifier, int.MaxValue) : 1,
            SeqAddBlocks = random ? 0 : o.RwModifier / lbs,
            Trim = o.Rw.IsTrim(),
            // fio's verify_only: the write workload's blocks are read and checked, nothing is written.
            ReadPercent = o.VerifyOnly && o.Verify != VerifyMode.None ? 100 : o.Rw switch
            {
                ReadWriteMode.Read or ReadWriteMode.RandRead => 100,
                ReadWriteMode.Write or ReadWriteMode.RandWrite or ReadWriteMode.Trim or ReadWriteMode.RandTrim => 0,
                _ => o.RwMixRead,
            },
            RampTicks = ticks(o.RampTime),
            RuntimeTicks = o.Runtime is { } rt ? ticks(rt) : 0,
            TimeBased = o.TimeBased,
            // fio without --time_based transfers io_size (by default the region) once per loop, or stops at --runtime.
            SizeBytes = (o.FillDevice ? regionBytes : o.IoSize ?? regionBytes) * o.Loops,
            NumberIos = o.NumberIos ?? 0,
            Seed = SeedFor(o),
            StartDelayTicks = ticks(o.StartDelay),
            RegionStrideBlocks = o.OffsetIncrement / lbs,
            CutAtDeviceBlocks = o.CutsClonesAtDeviceEnd ? device.CapacityBytes / lbs : 0,
            ThinkTicks = ticks(o.ThinkTime),
            ThinkBlocks = o.ThinkTimeBlocks,
            RateIops = o.RateIops ?? 0,
            RatePoisson = o.RateProcess == RateProcess.Poisson,
            DirectionRates = directionRates,
            DirectionRatesInBytes = o.Rate.Any,
            RateMinBytes = o.RateMin,
            RateMinIops = o.RateIopsMin,
            RateCycleTicks = ticks(o.RateCycle),
            IoDepthLow = o.IoDepthLow is int low and > 0 ? Math.Min(low, o.IoDepth) : o.IoDepth,      // fio's caps
            BatchMin = Math.Clamp(Math.Max(o.IoDepthBatchSubmit, o.IoDepthBatchCompleteMin), 1, o.IoDepth),
            Verify = o.Verify != VerifyMode.None,
            VerifyMode = o.Verify,
            VerifyPattern = o.VerifyPatternBytes,
            // fio's do_verify: a write-only job reads everything back once the writes are done.
            VerifyAfterWrites = o.Verify != VerifyMode.None && o.DoVerify && !o.Rw.HasReads() && !o.VerifyOnly,
            VerifyOffset = (int)o.VerifyOffset,
            VerifyBacklog = o.VerifyOnly ? 0 : o.VerifyBacklog,
            VerifyBacklogBatch = o.VerifyBacklogBatch,
            // fio's continue_on_error=verify (or all) keeps a job going after a mismatch even with verify_fatal.
            VerifyFatal = o.VerifyFatal && !o.ContinueOnError.HasFlag(ContinueOnError.Verify),
            ContinueOnReadError = o.ContinuesAfter(0),
            ContinueOnWriteError = o.ContinuesAfter(1),
        };
    }

    /// <summary>fio's randseed, else a fixed seed (randrepeat=1, the default), else a fresh one each run.</summary>
    internal static ulong SeedFor(JobOptions o) =>
        o.RandSeed ?? (o.RandRepeat ? WorkloadPlan.DefaultSeed : (ulong)System.Random.Shared.NextInt64() ^ (ulong)Stopwatch.GetTimestamp());

    private static JobResult ToResult(JobOptions o, JobMeasurement m, JobSession session)
    {
        bool rate = o.RateIops is not null || o.Rate.Any || o.RateIopsByDirection is not null;
        DirectionResult Direction(WorkloadPoller.DirectionCounters c, int d, int clone = -1) => new()
        {
            BwStat = clone < 0 ? session.Rates?[d].Bw : session.CloneRates is { } cr && clone < cr.Length ? cr[clone][d].Bw : null,
            IopsStat = clone < 0 ? session.Rates?[d].Iops : session.CloneRates is { } cr2 && clone < cr2.Length ? cr2[clone][d].Iops : null,
            TotalIos = c.Ios,
            Bytes = c.Bytes,
            Errors = c.Errors,
            SlatNs = c.Ios > 0 ? c.SlatNs : null,
            ClatNs = c.Ios > 0 ? c.ClatNs : null,
            LatNs = c.Ios > 0 ? c.LatNs : null,
            IntendedLatNs = c.Ios > 0 && rate ? c.IntendedLatNs : null,
            ScheduledIos = c.ScheduledIos,
            ScheduleLagSumNs = c.ScheduleLagSumNs,
            ScheduleLagMaxNs = c.ScheduleLagMaxNs,
        };
        var pool = m.Engine;
        var errors = session.Errors;
        if (errors is not null)
        {
            errors.Recent = m.RecentErrors;
            // The engine's word on the first failure, if its record is still among the recent ones.
            if (errors.First is { } first && m.RecentErrors.LastOrDefault(e => (long)e.Sector * 512 == first.Offset && e.Status.ToString() == first.Status) is { Detail: { } detail })
                errors.First = first with { Detail = detail };
        }
        var result = new JobResult
        {
            Name = o.Name,
            Options = o,
            Device = m.DeviceDescription,
            Runtime = m.Runtime,
            Read = Direction(m.Read, 0),
            Write = Direction(m.Write, 1),
            Trim = Direction(m.Trim, 2),
            UserCpuSeconds = m.Cpu.User.TotalSeconds,
            SystemCpuSeconds = m.Cpu.System.TotalSeconds,
            AllocatedBytes = m.AllocatedBytes,
            DeviceProcessId = m.DeviceCpu?.ProcessId,
            DeviceUserCpuSeconds = m.DeviceCpu?.Cpu.User.TotalSeconds,
            DeviceSystemCpuSeconds = m.DeviceCpu?.Cpu.System.TotalSeconds,
            CpuCount = Environment.ProcessorCount,
            Start = m.Start,
            // fio's err=: EILSEQ (84) for a verification failure, else the errno of the failure that stopped the job;
            // failures that continue_on_error let the job go on after leave it 0, as in fio (they are in total_err).
            Error = session.Verify is { Mismatches: > 0 } ? 84 : errors is { StoppedJob: true, First: { } stop } ? stop.Errno : 0,
            Errors = errors,
            RateMinFailure = session.RateMinFailure,
            SteadyState = session.SteadyState,
            LatencyDepth = session.LatencyDepth,
            Verify = session.Verify,
            UnissuedAtEnd = session.UnissuedAtEnd,
            Intervals = session.Intervals?.Samples.ToList() ?? [],
            IntervalMs = session.Intervals?.IntervalMs ?? 0,
            HistLogPath = session.Intervals?.HistLogPath,
            SharedEngineJobs = m.SharedWith,
            Depths = m.Depths,
            Members = o.NumJobs,
            Queues = m.Engine.Queues.Where(q => m.QueueCount == 0 || (q.Queue >= m.QueueOffset && q.Queue < m.QueueOffset + m.QueueCount)).Select(q => (q, c: q.Counters - m.AtMeasureStart.Queues[q.Queue].Counters)).Select(x => new QueueReport
            {
                Queue = x.q.Queue,
                Core = x.q.Core,
                Requests = x.c.Requests,
                Bytes = x.c.Bytes,
                Batches = x.c.Batches,
                Kicks = x.c.Kicks,
                Polls = x.c.Polls,
                IdlePolls = x.c.IdlePolls,
                Errors = x.c.Errors,
                Bounces = x.c.Bounces,
                BufferPoolInUse = pool.BufferPoolInUseBytes,
                BufferPoolCapacity = pool.BufferPoolCapacityBytes,
                ReactorIdleFraction = (x.q.Reactor - m.AtMeasureStart.Queues[x.q.Queue].Reactor).IdleFraction,
                KicksSuppressed = x.c.KicksSuppressed,
                Sleeps = (x.q.Reactor - m.AtMeasureStart.Queues[x.q.Queue].Reactor).Parks,
                InterruptsArmed = x.c.InterruptsArmed,
                Timeouts = x.c.Timeouts,
                QueueResets = x.c.QueueResets,
                Resubmitted = x.c.Resubmitted,
                MeanWakeLatencyNs = (x.q.Reactor - m.AtMeasureStart.Queues[x.q.Queue].Reactor).MeanWakeLatencyTicks * 1e9 / System.Diagnostics.Stopwatch.Frequency,
            }).ToList(),
        };
        // fio reports each numjobs clone on its own unless group_reporting: keep every clone's own counts too.
        if (m.Clones.Count > 1)
        {
            result.Clones = m.Clones.Select((c, i) =>
            {
                var cloneErrors = i < session.CloneErrors.Count ? session.CloneErrors[i] : null;
                if (cloneErrors is not null) cloneErrors.Recent = m.RecentErrors.Where(e => e.Queue == c.Queue).ToList();
                return result.ForClone(Direction(c.Read, 0, i), Direction(c.Write, 1, i), Direction(c.Trim, 2, i), c.Depths, c.Runtime,
                                       result.Queues.Where(q => q.Queue == c.Queue).ToList(), cloneErrors);
            }).ToList();
        }
        return result;
    }
}
