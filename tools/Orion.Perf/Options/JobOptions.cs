using System.Globalization;

namespace Orion.Perf.Options;

/// <summary>
/// One benchmark job, with fio's option names and meanings. Defaults are fio's where fio has one, except
/// <see cref="Rw"/> (randread, the usual latency question) and <see cref="Device"/>.
/// </summary>
public sealed partial record JobOptions
{
    /// <summary>The largest block size accepted: the engine's default largest transfer (EngineOptions.MaxBufferBytes).</summary>
    public const int MaxBlockSize = 1 << 20;

    /// <summary>The largest queue depth accepted.</summary>
    public const int MaxIoDepth = 4096;

    /// <summary>Job name (fio <c>name</c>); it heads the report.</summary>
    public string Name { get; init; } = "orion";

    /// <summary>I/O pattern (fio <c>rw</c>/<c>readwrite</c>).</summary>
    public ReadWriteMode Rw { get; init; } = ReadWriteMode.RandRead;

    /// <summary>Bytes per I/O (fio <c>bs</c>/<c>blocksize</c>); a multiple of 512.</summary>
    public int BlockSize { get; init; } = 4096;

    /// <summary>Block sizes with the percentage of I/Os using each (fio <c>bssplit</c>); null means every I/O uses <see cref="BlockSize"/>.</summary>
    public IReadOnlyList<BlockSizeShare>? BlockSizeSplit { get; init; }

    /// <summary>
    /// fio <c>bssplit=READ,WRITE[,TRIM]</c>: each direction's own split (null for a direction that uses <see cref="BlockSize"/>);
    /// null when one split serves all (<see cref="BlockSizeSplit"/>, which is then also the read split).
    /// </summary>
    public IReadOnlyList<BlockSizeShare>?[]? BlockSizeSplits3 { get; init; }

    /// <summary>The split of direction <paramref name="d"/> (0 read, 1 write, 2 trim); null when it uses bs.</summary>
    internal IReadOnlyList<BlockSizeShare>? SplitOf(int d) => BlockSizeSplits3 is { } s ? s[d] : BlockSizeSplit;

    /// <summary>
    /// The block sizes the job uses, with their shares: <see cref="BlockSizeSplit"/>, or <see cref="BlockSize"/> for all;
    /// with a split per direction, every direction's entries (each direction's shares add up to 100).
    /// </summary>
    public IReadOnlyList<BlockSizeShare> BlockSizes => BlockSizeSplits3 is { } s
        ? [.. Enumerable.Range(0, 3).SelectMany(d => s[d] ?? [new BlockSizeShare(BlockSize, 100)])]
        : BlockSizeSplit ?? [new BlockSizeShare(BlockSize, 100)];

    /// <summary>The largest block size the job uses; buffers are this big.</summary>
    public int MaxBlockBytes => Math.Max(BlockSizes.Max(s => s.Bytes),
        Math.Max(BlockSizeRange?.Max ?? 0, BlockSizes3 is { } b ? (int)Math.Max(b.Read, Math.Max(b.Write, b.Trim)) : 0));

    /// <summary>The smallest block size the job uses: the unit of its offsets (fio's blockalign default) and of verify headers.</summary>
    public int MinBlockBytes => BlockSizeRange?.Min ?? (BlockSizes3 is { } b && BlockSizeSplit is null
        ? (int)Math.Min(b.Read, Math.Min(b.Write, b.Trim)) : BlockSizes.Min(s => s.Bytes));

    /// <summary>Stop after this many I/Os per job (fio <c>number_ios</c>); null means no such limit.</summary>
    public long? NumberIos { get; init; }

    /// <summary>
    /// fio's <c>norandommap</c>: random offsets are drawn with replacement. Without it (fio's default) uniform random
    /// I/O touches every block once per pass over the region.
    /// </summary>
    public bool NoRandomMap { get; init; }

    /// <summary>Seed the offset generator the same way every run (fio <c>randrepeat</c>, default on).</summary>
    public bool RandRepeat { get; init; } = true;

