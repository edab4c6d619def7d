namespace Orion.Perf.Options;

/// <summary>
/// fio options that we know but do not implement yet. Naming them apart from typos tells a fio user at once that the
/// option was understood and is missing, rather than misspelt.
/// </summary>
internal static class UnsupportedFioOptions
{
    private static readonly string[] Names =
    [
        // jobs and grouping
        // block sizes and patterns
        "blocksize_unaligned", "bs_unaligned", "bs_is_seq_rand", "offset_align",
        "rw_sequencer", "trim_percentage",
        // queueing and rate
        "serialize_overlap", "rate_ignore_thinktime", "max_latency",
        // writes that reach the medium
        "sync", "fsync", "fdatasync", "end_fsync", "fsync_on_close", "kb_base",
        // data and verification
        "verify_async",
        "continue_on_error", "ignore_error",
        // cpu and process
        "cpumask", "cpuload", "cpuchunks", "idle-prof",
        // statistics and logs
        "disable_lat", "disable_clat",
        "disable_slat", "disable_bw_measurement", "significant_figures",
        "status-interval",
        "terse-version", "append-terse", "bandwidth-log", "write_to_log", "stats",
        // fio front-end
        "section", "showcmd", "parse-only", "warnings-fatal", "server", "client", "remote-config",
        "daemonize", "crctest", "cmdhelp", "enghelp", "debug", "inflate-log", "trigger", "trigger-file", "trigger-timeout",
        "aux-path", "alloc-size", "merge_blktrace_file", "read_iolog", "write_iolog", "replay_no_stall",
    ];

    // Options that change what is measured, refused with the reason rather than run differently from fio.
    private static readonly Dictionary<string, string> Reasons = new(StringComparer.Ordinal)
    {
        ["trim_backlog"] = "trimming written blocks every N writes, then checking them, is not implemented; trim with --rw=trim, randtrim or trimwrite",
        ["trim_verify_zero"] = "checking that trimmed blocks read back as zeros is not implemented (see --trim_backlog)",
    };

    private static readonly HashSet<string> Set = new(Names.Select(JobOptionsParser.NormalizeName), StringComparer.Ordinal);

    /// <summary>The message for a fio option we do not support, or null when <paramref name="normalizedName"/> is not one.</summary>
    public static string? MessageFor(string normalizedName, string typedName) => normalizedName switch
    {
        _ when Reasons.TryGetValue(normalizedName, out var why) => $"fio option '--{typedName}' is not supported: {why}",
        _ when Set.Contains(normalizedName) => $"fio option '--{typedName}' is not supported yet",
        _ => null,
    };
}
