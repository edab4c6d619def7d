using Orion.Perf.Options;

namespace Orion.Perf.Workload;

/// <summary>What an I/O of a job does to the device.</summary>
internal enum IoDirection : byte { Read, Write, Trim }

/// <summary>
/// What one job does, in device terms, resolved from the fio-style options: direction mix, block sizes in bytes,
/// the LBA region it covers, how random offsets are spread, depth, and when it stops.
/// </summary>
internal sealed record WorkloadPlan
{
    public required int BlockBytes { get; init; }             // the largest block size: every buffer is this big
    public required int IoDepth { get; init; }
    public required long RegionStartLba { get; init; }
    public required long RegionBlocks { get; init; }          // device blocks in the region
    public required int BlocksPerIo { get; init; }            // of the largest block size
    public required bool Random { get; init; }
    public required int ReadPercent { get; init; }            // 100 = all reads, 0 = all writes (or trims when Trim)
    public required long RampTicks { get; init; }             // Stopwatch ticks
    public required long RuntimeTicks { get; init; }          // 0 = no time limit
    public required bool TimeBased { get; init; }
    public required long SizeBytes { get; init; }             // bytes to transfer when not time based
    public ulong Seed { get; init; } = DefaultSeed;

    /// <summary>
    /// The plan of numjobs clone <paramref name="k"/> (from 0): its own seed and, with fio's offset_increment, its
    /// region <paramref name="k"/> strides further on.
    /// </summary>
    public WorkloadPlan ForClone(int k) => this with
    {
        Seed = Seed + (ulong)k * 0x9E3779B97F4A7C15UL,
        RegionStartLba = RegionStartLba + k * RegionStrideBlocks,
        // No size given: as fio, each clone's region runs from its own start to the device's end.
        RegionBlocks = CutAtDeviceBlocks > 0 ? Math.Min(RegionBlocks, CutAtDeviceBlocks - (RegionStartLba + k * RegionStrideBlocks)) : RegionBlocks,
        VerifyThread = (ushort)(VerifyThread + k),
    };

    /// <summary>The seed with fio's default randrepeat=1 and no randseed.</summary>
    public const ulong DefaultSeed = 0x9E3779B97F4A7C15UL;

    /// <summary>Discard instead of write (fio trim and randtrim); <see cref="ReadPercent"/> is then 0.</summary>
    public bool Trim { get; init; }

    /// <summary>Stop after this many I/Os in the measured phase (fio number_ios); 0 = no such limit.</summary>
    public long NumberIos { get; init; }

    /// <summary>The sizes each direction's I/Os take (bs, bs=R,W,T, bssplit, bsrange).</summary>
    public required BlockSizeTable Sizes { get; init; }

    /// <summary>Alignment of random offsets in device blocks: fio's blockalign, by default the smallest block size.</summary>
    public int AlignBlocks { get; init; }

    /// <summary>Device blocks per verify header: the smallest block size.</summary>
    public int VerifyBlocks { get; init; }

    /// <summary>fio startdelay: Stopwatch ticks to wait before the job starts.</summary>
    public long StartDelayTicks { get; init; }

    /// <summary>The device's blocks when a clone's region is cut at the device's end (no size given, sequential); 0 otherwise.</summary>
    public long CutAtDeviceBlocks { get; init; }

    /// <summary>fio offset_increment in device blocks: workload (clone) k's region starts k times this after the job's.</summary>
    public long RegionStrideBlocks { get; init; }

    /// <summary>fio rw=MODE:N for a sequential mode: device blocks added between I/Os (negative: backwards).</summary>
    public long SeqAddBlocks { get; init; }

    /// <summary>fio rw=MODE:N for a random mode: I/Os run in sequence after each random offset (1 = every I/O random).</summary>
    public int RandomRun { get; init; } = 1;

    /// <summary>fio's random map (no norandommap, uniform offsets): every slot once per pass.</summary>
    public bool RandomMap { get; init; }

    /// <summary>fio thinktime in Stopwatch ticks (0 = none), after every <see cref="ThinkBlocks"/> I/Os.</summary>
    public long ThinkTicks { get; init; }

    /// <summary>fio thinktime_blocks.</summary>
    public int ThinkBlocks { get; init; } = 1;

    /// <summary>Per-direction rate caps (fio rate in bytes/s, or rate_iops=R,W,T in I/Os per second); 0 = none.</summary>
    public PerDirection DirectionRates { get; init; }

    /// <summary>Whether <see cref="DirectionRates"/> are bytes per second (fio rate) rather than I/Os per second.</summary>
    public bool DirectionRatesInBytes { get; init; }

    /// <summary>fio rate_min per direction in bytes per second, and rate_iops_min in I/Os per second; 0 = none.</summary>
    public PerDirection RateMinBytes { get; init; }

    /// <summary>fio rate_iops_min per direction; 0 = none.</summary>
    public PerDirection RateMinIops { get; init; }

    /// <summary>fio rate_cycle in Stopwatch ticks.</summary>
    public long RateCycleTicks { get; init; }

