namespace Orion.Perf.Options;

/// <summary>
/// fio options that we know but do not implement yet. Naming them apart from typos tells a fio user at once that the
/// option was understood and is missing, rather than misspelt.
/// </summary>
internal static class UnsupportedFioOptions
{
    private const string DeviceHint = "the device is chosen with --device (for example --device=mem:1G or --device=null:64G)";

    private static readonly string[] Names =
    [
        // jobs and grouping
        "wait_for", "startdelay", "loops", "exitall", "exit_what",
        // block sizes and patterns
        "bsrange", "blocksize_range", "ba", "blockalign", "blocksize_unaligned", "bs_unaligned", "bs_is_seq_rand",
        "random_generator", "percentage_random", "softrandommap",
        "io_size", "io_limit", "offset_increment", "offset_align", "fill_device", "zonemode", "zonesize", "zonerange",
        "zoneskip", "rw_sequencer", "unit_base", "trim_percentage", "trim_backlog", "trim_verify_zero",
        // queueing and rate
        "iodepth_batch", "iodepth_batch_submit", "iodepth_batch_complete", "iodepth_batch_complete_min",
        "iodepth_batch_complete_max", "iodepth_low", "serialize_overlap", "io_submit_mode", "rate", "rate_min",
        "rate_iops_min", "rate_cycle", "rate_ignore_thinktime", "thinktime", "thinktime_spin",
        "thinktime_blocks", "latency_target", "latency_window", "latency_percentile", "max_latency", "flow", "flow_id",
        // files and engines (see the special messages below for ioengine and filename)
        "directory", "filename_format", "unique_filename", "nrfiles", "openfiles", "file_service_type", "create_on_open",
        "allow_file_create", "allow_mounted_write", "fallocate", "fadvise_hint", "pre_read", "invalidate", "buffered", "sync",
        "fsync", "fdatasync", "end_fsync", "fsync_on_close", "overwrite", "create_only", "lockfile", "readonly",
        "hipri", "fixedbufs", "registerfiles", "sqthread_poll", "sqthread_poll_cpu", "nonvectored", "uncached", "nowait",
        // data and verification
        "verify_pattern", "verify_interval", "verify_offset", "verify_backlog",
        "verify_async", "verify_only", "zero_buffers", "refill_buffers", "scramble_buffers", "buffer_pattern",
        "buffer_compress_percentage", "dedupe_percentage", "continue_on_error", "ignore_error",
        // cpu and process
        "cpus_allowed_policy", "cpumask", "numa_cpu_nodes", "numa_mem_policy", "nice", "prio", "prioclass",
        "cpuload", "cpuchunks", "thread", "lockmem", "gtod_reduce", "gtod_cpu", "clocksource", "idle-prof",
        // statistics and logs
        "disable_lat", "disable_clat",
        "disable_slat", "disable_bw_measurement", "significant_figures",
        "log_compression", "steadystate", "ss", "ss_dur", "ss_ramp", "status-interval",
        "terse-version", "append-terse", "bandwidth-log", "write_to_log", "stats",
        // fio front-end
        "section", "showcmd", "parse-only", "warnings-fatal", "max-jobs", "server", "client", "remote-config",
        "daemonize", "crctest", "cmdhelp", "enghelp", "debug", "inflate-log", "trigger", "trigger-file", "trigger-timeout",
        "aux-path", "alloc-size", "merge_blktrace_file", "read_iolog", "write_iolog", "replay_no_stall",
    ];

    private static readonly HashSet<string> Set = new(Names.Select(JobOptionsParser.NormalizeName), StringComparer.Ordinal);

    /// <summary>The message for a fio option we do not support, or null when <paramref name="normalizedName"/> is not one.</summary>
    public static string? MessageFor(string normalizedName, string typedName) => normalizedName switch
    {
        "ioengine" => $"fio option '--{typedName}' is not used by orion-perf: {DeviceHint}",
        "filename" => $"fio option '--{typedName}' is not used by orion-perf: {DeviceHint}",
        _ when Set.Contains(normalizedName) => $"fio option '--{typedName}' is not supported yet",
        _ => null,
    };
}