    /// <summary>The offset generator's seed (fio <c>randseed</c>); null means the fixed default, or a fresh one with randrepeat=0.</summary>
    public ulong? RandSeed { get; init; }

    /// <summary>How random offsets are spread over the region (fio <c>random_distribution</c>).</summary>
    public RandomDistribution RandomDistribution { get; init; } = RandomDistribution.Uniform;

    /// <summary>I/Os kept in flight (fio <c>iodepth</c>).</summary>
    public int IoDepth { get; init; } = 1;

    /// <summary>Time limit of the measured window (fio <c>runtime</c>); null means none: one pass over <see cref="Size"/>.</summary>
    public TimeSpan? Runtime { get; init; }

    /// <summary>Run for the whole <see cref="Runtime"/>, wrapping around <see cref="Size"/> (fio <c>time_based</c>).</summary>
    public bool TimeBased { get; init; }

    /// <summary>Warm-up before measuring; its I/O is not counted (fio <c>ramp_time</c>).</summary>
    public TimeSpan RampTime { get; init; } = TimeSpan.Zero;

    /// <summary>Bytes of the device the job covers, starting at <see cref="Offset"/> (fio <c>size</c>); null means up to the end of the device.</summary>
    public long? Size { get; init; }

    /// <summary>Byte offset where the job's region starts (fio <c>offset</c>).</summary>
    public long Offset { get; init; }

    /// <summary>Percentage of reads in mixed workloads (fio <c>rwmixread</c>; <c>rwmixwrite=N</c> sets 100-N).</summary>
    public int RwMixRead { get; init; } = 50;

    /// <summary>The device to create (<c>mem:SIZE</c> or <c>null:SIZE</c>, see <see cref="Orion.Pmd.Transport.DeviceString"/>).</summary>
    public string Device { get; init; } = "mem:1G";

    /// <summary>Report format (fio <c>--output-format</c>).</summary>
    public OutputFormat OutputFormat { get; init; } = OutputFormat.Normal;

    /// <summary>File to write the report to instead of standard output (fio <c>--output</c>); null means standard output.</summary>
    public string? OutputPath { get; init; }

    /// <summary>
    /// <c>--write_hdr_log</c>: the prefix of the completion-latency interval histogram logs in HdrHistogram's log
    /// format, one file per job, <c>PREFIX_clat_hdr.N.hlog</c> (N = the job's number, from 1); null means none.
    /// fio's own histogram log is <see cref="WriteHistLog"/>.
    /// </summary>
    public string? WriteHdrLog { get; init; }

    /// <summary>The default length of an interval of <see cref="WriteHistLog"/>, <see cref="WriteHdrLog"/> and <see cref="ReportPath"/>'s IOPS plot, in ms.</summary>
    public const int DefaultIntervalMs = 1000;

    /// <summary>The shortest interval accepted, in ms.</summary>
    public const int MinIntervalMs = 10;

    /// <summary>The longest interval accepted, in ms (one hour).</summary>
    public const int MaxIntervalMs = 3_600_000;

    /// <summary>fio's <c>log_hist_msec</c>: the interval of <see cref="WriteHistLog"/> and <see cref="WriteHdrLog"/> in ms; null means <see cref="DefaultIntervalMs"/>.</summary>
    public int? LogHistMsec { get; init; }

    /// <summary>The interval length in ms that the job's interval histograms use.</summary>
    public int IntervalMs => LogHistMsec ?? DefaultIntervalMs;

    /// <summary>
    /// <c>--report=FILE</c>: a self-contained HTML report (summary table, latency percentile plots, IOPS over time) of
    /// all the jobs, written when they are done; taken from the first job, like <see cref="OutputPath"/>. Null means none.
    /// </summary>
    public string? ReportPath { get; init; }

    /// <summary>The HdrHistogram interval log of the job numbered <paramref name="jobNumber"/> (from 1); null without <see cref="WriteHdrLog"/>.</summary>
    public string? HdrLogPath(int jobNumber) =>
        WriteHdrLog is null ? null : $"{WriteHdrLog}_clat_hdr.{jobNumber.ToString(CultureInfo.InvariantCulture)}.hlog";

