using System.Globalization;

namespace Orion.Perf.Options;

/// <summary>fio's log options (<c>write_lat_log</c>, <c>write_bw_log</c>, ...), listed in <see cref="OptionTable.All"/> in help order.</summary>
internal static class LogOptions
{
    public static readonly IReadOnlyList<OptionSpec> Specs =
    [
        new("write_lat_log", [], "PREFIX", "log every I/O's latency in fio's format to PREFIX_slat.N.log, PREFIX_clat.N.log and PREFIX_lat.N.log " +
            "(N = the clone's number from 1; time ms, value ns, direction, block size[, offset], priority), read by fio_generate_plots and fiologparser.py; " +
            "an empty PREFIX is the job name (default none)",
            (o, v) => o with { WriteLatLog = v }) { EmptyWhenBare = true },
        new("write_bw_log", [], "PREFIX", "log bandwidth (KiB/s) per I/O, or per --log_avg_msec window, to PREFIX_bw.N.log, as fio; without a PREFIX, the job name (default none)",
            (o, v) => o with { WriteBwLog = v }) { EmptyWhenBare = true },
        new("write_iops_log", [], "PREFIX", "log IOPS (1 per I/O, or per --log_avg_msec window) to PREFIX_iops.N.log, as fio (default none)",
            (o, v) => o with { WriteIopsLog = v }) { EmptyWhenBare = true },
        new("write_hist_log", [], "PREFIX", "log completion latency histograms per --log_hist_msec interval to PREFIX_clat_hist.N.log in fio's bucket layout " +
            "(1856 buckets at coarseness 0), read by fiologparser_hist.py (default none)",
            (o, v) => o with { WriteHistLog = v }) { EmptyWhenBare = true },
        new("log_avg_msec", [], "MSEC", "average the lat, bw and iops logs over windows this long; 0 logs every I/O (default 0)",
            (o, v) => o with { LogAvgMsec = Ms("log_avg_msec", v, allowZero: true) }),
        new("log_max_value", [], null, "with --log_avg_msec, log each window's largest value instead of its mean (default 0)",
            (o, v) => o with { LogMaxValue = OptionTable.Bool("log_max_value", v) }),
        new("log_offset", [], null, "add each I/O's byte offset to the lat, bw and iops log lines (default 0)",
            (o, v) => o with { LogOffset = OptionTable.Bool("log_offset", v) }),
        new("log_prio", [], null, "write the last log column as the I/O priority (0x0000: orion I/O has no priority classes) rather than the real-time flag (default 0)",
            (o, v) => o with { LogPrio = OptionTable.Bool("log_prio", v) }),
        new("log_hist_coarseness", [], "INT", $"0 to {JobOptions.MaxHistCoarseness}: each step halves --write_hist_log's buckets by summing pairs (default 0)",
            (o, v) => o with { LogHistCoarseness = OptionTable.Int("log_hist_coarseness", v) }),
        new("log_compression", [], "SIZE", "compress the lat, bw and iops logs in chunks of SIZE bytes of samples (a memory saving in fio; the text logs " +
            "are the same); with --log_store_compressed the chunks are what is stored (default 0: none)",
            (o, v) => o with { LogCompression = OptionTable.Size("log_compression", v) }),
        new("log_store_compressed", [], null, "with --log_compression, store the logs as fio does compressed: PREFIX_KIND.N.log.fz, a zlib stream per chunk of " +
            "fio's binary samples, which fio --inflate-log turns back into the text log (default 0)",
            (o, v) => o with { LogStoreCompressed = OptionTable.Bool("log_store_compressed", v) }),
        new("per_job_logs", [], null, "each clone writes its own log files (PREFIX_KIND.N.log); 0 = all clones and jobs share PREFIX_KIND.log (default 1)",
            (o, v) => o with { PerJobLogs = OptionTable.Bool("per_job_logs", v) }),
        new("bwavgtime", ["bw_avg_time"], "MSEC", $"length of a bandwidth sample for the report's bw_min/max/mean/dev/samples (default {JobOptions.DefaultRateAvgMs})",
            (o, v) => o with { BwAvgTime = Ms("bwavgtime", v, allowZero: false) }),
        new("iopsavgtime", ["iops_avg_time"], "MSEC", $"length of an IOPS sample for the report's iops_min/max/mean/stddev/samples (default {JobOptions.DefaultRateAvgMs})",
            (o, v) => o with { IopsAvgTime = Ms("iopsavgtime", v, allowZero: false) }),
    ];

    /// <summary>Whole milliseconds (a <c>ms</c> suffix is accepted), within fio's range.</summary>
    private static int Ms(string name, string v, bool allowZero)
    {
        string t = v.Trim();
        if (t.EndsWith("ms", StringComparison.OrdinalIgnoreCase)) t = t[..^2].TrimEnd();
        if (!long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long ms))
            throw new OptionValueException($"--{name}={v}: '{v}' is not a whole number of milliseconds (for example --{name}=500)");
        long min = allowZero ? 0 : 1;
        if (ms < min || ms > JobOptions.MaxIntervalMs)
            throw new OptionValueException($"--{name}={v}: the length must be from {min} to {JobOptions.MaxIntervalMs.ToString(CultureInfo.InvariantCulture)} ms" +
                                           (allowZero ? " (0 = every I/O)" : ""));
        return (int)ms;
    }
}
