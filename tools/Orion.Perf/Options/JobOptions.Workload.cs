using System.Globalization;

namespace Orion.Perf.Options;

/// <summary>A value per I/O direction, as fio's <c>READ,WRITE,TRIM</c> options give it; 0 means none for that direction.</summary>
public readonly record struct PerDirection(long Read, long Write, long Trim)
{
    /// <summary>The value for direction <paramref name="d"/> (0 read, 1 write, 2 trim).</summary>
    public long this[int d] => d switch { 0 => Read, 1 => Write, _ => Trim };

    /// <summary>Whether any direction has a value.</summary>
    public bool Any => Read > 0 || Write > 0 || Trim > 0;

    /// <summary>The same value for all three directions.</summary>
    public static PerDirection All(long v) => new(v, v, v);

    /// <summary>As fio writes it: one value when all are equal, else <c>R,W,T</c>.</summary>
    public string Format(Func<long, string> one) =>
        Read == Write && Write == Trim ? one(Read) : $"{one(Read)},{one(Write)},{one(Trim)}";
}

/// <summary>fio's <c>random_generator</c>. Every one of them, with the random map, gives each block once per pass.</summary>
public enum RandomGenerator
{
    /// <summary>fio's default.</summary>
    Tausworthe,
    /// <summary>A full-period generator that needs no map in fio.</summary>
    Lfsr,
    /// <summary>The 64-bit variant.</summary>
    Tausworthe64,
}

/// <summary>fio's <c>zonemode</c> (zbd, for zoned block devices, is refused).</summary>
public enum ZoneMode
{
    /// <summary>No zones: zonesize must not be given.</summary>
    None,
    /// <summary>I/O in a zone of zonerange bytes until zonesize bytes were transferred, then zoneskip bytes on.</summary>
    Strided,
}

/// <summary>Job control and workload-shape options beyond the basics (fio names in each summary).</summary>
public sealed partial record JobOptions
{
    /// <summary>fio <c>filename</c>: the device when <c>--device</c> is not given (a <c>file:</c> device); null for none.</summary>
    public string? Filename { get; init; }

    /// <summary>fio <c>loops</c>: run the job's I/O this many times over (passes over the region, or io_size each).</summary>
    public int Loops { get; init; } = 1;

    /// <summary>fio <c>startdelay</c>: wait this long before the job starts (not part of its runtime).</summary>
    public TimeSpan StartDelay { get; init; }

    /// <summary>fio <c>io_size</c> / <c>io_limit</c>: bytes to transfer (per pass), when not the region's size; null means the region's size.</summary>
    public long? IoSize { get; init; }

    /// <summary>fio <c>size=N%</c>: the region is this percentage of the device (after the offset); null when size is in bytes.</summary>
    public double? SizePercent { get; init; }

    /// <summary>fio <c>offset=N%</c>: the region starts at this percentage of the device; null when offset is in bytes.</summary>
    public double? OffsetPercent { get; init; }

    /// <summary>fio <c>offset_increment</c>: clone k of <c>numjobs</c> starts k times this far after the offset.</summary>
    public long OffsetIncrement { get; init; }

    /// <summary>Block sizes per direction (fio <c>bs=R,W,T</c>); null means <see cref="BlockSize"/> for all.</summary>
    public PerDirection? BlockSizes3 { get; init; }

    /// <summary>fio <c>bsrange=MIN-MAX</c>: each I/O's size drawn between these, a multiple of MIN; null for none.</summary>
    public (int Min, int Max)? BlockSizeRange { get; init; }

    /// <summary>fio <c>blockalign</c>: random offsets are multiples of this; null means the smallest block size.</summary>
    public int? BlockAlign { get; init; }

    /// <summary>
    /// fio's <c>rw=MODE:N</c>: for a sequential mode, bytes added to each next offset (negative goes backwards); for a
    /// random mode, the number of I/Os issued sequentially before a new random offset. 0 for none.
    /// </summary>
    public long RwModifier { get; init; }

    /// <summary>fio <c>random_generator</c>.</summary>
    public RandomGenerator RandomGenerator { get; init; } = RandomGenerator.Tausworthe;

    /// <summary>fio <c>thinktime</c>: after <see cref="ThinkTimeBlocks"/> I/Os, let them complete and pause this long.</summary>
    public TimeSpan ThinkTime { get; init; }

    /// <summary>fio <c>thinktime_spin</c>: the part of the think time spent busy (a reactor is always busy-polling: accepted).</summary>
    public TimeSpan ThinkTimeSpin { get; init; }