    /// <summary>
    /// fio's <c>direct</c>, reported as given. It changes nothing: the engine always bypasses any page cache, so our
    /// I/O is always direct.
    /// </summary>
    public bool Direct { get; init; } = true;

    /// <summary>Jobs run together, each on its own reactor and queue (fio <c>numjobs</c>); every job covers the same region.</summary>
    public int NumJobs { get; init; } = 1;

    /// <summary>Virtqueue layout (<c>--ring=split|packed</c>).</summary>
    public Orion.Pmd.Engine.RingFormat Ring { get; init; } = Orion.Pmd.Engine.RingFormat.Split;

    /// <summary>Use indirect descriptors when the device offers them (<c>--indirect=1|0</c>).</summary>
    public bool Indirect { get; init; } = true;

    /// <summary>Use EVENT_IDX when the device offers it (<c>--event_idx=1|0</c>).</summary>
    public bool EventIdx { get; init; } = true;

    /// <summary>How reactors wait for completions (<c>--poll_mode=auto|polled|adaptive|interrupt|hybrid</c>).</summary>
    public Orion.Pmd.Engine.NotificationMode PollMode { get; init; } = Orion.Pmd.Engine.NotificationMode.Auto;

    /// <summary>
    /// Where the embedded device serves its queues (<c>--device_placement=auto|reactors|threads</c>): null lets the engine
    /// decide (on the reactors for a file device through io_uring), true on the reactors, false on device threads.
    /// </summary>
    public bool? DeviceOnReactors { get; init; }

    /// <summary>The largest <see cref="RateIops"/> accepted.</summary>
    public const int MaxRateIops = 100_000_000;

    /// <summary>
    /// Open-loop rate (fio <c>rate_iops</c>): each job starts I/Os on a schedule of this many per second, with at most
    /// <see cref="IoDepth"/> in flight; I/Os the device cannot take yet wait behind the schedule, and latency is also
    /// measured from each I/O's intended start (coordinated-omission corrected). Null means no limit (closed loop).
    /// </summary>
    public int? RateIops { get; init; }

    /// <summary>How <see cref="RateIops"/> spaces the I/Os (fio <c>rate_process</c>).</summary>
    public RateProcess RateProcess { get; init; } = RateProcess.Linear;

    /// <summary>Data verification (fio <c>verify</c>).</summary>
    public VerifyMode Verify { get; init; } = VerifyMode.None;

    /// <summary>fio <c>verify_pattern</c>: the bytes written data is filled with; null for none.</summary>
    public byte[]? VerifyPatternBytes { get; init; }

    /// <summary>fio <c>verify_interval</c>: bytes per verify header (or pattern check); null means the smallest block size.</summary>
    public long? VerifyInterval { get; init; }

    /// <summary>Bytes each verify header covers: <see cref="VerifyInterval"/>, or the smallest block size.</summary>
    internal int VerifyChunkBytes => VerifyInterval is long i and > 0 and <= int.MaxValue ? (int)i : MinBlockBytes;

    /// <summary>Stop the job at the first verification mismatch (fio <c>verify_fatal</c>).</summary>
    public bool VerifyFatal { get; init; }

    /// <summary>With <see cref="Verify"/>, read back and check every block a write-only job wrote once the writes are done (fio <c>do_verify</c>, default on).</summary>
    public bool DoVerify { get; init; } = true;

    /// <summary>fio <c>verify_offset</c>: bytes into each block the header is swapped to before the write (0 = at the start).</summary>
    public long VerifyOffset { get; init; }

    /// <summary>
    /// fio <c>verify_only</c>: do not write; read the blocks the workload would write and check what an earlier run left
    /// there (each block by its own header: no sequence or seed to expect).
    /// </summary>
    public bool VerifyOnly { get; init; }

