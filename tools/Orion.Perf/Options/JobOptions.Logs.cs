using System.Globalization;

namespace Orion.Perf.Options;

/// <summary>The kinds of fio log a job can write, each named as fio names its files (<c>PREFIX_KIND.N.log</c>).</summary>
internal enum FioLogKind { Slat, Clat, Lat, Bw, Iops, ClatHist }

public sealed partial record JobOptions
{
    /// <summary>fio's default <c>bwavgtime</c> and <c>iopsavgtime</c>: the length of a bandwidth or IOPS sample, ms.</summary>
    public const int DefaultRateAvgMs = 500;

    /// <summary>fio's <c>log_compression</c>: bytes of samples per compressed chunk; 0 for none.</summary>
    public long LogCompression { get; init; }

    /// <summary>fio's <c>log_store_compressed</c>: store the compressed chunks (<c>.log.fz</c>) rather than text.</summary>
    public bool LogStoreCompressed { get; init; }

    /// <summary>Whether the lat, bw and iops logs are stored compressed, as fio's <c>log_store_compressed</c> with <c>log_compression</c>.</summary>
    internal bool StoresCompressedLogs => LogStoreCompressed && LogCompression > 0;

    /// <summary>The largest <see cref="LogHistCoarseness"/> (fio's limit).</summary>
    public const int MaxHistCoarseness = 6;

    /// <summary>
    /// fio's <c>write_lat_log</c>: the prefix of the per-I/O latency logs <c>PREFIX_slat.N.log</c>,
    /// <c>PREFIX_clat.N.log</c> and <c>PREFIX_lat.N.log</c> (N = the clone's thread number, from 1); empty means the
    /// job's name, as in fio; null means none.
    /// </summary>
    public string? WriteLatLog { get; init; }

    /// <summary>fio's <c>write_bw_log</c>: <c>PREFIX_bw.N.log</c>, bandwidth in KiB/s per I/O or per window; null means none.</summary>
    public string? WriteBwLog { get; init; }

    /// <summary>fio's <c>write_iops_log</c>: <c>PREFIX_iops.N.log</c>; null means none.</summary>
    public string? WriteIopsLog { get; init; }

    /// <summary>
    /// fio's <c>write_hist_log</c>: <c>PREFIX_clat_hist.N.log</c>, completion-latency histograms per
    /// <see cref="IntervalMs"/> in fio's bucket layout (read by <c>fiologparser_hist.py</c>); null means none.
    /// </summary>
    public string? WriteHistLog { get; init; }

    /// <summary>fio's <c>log_avg_msec</c>: average the lat/bw/iops logs over windows this long (ms); 0 logs every I/O.</summary>
    public int LogAvgMsec { get; init; }

    /// <summary>fio's <c>log_max_value</c>: with <see cref="LogAvgMsec"/>, log each window's largest value instead of its mean.</summary>
    public bool LogMaxValue { get; init; }

    /// <summary>fio's <c>log_offset</c>: each log line also carries the I/O's byte offset.</summary>
    public bool LogOffset { get; init; }

    /// <summary>fio's <c>log_prio</c>: the last column is the I/O's priority as <c>0x%04x</c> rather than its real-time flag (always 0 here).</summary>
    public bool LogPrio { get; init; }

    /// <summary>fio's <c>log_hist_coarseness</c>: each step halves the histogram log's buckets (0 to 6).</summary>
    public int LogHistCoarseness { get; init; }

    /// <summary>fio's <c>per_job_logs</c>: with it (the default) each clone writes its own files, <c>.N</c> in the name; without it one file per kind.</summary>
    public bool PerJobLogs { get; init; } = true;

    /// <summary>fio's <c>bwavgtime</c>: the bandwidth statistics' sample length, ms; null means fio's default (see <see cref="BwSampleMs"/>).</summary>
    public int? BwAvgTime { get; init; }

    /// <summary>fio's <c>iopsavgtime</c>: the IOPS statistics' sample length, ms; null means fio's default.</summary>
    public int? IopsAvgTime { get; init; }

    /// <summary>
    /// The bandwidth sample length the job uses: <see cref="BwAvgTime"/> or 500 ms; with a windowed bandwidth log, as in
    /// fio, <see cref="LogAvgMsec"/> (the smaller of the two when both are given).
    /// </summary>
    public int BwSampleMs => SampleMs(BwAvgTime, WriteBwLog);