    /// <summary>fio <c>thinktime_blocks</c>.</summary>
    public int ThinkTimeBlocks { get; init; } = 1;

    /// <summary>fio <c>rate</c>: bandwidth cap in bytes per second per direction.</summary>
    public PerDirection Rate { get; init; }

    /// <summary>fio <c>rate_iops=R,W,T</c> with different values per direction; one value sets <see cref="RateIops"/>.</summary>
    public PerDirection? RateIopsByDirection { get; init; }

    /// <summary>fio <c>rate_min</c>: the job fails when a direction's bandwidth over a <see cref="RateCycle"/> is below this.</summary>
    public PerDirection RateMin { get; init; }

    /// <summary>fio <c>rate_iops_min</c>: as <see cref="RateMin"/> in I/Os per second.</summary>
    public PerDirection RateIopsMin { get; init; }

    /// <summary>fio <c>rate_cycle</c>: the window <see cref="RateMin"/> is checked over.</summary>
    public TimeSpan RateCycle { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>fio <c>readonly</c>: refuse any job that would write or trim.</summary>
    public bool ReadOnlyJob { get; init; }

    /// <summary>fio <c>iodepth_low</c>: once the depth is reached, issue again only when in flight fell to this; null (or 0, or above iodepth) means iodepth (keep full).</summary>
    public int? IoDepthLow { get; init; }

    /// <summary>fio <c>iodepth_batch_submit</c>: issue in batches of at least this many I/Os (1 = as soon as a slot is free).</summary>
    public int IoDepthBatchSubmit { get; init; } = 1;

    /// <summary>fio <c>iodepth_batch_complete_min</c>: wait for at least this many completions before issuing again.</summary>
    public int IoDepthBatchCompleteMin { get; init; } = 1;

    /// <summary>fio <c>wait_for</c>: this job starts once the named job finished; null for none.</summary>
    public string? WaitFor { get; init; }

    /// <summary>fio <c>exitall</c>: when this job finishes, the jobs running with it stop.</summary>
    public bool ExitAll { get; init; }

    /// <summary>fio <c>exit_what=all</c>: with <see cref="ExitAll"/>, this job's end also cancels the jobs of later groups before they start.</summary>
    public bool ExitWhatAll { get; init; }

    /// <summary>fio <c>fill_device</c>: write (or read) the device to its end from the offset, whatever the size.</summary>
    public bool FillDevice { get; init; }

    /// <summary>fio <c>flow</c>: the job's weight in its <see cref="FlowId"/> group (each numjobs clone has it); 0 = no flow control.</summary>
    public int Flow { get; init; }

    /// <summary>fio <c>flow_id</c>: jobs with the same id keep their I/O counts in the ratio of their <see cref="Flow"/> weights.</summary>
    public int FlowId { get; init; }

    /// <summary>fio <c>flow_sleep</c>: once held back, let the I/Os in flight complete and pause this long (0: retry at once).</summary>
    public TimeSpan FlowSleep { get; init; }

    /// <summary>The largest <see cref="Flow"/> weight (fio's FLOW_MAX_WEIGHT).</summary>
    public const int MaxFlowWeight = 1000;

    /// <summary>fio <c>latency_target</c>: search for the highest depth (up to iodepth) whose I/Os stay below this; zero = off.</summary>
    public TimeSpan LatencyTarget { get; init; }

    /// <summary>fio <c>latency_window</c>: how long each depth is tried.</summary>
    public TimeSpan LatencyWindow { get; init; }

    /// <summary>fio <c>latency_percentile</c>: the percentage of a window's I/Os that must meet the target (default 100).</summary>
    public double LatencyPercentile { get; init; } = 100;

    /// <summary>fio <c>latency_run</c>: keep adjusting the depth for the whole run instead of ending once found.</summary>
    public bool LatencyRun { get; init; }

    /// <summary>fio <c>steadystate</c> / <c>ss</c>: the criterion (fio's default iops_slope:0.01%); active only with <see cref="SteadyStateDuration"/>.</summary>
    public SteadyStateSpec SteadyState { get; init; } = SteadyStateSpec.Default;

    /// <summary>fio <c>ss_dur</c>: the rolling window steady state is judged over; zero turns detection off (fio's default).</summary>
    public TimeSpan SteadyStateDuration { get; init; }

    /// <summary>fio <c>ss_ramp</c>: time before steady-state data collection begins.</summary>
    public TimeSpan SteadyStateRamp { get; init; }

    /// <summary>fio <c>ss_interval</c>: how often a sample is taken and the criterion checked (1 s).</summary>
    public TimeSpan SteadyStateInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>fio <c>zonemode</c>; null when not given (strided when <see cref="ZoneSize"/> is, as fio).</summary>
    public ZoneMode? ZoneMode { get; init; }

    /// <summary>fio <c>zonesize</c>: bytes transferred in a zone before the next; 0 for none.</summary>
    public long ZoneSize { get; init; }

    /// <summary>fio <c>zonerange</c>: the zone's size; 0 means <see cref="ZoneSize"/>.</summary>
    public long ZoneRange { get; init; }

    /// <summary>fio <c>zoneskip</c>: bytes skipped after a zone.</summary>
    public long ZoneSkip { get; init; }

    /// <summary>Whether the job runs in strided zones (fio's zonemode=strided, given or implied by zonesize).</summary>
    internal bool Strided => (ZoneMode ?? (ZoneSize > 0 ? Options.ZoneMode.Strided : Options.ZoneMode.None)) == Options.ZoneMode.Strided;

    /// <summary>fio's zonerange once defaulted: zonesize when not given.</summary>
    internal long EffectiveZoneRange => ZoneRange > 0 ? ZoneRange : ZoneSize;

    /// <summary>The largest <see cref="Loops"/> accepted.</summary>
    public const int MaxLoops = 1_000_000_000;

    /// <summary>Whether the job's region or amount depends on the device's capacity (percentages, fill_device).</summary>
    internal bool RegionFromCapacity => SizePercent is not null || OffsetPercent is not null || FillDevice;

    /// <summary>The block size of direction <paramref name="d"/> (0 read, 1 write, 2 trim) without bssplit or bsrange.</summary>
    internal int BlockSizeOf(int d) => BlockSizes3 is { } b ? (int)b[d] : BlockSize;

    /// <summary>
    /// The region on a device of <paramref name="capacityBytes"/> with <paramref name="blockSize"/>-byte blocks, as fio
    /// resolves it: percentages of the capacity (aligned down to a block), and a size beyond the device cut at its end.
    /// </summary>
    internal (long Offset, long Size) ResolveRegion(long capacityBytes, int blockSize)
    {
        long offset = OffsetPercent is double op ? AlignDown((long)(capacityBytes * op / 100), blockSize) : Offset;
        long left = Math.Max(0, capacityBytes - offset);
        long size = FillDevice ? left
            : SizePercent is double sp ? AlignDown((long)(left * sp / 100), blockSize)
            : Size ?? left;
        return (offset, Math.Min(size, left));
    }

    private static long AlignDown(long v, int unit) => v / unit * unit;

    private void ValidateWorkload(List<string> errors)
    {
        if (Loops is < 1 or > MaxLoops) errors.Add($"--loops={Num(Loops)}: the number of passes must be from 1 to {Num(MaxLoops)}");
        if (StartDelay < TimeSpan.Zero) errors.Add($"--startdelay={FioTime.Format(StartDelay)}: the delay must not be negative");
        if (IoSize is long io && io <= 0) errors.Add($"--io_size={FioSize.Format(io)}: the amount must be positive");
        if (OffsetIncrement < 0) errors.Add($"--offset_increment={FioSize.Format(OffsetIncrement)}: the increment must not be negative");
        if (ThinkTime < TimeSpan.Zero || ThinkTimeSpin < TimeSpan.Zero) errors.Add("--thinktime: the think time must not be negative");
        if (ThinkTimeSpin > ThinkTime && ThinkTime > TimeSpan.Zero)
            errors.Add($"--thinktime_spin={FioTime.Format(ThinkTimeSpin)}: the spin is part of --thinktime={FioTime.Format(ThinkTime)} and cannot be longer");
        if (ThinkTimeBlocks < 1) errors.Add($"--thinktime_blocks={Num(ThinkTimeBlocks)}: must be at least 1");
        // fio caps iodepth_low and the batch sizes at iodepth (and reads iodepth_low=0 as iodepth): only negatives are wrong.
        if (IoDepthLow < 0 || IoDepthBatchSubmit < 0 || IoDepthBatchCompleteMin < 0)
            errors.Add("--iodepth_low, --iodepth_batch_submit and --iodepth_batch_complete_min must not be negative");
        if (RateCycle < TimeSpan.FromMilliseconds(1)) errors.Add($"--rate_cycle={FioTime.Format(RateCycle)}: the window must be at least 1 ms");
        if (ReadOnlyJob && Rw.HasWrites())
            errors.Add($"--readonly --rw={Rw.FioName()}: readonly refuses a job that writes or trims (as fio does); use read or randread, or drop --readonly");
        if (BlockSizeRange is var (min, max))
        {
            if (min <= 0 || min % 512 != 0 || max < min || max > MaxBlockSize)
                errors.Add($"--bsrange={FioSize.Format(min)}-{FioSize.Format(max)}: give MIN-MAX, multiples of 512 with MIN <= MAX <= {FioSize.Format(MaxBlockSize)}");
        }
        if (BlockSizes3 is { } b)
            for (int d = 0; d < 3; d++)
                if (b[d] <= 0 || b[d] % 512 != 0 || b[d] > MaxBlockSize)
                    errors.Add($"--bs={b.Format(FioSize.Format)}: each block size must be a multiple of 512 bytes up to {FioSize.Format(MaxBlockSize)}");
        if (BlockAlign is int ba && (ba <= 0 || ba % 512 != 0)) errors.Add($"--blockalign={Num(ba)}: the alignment must be a positive multiple of 512 bytes");
        if (SizePercent is double sp && (sp <= 0 || sp > 100)) errors.Add($"--size={sp.ToString(CultureInfo.InvariantCulture)}%: the percentage must be above 0 and at most 100");
        if (OffsetPercent is double op && (op < 0 || op >= 100)) errors.Add($"--offset={op.ToString(CultureInfo.InvariantCulture)}%: the percentage must be from 0 to below 100");
        if (Rw.IsRandom() && RwModifier < 0) errors.Add($"--rw={Rw.FioName()}:{Num(RwModifier)}: for a random pattern N is how many I/Os run sequentially before a new random offset; it must be positive");
        if (LatencyTarget < TimeSpan.Zero || LatencyWindow < TimeSpan.Zero)
            errors.Add("--latency_target and --latency_window must not be negative");
        if (LatencyPercentile is < 0 or > 100 || double.IsNaN(LatencyPercentile))
            errors.Add($"--latency_percentile={LatencyPercentile.ToString(CultureInfo.InvariantCulture)}: give a percentage from 0 to 100");
        if (SteadyStateDuration < TimeSpan.Zero || SteadyStateRamp < TimeSpan.Zero)
            errors.Add("--ss_dur and --ss_ramp must not be negative");
        if (SteadyStateInterval < TimeSpan.FromMilliseconds(1))
            errors.Add($"--ss_interval={FioTime.Format(SteadyStateInterval)}: the check interval must be at least 1 ms");
        else if (SteadyStateDuration > TimeSpan.Zero && SteadyStateDuration < SteadyStateInterval)
            errors.Add($"--ss_dur={FioTime.Format(SteadyStateDuration)}: the window must hold at least one --ss_interval ({FioTime.Format(SteadyStateInterval)})");
        if (Flow is < 0 or > MaxFlowWeight) errors.Add($"--flow={Num(Flow)}: the weight must be from 0 (no flow control) to {Num(MaxFlowWeight)}");
        if (FlowId < 0) errors.Add($"--flow_id={Num(FlowId)}: the id must not be negative");
        if (FlowSleep < TimeSpan.Zero) errors.Add("--flow_sleep: the pause must not be negative");
        if (ZoneMode == Options.ZoneMode.None && ZoneSize > 0)
            errors.Add($"--zonemode=none --zonesize={FioSize.Format(ZoneSize)}: zonesize needs zonemode=strided (as fio: they are not compatible)");
        if (ZoneMode == Options.ZoneMode.Strided && ZoneSize == 0)
            errors.Add("--zonemode=strided: give --zonesize, the bytes to transfer in each zone (for example --zonesize=256m)");
        if (Strided && EffectiveZoneRange > 0 && (EffectiveZoneRange < MaxBlockBytes || EffectiveZoneRange % 512 != 0 || ZoneSkip % 512 != 0))
            errors.Add($"--zonerange={FioSize.Format(EffectiveZoneRange)} --zoneskip={FioSize.Format(ZoneSkip)}: a zone must hold the largest block " +
                       $"({FioSize.Format(MaxBlockBytes)}), and zone range and skip must be multiples of 512 bytes");
        if (WaitFor is { } w && string.IsNullOrWhiteSpace(w)) errors.Add("--wait_for: name the job to wait for");
    }
}