    /// <summary>fio <c>verify_backlog</c>: after this many written blocks, read them back and check them before writing on (0 = off).</summary>
    public long VerifyBacklog { get; init; }

    /// <summary>fio <c>verify_backlog_batch</c>: blocks checked each time the backlog is due (0 = all of <see cref="VerifyBacklog"/>).</summary>
    public long VerifyBacklogBatch { get; init; }

    /// <summary>
    /// CPUs for the reactors (fio <c>cpus_allowed</c>), ascending: job i's reactor runs on the i-th. Null lets the
    /// engine choose from the process's allowed set.
    /// </summary>
    public IReadOnlyList<int>? CpusAllowed { get; init; }

    /// <summary>fio's <c>stonewall</c> in a job file: this job starts a new reporting group after the jobs before it finished.</summary>
    public bool Stonewall { get; init; }

    /// <summary>fio's <c>new_group</c> in a job file: this job starts a new reporting group.</summary>
    public bool NewGroup { get; init; }

    /// <summary>The parsed <see cref="Device"/>, or null when it does not parse (<see cref="Validate"/> says why).</summary>
    public Orion.Pmd.Transport.DeviceString? DeviceString => Orion.Pmd.Transport.DeviceString.TryParse(Device, out var d, out _) ? d : null;

    /// <summary>Checks the options together; returns one clear message per problem, empty when the job can run.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(Name)) errors.Add("--name: the job name must not be empty");
        if (!Enum.IsDefined(Rw)) errors.Add($"--rw: unknown I/O pattern {(int)Rw}");

        if (BlockSize <= 0 || BlockSize % 512 != 0)
            errors.Add($"--bs={FioSize.Format(BlockSize)}: block size must be a multiple of 512 bytes (for example 4k)");
        else if (BlockSize > MaxBlockSize)
            errors.Add($"--bs={FioSize.Format(BlockSize)}: block size must be at most {FioSize.Format(MaxBlockSize)}");

        if (NumberIos is long n && n < 0) errors.Add($"--number_ios={Num(n)}: the number of I/Os must not be negative");

        if (IoDepth is < 1 or > MaxIoDepth)
            errors.Add($"--iodepth={Num(IoDepth)}: queue depth must be from 1 to {Num(MaxIoDepth)}");
        if (NumJobs is < 1 or > 256)
            errors.Add($"--numjobs={Num(NumJobs)}: from 1 to 256 jobs (one reactor and queue each)");
        if (RwMixRead is < 0 or > 100)
            errors.Add($"--rwmixread={Num(RwMixRead)}: the read percentage must be from 0 to 100");

        if (Runtime is TimeSpan rt && rt < TimeSpan.Zero)
            errors.Add($"--runtime={FioTime.Format(rt)}: runtime must not be negative");
        if (RampTime < TimeSpan.Zero)
            errors.Add($"--ramp_time={FioTime.Format(RampTime)}: ramp time must not be negative");
        if (TimeBased && (Runtime is null || Runtime.Value <= TimeSpan.Zero))
            errors.Add("--time_based needs a --runtime (for example --runtime=10 --time_based)");

        if (Offset < 0) errors.Add($"--offset={Num(Offset)}: offset must not be negative");
        if (Size is long sz && sz <= 0) errors.Add($"--size={FioSize.Format(sz)}: size must be positive");

        if (!Orion.Pmd.Transport.DeviceString.TryParse(Device, out var device, out var deviceError))
        {
            errors.Add(DeviceError(Device, deviceError));
        }
        else
        {
            ValidateAgainstDevice(device, errors);
        }