    /// <summary>The IOPS sample length the job uses, as <see cref="BwSampleMs"/> with <see cref="IopsAvgTime"/>.</summary>
    public int IopsSampleMs => SampleMs(IopsAvgTime, WriteIopsLog);

    private int SampleMs(int? given, string? log) =>
        log is not null && LogAvgMsec > 0 ? Math.Min(LogAvgMsec, given ?? int.MaxValue) : given ?? DefaultRateAvgMs;

    /// <summary>Whether the job writes any of fio's per-I/O or windowed logs (lat, bw, iops, clat_hist).</summary>
    internal bool WritesFioLogs => WriteLatLog is not null || WriteBwLog is not null || WriteIopsLog is not null || WriteHistLog is not null;

    /// <summary>
    /// The file of log <paramref name="kind"/> for the clone with fio thread number <paramref name="threadNumber"/>
    /// (from 1), as fio names it: <c>PREFIX_KIND.N.log</c>, or <c>PREFIX_KIND.log</c> without <see cref="PerJobLogs"/>;
    /// null when the job does not write that log.
    /// </summary>
    internal string? FioLogPath(FioLogKind kind, int threadNumber)
    {
        string? prefix = kind switch
        {
            FioLogKind.Slat or FioLogKind.Clat or FioLogKind.Lat => WriteLatLog,
            FioLogKind.Bw => WriteBwLog,
            FioLogKind.Iops => WriteIopsLog,
            _ => WriteHistLog,
        };
        if (prefix is null) return null;
        if (prefix.Length == 0) prefix = Name;            // fio: no file name given means the job's name
        string type = kind switch
        {
            FioLogKind.Slat => "slat", FioLogKind.Clat => "clat", FioLogKind.Lat => "lat",
            FioLogKind.Bw => "bw", FioLogKind.Iops => "iops", _ => "clat_hist",
        };
        string suffix = StoresCompressedLogs ? "log.fz" : "log";        // fio's name for a compressed store
        return PerJobLogs ? $"{prefix}_{type}.{threadNumber.ToString(CultureInfo.InvariantCulture)}.{suffix}" : $"{prefix}_{type}.{suffix}";
    }

    /// <summary>The fio log options together: ranges, and a directory that exists for every log prefix.</summary>
    private void ValidateFioLogs(List<string> errors)
    {
        if (LogAvgMsec is < 0 or > MaxIntervalMs)
            errors.Add($"--log_avg_msec={Num(LogAvgMsec)}: the window must be from 1 to {Num(MaxIntervalMs)} ms, or 0 to log every I/O");
        if (LogStoreCompressed && LogCompression <= 0)
            errors.Add("--log_store_compressed: give the chunk size with --log_compression (for example --log_compression=1m); without it fio stores plain text under a .fz name");
        if (StoresCompressedLogs && WriteHistLog is not null)
            errors.Add("--log_store_compressed --write_hist_log: a compressed histogram log is not implemented; store the histogram log as text (drop --log_store_compressed) or drop --write_hist_log");
        if (LogHistCoarseness is < 0 or > MaxHistCoarseness)
            errors.Add($"--log_hist_coarseness={Num(LogHistCoarseness)}: the coarseness must be from 0 to {Num(MaxHistCoarseness)}");
        foreach (var (name, value) in new[] { ("bwavgtime", BwAvgTime), ("iopsavgtime", IopsAvgTime) })
            if (value is int ms && ms is < 1 or > MaxIntervalMs)
                errors.Add($"--{name}={Num(ms)}: the sample length must be from 1 to {Num(MaxIntervalMs)} ms");
        foreach (var (name, prefix, kind) in new[]
                 {
                     ("write_lat_log", WriteLatLog, FioLogKind.Lat), ("write_bw_log", WriteBwLog, FioLogKind.Bw),
                     ("write_iops_log", WriteIopsLog, FioLogKind.Iops), ("write_hist_log", WriteHistLog, FioLogKind.ClatHist),
                 })
        {
            if (prefix is null) continue;
            if (prefix.Length > 0 && string.IsNullOrWhiteSpace(prefix))
                errors.Add($"--{name}: the file name prefix must not be blank (for example --{name}=run1, or empty for the job's name)");
            else if (MissingDirectory(FioLogPath(kind, 1)!) is { } dir)
                errors.Add($"--{name}={prefix}: the directory '{dir}' does not exist; create it first or choose another prefix");
        }
    }
}