    /// <summary>fio iodepth_low: once the depth is reached, issue again when in flight fell to this.</summary>
    public int IoDepthLow { get; init; }

    /// <summary>fio iodepth_batch_submit / iodepth_batch_complete_min: issue only when this many slots are free.</summary>
    public int BatchMin { get; init; } = 1;

    /// <summary>Where random I/Os go: slots of <see cref="AlignBlocks"/> blocks from the region start, each with room for the largest size.</summary>
    public OffsetDistribution? Offsets { get; init; }

    /// <summary>Open-loop rate in I/Os per second for this workload (fio rate_iops, per job); 0 = closed loop.</summary>
    public long RateIops { get; init; }

    /// <summary>Poisson arrivals rather than evenly spaced ones (fio rate_process=poisson).</summary>
    public bool RatePoisson { get; init; }

    /// <summary>Stamp writes and check reads of blocks written (fio verify=crc32c); a header covers <see cref="AlignBlocks"/> blocks.</summary>
    public bool Verify { get; init; }

    /// <summary>fio verify: crc32c, meta or pattern (what <see cref="Verify"/> checks).</summary>
    public Options.VerifyMode VerifyMode { get; init; } = Options.VerifyMode.Crc32c;

    /// <summary>fio verify_pattern; null for none.</summary>
    public byte[]? VerifyPattern { get; init; }

    /// <summary>fio verify_offset: bytes into each block the header is swapped to (0 = at its start).</summary>
    public int VerifyOffset { get; init; }

    /// <summary>fio verify_backlog: written blocks after which the job reads them back and checks them (0 = off).</summary>
    public long VerifyBacklog { get; init; }

    /// <summary>fio verify_backlog_batch: blocks checked each time the backlog is due (0 = all).</summary>
    public long VerifyBacklogBatch { get; init; }

    /// <summary>The job's number in each verify header (fio's thread_number): the clone's, from 1.</summary>
    public ushort VerifyThread { get; init; } = 1;

    /// <summary>After the measured writes, read back and check every block written (fio do_verify with a write-only workload).</summary>
    public bool VerifyAfterWrites { get; init; }

    /// <summary>Stop at the first mismatch (fio verify_fatal).</summary>
    public bool VerifyFatal { get; init; }

    /// <summary>fio latency_target in Stopwatch ticks (ns): search for the depth whose I/Os stay below it; 0 = off.</summary>
    public long LatencyTargetTicks { get; init; }

    /// <summary>fio latency_window in Stopwatch ticks: how long each depth is tried.</summary>
    public long LatencyWindowTicks { get; init; }

    /// <summary>fio latency_percentile: the share of a window's I/Os that must meet the target (100 = every one).</summary>
    public double LatencyPercentile { get; init; } = 100;

    /// <summary>fio latency_run: keep adjusting the depth for the whole run rather than ending once it is found.</summary>
    public bool LatencyRun { get; init; }

    /// <summary>fio steadystate: the criterion; active only with <see cref="SteadyStateDuration"/> above zero.</summary>
    public Options.SteadyStateSpec? SteadyState { get; init; }

    /// <summary>fio ss_dur: the window steady state is judged over; zero = off.</summary>
    public TimeSpan SteadyStateDuration { get; init; }

    /// <summary>fio ss_ramp.</summary>
    public TimeSpan SteadyStateRamp { get; init; }

    /// <summary>fio ss_interval.</summary>
    public TimeSpan SteadyStateInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>fio flow: this workload's weight in its flow_id group; 0 = no flow control.</summary>
    public int FlowWeight { get; init; }

    /// <summary>fio flow_id: the group of workloads kept in the ratio of their weights.</summary>
    public int FlowId { get; init; }

    /// <summary>fio flow_sleep in Stopwatch ticks: once held back, let the I/Os in flight complete and pause this long; 0 = retry at once.</summary>
    public long FlowSleepTicks { get; init; }

    /// <summary>fio zonemode=strided zonesize in bytes: after this many bytes in a zone the next zone starts; 0 = no zones.</summary>
    public long ZoneSizeBytes { get; init; }

    /// <summary>fio zonerange in device blocks: the size of a zone, where the job's offsets fall while in it.</summary>
    public long ZoneRangeBlocks { get; init; }

    /// <summary>fio zoneskip in device blocks: the gap between the end of one zone and the start of the next.</summary>
    public long ZoneSkipBlocks { get; init; }

    /// <summary>Device blocks from the region start to the device's end: a zone that would not fit there wraps to the region start (fio: the file's end).</summary>
    public long ZoneWrapBlocks { get; init; }

    /// <summary>Count failed reads and go on (fio continue_on_error=read, io or all); otherwise the first one stops the workload.</summary>
    public bool ContinueOnReadError { get; init; }

    /// <summary>Count failed writes and trims and go on (fio continue_on_error=write, io or all).</summary>
    public bool ContinueOnWriteError { get; init; }
}