        if (OutputPath is not null && string.IsNullOrWhiteSpace(OutputPath)) errors.Add("--output: the file name must not be empty");
        ValidateLogs(errors);
        ValidateRate(errors);
        ValidateVerify(errors);
        ValidateCpus(errors);
        ValidateRecovery(errors);
        ValidateWorkload(errors);
        return errors;
    }

    /// <summary>
    /// The interval log and report paths: checked before the job runs, so a typo does not cost the run. Their
    /// directory must exist (it is not created), and the report must not be a directory.
    /// </summary>
    private void ValidateLogs(List<string> errors)
    {
        if (LogHistMsec is int ms && ms is < MinIntervalMs or > MaxIntervalMs)
            errors.Add($"--log_hist_msec={Num(ms)}: the interval must be from {Num(MinIntervalMs)} to {Num(MaxIntervalMs)} ms");
        if (WriteHdrLog is { } prefix)
        {
            if (string.IsNullOrWhiteSpace(prefix)) errors.Add("--write_hdr_log: the file name prefix must not be empty (for example --write_hdr_log=run1)");
            else if (MissingDirectory(HdrLogPath(1)!) is { } dir)
                errors.Add($"--write_hdr_log={prefix}: the directory '{dir}' does not exist; create it first or choose another prefix");
        }
        ValidateFioLogs(errors);
        if (ReportPath is { } report)
        {
            if (string.IsNullOrWhiteSpace(report)) errors.Add("--report: the file name must not be empty (for example --report=run.html)");
            else if (Directory.Exists(report)) errors.Add($"--report={report}: '{report}' is a directory; give a file name (for example {Path.Combine(report, "report.html")})");
            else if (MissingDirectory(report) is { } dir)
                errors.Add($"--report={report}: the directory '{dir}' does not exist; create it first or choose another file");
        }
    }

    /// <summary>The directory <paramref name="path"/> would be written in when it does not exist (or the path is not one), else null.</summary>
    private static string? MissingDirectory(string path)
    {
        try
        {
            string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
            return dir is null || Directory.Exists(dir) ? null : dir;
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException or System.Security.SecurityException)
        {
            return path;
        }
    }

    private void ValidateRate(List<string> errors)
    {
        if (RateIops is int rate && rate is < 1 or > MaxRateIops)
            errors.Add($"--rate_iops={Num(rate)}: the rate must be from 1 to {Num(MaxRateIops)} I/Os per second per job (or 0 for no limit)");
    }

    private void ValidateVerify(List<string> errors)
    {
        if (Verify == VerifyMode.None) return;
        string v = $"--verify={Verify.FioName()}";
        // A job that only reads checks what an earlier job or run wrote (fio's read job with verify, or verify_only).
        if (Rw.IsTrim())
            errors.Add($"{v} --rw={Rw.FioName()}: a trim leaves no data to check; verify a workload that writes (write, randwrite, rw or randrw) or reads");
        if (Orion.Pmd.Transport.DeviceString.TryParse(Device, out var device, out _) && device.Kind == Orion.Pmd.Transport.DeviceKind.Null)
            errors.Add($"{v} --device={Device}: the null device keeps no data, so nothing could be verified; use a mem: or file: device");
        if (Verify == VerifyMode.Pattern && VerifyPatternBytes is null)
            errors.Add($"{v}: give the pattern every block must hold with --verify_pattern (for example --verify_pattern=0xaa555aa5)");
        int chunk = VerifyChunkBytes;
        if (VerifyInterval is long interval
            && (interval <= 0 || interval % 512 != 0 || MinBlockBytes % interval != 0 || (Verify != VerifyMode.Pattern && interval < Verify.VerifyHeaderBytes())))
        {
            errors.Add($"--verify_interval={FioSize.Format(interval)}: give a multiple of 512 that divides the smallest block size ({FioSize.Format(MinBlockBytes)})" +
                       (Verify == VerifyMode.Pattern ? "" : " and holds a verify header"));
            return;
        }
        int headerBytes = Verify.VerifyHeaderBytes();
        if (VerifyOffset != 0 && (VerifyOffset < headerBytes || VerifyOffset + headerBytes > chunk))
            errors.Add($"--verify_offset={Num(VerifyOffset)}: the {headerBytes}-byte {Verify.FioName()} header is swapped with the bytes this far into each " +
                       $"{FioSize.Format(chunk)} block, so give at least {headerBytes} (past the header) and at most {Num(chunk - headerBytes)}");
        if (VerifyOnly && Rw.HasReads() && Rw.HasWrites())
            errors.Add($"--verify_only --rw={Rw.FioName()}: which blocks a mixed workload's writes cover depends on the mix; check with --rw=write or randwrite (what wrote the data)");
        if (VerifyBacklog < 0 || VerifyBacklog > Orion.Perf.Verify.VerifyBacklog.MaxBacklog || VerifyBacklogBatch < 0 || VerifyBacklogBatch > VerifyBacklog)
            errors.Add($"--verify_backlog={Num(VerifyBacklog)} --verify_backlog_batch={Num(VerifyBacklogBatch)}: give a number of written blocks from 1 to " +
                       $"{Num(Orion.Perf.Verify.VerifyBacklog.MaxBacklog)} (0 = off) and a batch of at most that many (0 = all of them)");
        // offset_increment at least the region apart gives every clone a region of its own, as cross-stripe-verify.fio does.
        bool ownRegions = OffsetIncrement > 0 && OffsetIncrement >= (IoSize ?? Size ?? OffsetIncrement);
        if (NumJobs > 1 && Rw.HasWrites() && !ownRegions)
            errors.Add($"{v} --numjobs={Num(NumJobs)}: the jobs share one region, so one job's writes would overwrite blocks another checks; verify with --numjobs=1, " +
                       "or give each job a region of its own with --offset_increment (at least --size apart)");
        if (chunk > 0)
            foreach (var share in BlockSizes.Where(s => s.Bytes % chunk != 0))
                errors.Add($"{v} --bssplit={BsSplitText}: every block size must be a multiple of the smallest ({FioSize.Format(chunk)}), " +
                           $"which is the unit each header covers; {FioSize.Format(share.Bytes)} is not");
    }

    /// <summary>The bssplit as fio writes it: one split, or READ,WRITE,TRIM.</summary>
    internal string BsSplitText => BlockSizeSplits3 is { } s
        ? string.Join(',', s.Select(x => x is null ? "" : Options.BlockSizeSplit.Format(x)))
        : Options.BlockSizeSplit.Format(BlockSizes);

    private void ValidateCpus(List<string> errors)
    {
        if (CpusAllowed is not { } cpus) return;
        string list = CpuList.Format(cpus);
        if (cpus.Count == 0)
        {
            errors.Add($"--cpus_allowed: the CPU list is empty; {CpuList.Hint}");
            return;
        }
        if (cpus.Count < NumJobs)
            errors.Add($"--cpus_allowed={list} --numjobs={Num(NumJobs)}: {Num(NumJobs)} jobs need {Num(NumJobs)} CPUs, one per reactor; the list has {Num(cpus.Count)}");
        int[] allowed;
        try
        {
            allowed = Orion.Pmd.Linux.CpuAffinity.GetAllowedCpus();
        }
        catch (Exception e) when (e is Orion.Pmd.Linux.LinuxException or DllNotFoundException or EntryPointNotFoundException)
        {
            return;                 // not Linux: the engine reports it at start
        }
        var outside = cpus.Where(c => Array.BinarySearch(allowed, c) < 0).ToArray();
        if (outside.Length > 0)
            errors.Add($"--cpus_allowed={list}: CPU{(outside.Length > 1 ? "s" : "")} {CpuList.Format(outside)} {(outside.Length > 1 ? "are" : "is")} not in this process's " +
                       $"allowed set ({CpuList.Format(allowed)}); choose from those");
    }

    /// <summary>
    /// A <see cref="Orion.Pmd.Transport.DeviceString"/> parse error as orion-perf reports it: <c>--device=TEXT: </c> in
    /// front (<c>--device: </c> when the text is empty), since the engine's message does not say where the text came from.
    /// </summary>
    internal static string DeviceError(string? text, string error) =>
        string.IsNullOrWhiteSpace(text) ? $"--device: {error}" : $"--device={text}: {error}";

    /// <summary>Checks the region, alignment and write permission against the device the job will run on.</summary>
    private void ValidateAgainstDevice(Orion.Pmd.Transport.DeviceString device, List<string> errors)
    {
        int lbs = device.BlockSize;
        if (BlockSizeSplit is null && BlockSize > 0 && BlockSize % 512 == 0 && BlockSize % lbs != 0)
            errors.Add($"--bs={FioSize.Format(BlockSize)}: block size must be a multiple of the device's {Num(lbs)}-byte logical block size");
        if (BlockSizeSplit is not null || BlockSizeSplits3 is not null)
            foreach (var share in BlockSizes.Where(x => x.Bytes % lbs != 0).DistinctBy(x => x.Bytes))
                errors.Add($"--bssplit={BsSplitText}: {FioSize.Format(share.Bytes)} is not a multiple of the device's {Num(lbs)}-byte logical block size");
        if (Offset >= 0 && Offset % lbs != 0)
            errors.Add($"--offset={FioSize.Format(Offset)}: offset must be a multiple of the device's {Num(lbs)}-byte logical block size");
        // A file's or a vhost-user device's capacity is known only once it is opened: RegionErrors runs again then.
        if (device.Kind is Orion.Pmd.Transport.DeviceKind.Memory or Orion.Pmd.Transport.DeviceKind.Null)
            errors.AddRange(RegionErrors(device.SizeBytes));
        if (device.ReadOnly && Rw.HasWrites())
            errors.Add($"--rw={Rw.FioName()}: the device {Device} is read-only");
    }

    /// <summary>
    /// Checks the region against a device of <paramref name="capacityBytes"/>: as fio, a size beyond the device's end
    /// is cut there (<see cref="ResolveRegion"/>); an offset at or beyond the end, or a region smaller than one block, is an error.
    /// </summary>
    internal IEnumerable<string> RegionErrors(long capacityBytes)
    {
        var (offset, size) = ResolveRegion(capacityBytes, 512);
        if (offset >= capacityBytes && offset > 0)
        {
            yield return $"--offset={FioSize.Format(offset)}: offset is at or beyond the end of the {FioSize.Format(capacityBytes)} device";
            yield break;
        }
        if (offset < 0) yield break;
        if (MaxBlockBytes > 0 && size > 0 && size < MaxBlockBytes)
            yield return $"--size={FioSize.Format(size)}: the region is smaller than one {FioSize.Format(MaxBlockBytes)} block";
        long lastStart = offset + (NumJobs - 1) * OffsetIncrement;
        if (OffsetIncrement > 0 && NumJobs > 1 && CutsClonesAtDeviceEnd && lastStart + MaxBlockBytes > capacityBytes)
            yield return $"--offset_increment={FioSize.Format(OffsetIncrement)} --numjobs={Num(NumJobs)}: job {Num(NumJobs)} would start at " +
                         $"{FioSize.Format(lastStart)}, with no room for a block before the end of the {FioSize.Format(capacityBytes)} device; give a smaller --offset_increment";
        else if (OffsetIncrement > 0 && NumJobs > 1 && !CutsClonesAtDeviceEnd && lastStart + size > capacityBytes)
            yield return $"--offset_increment={FioSize.Format(OffsetIncrement)} --numjobs={Num(NumJobs)}: job {Num(NumJobs)}'s region would be " +
                         $"{FioSize.Format(offset + (NumJobs - 1) * OffsetIncrement)} to {FioSize.Format(offset + (NumJobs - 1) * OffsetIncrement + size)}, " +
                         $"beyond the {FioSize.Format(capacityBytes)} device; give a smaller --size or --offset_increment";
    }

    /// <summary>
    /// fio's regions with offset_increment and no size: each clone's runs from its own start to the device's end. Only
    /// for sequential I/O here (random offsets are drawn over one region shared by the clones' plans).
    /// </summary>
    internal bool CutsClonesAtDeviceEnd => OffsetIncrement > 0 && Size is null && SizePercent is null && !FillDevice && !Rw.IsRandom();

    private static string Num(long v) => v.ToString(CultureInfo.InvariantCulture);
}
