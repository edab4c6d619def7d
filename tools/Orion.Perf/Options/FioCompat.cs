namespace Orion.Perf.Options;

/// <summary>What orion-perf does with a fio option it has no setting for.</summary>
internal enum CompatKind
{
    /// <summary>It restates what orion-perf does anyway: accepted silently.</summary>
    RestatesDefault,
    /// <summary>It does not apply to a block device on the Orion engine: named in one note and ignored.</summary>
    NotApplicable,
    /// <summary>fio's <c>ioengine</c>: the job runs on the Orion engine whatever it names; named in one note.</summary>
    Engine,
}

/// <summary>
/// fio options that orion-perf accepts without a setting of its own, and why: those that only restate a default
/// (<c>thread</c>, <c>max-jobs</c>, <c>loops=1</c>, <c>description</c>, ...) never stop a job; those that
/// do not apply to a block device (file-system layout, process scheduling, NUMA, other engines' own knobs) are
/// named in one note and ignored. An option that changes what is measured is not here: it runs as fio runs it
/// (<see cref="OptionTable"/>) or is refused with the reason (<see cref="UnsupportedFioOptions"/>).
/// </summary>
internal static class FioCompat
{
    // Any value restates what orion-perf does: jobs are reactor threads, there is no job limit, a description is
    // only a label, the engine has no page cache to invalidate or files to create in order.
    private static readonly HashSet<string> AlwaysDefault = Set(
        "thread", "threads", "max_jobs", "description", "create_serialize", "create_fsync", "invalidate", "overwrite",
        "per_job_logs", "stats", "exitall_on_error", "error_dump", "verify_dump", "allow_mounted_write", "unit_base",
        "write_to_log", "significant_figures",
        // fio keeps it as a soft-deprecated option that does nothing
        "flow_watermark");

    // The value on the right is fio's default, which is orion-perf's behaviour; any other value is refused as unsupported.
    private static readonly Dictionary<string, string[]> DefaultValues = new(StringComparer.Ordinal)
    {
        ["buffered"] = ["0", "false", "off", "no"],
        ["disable_lat"] = ["0"],
        ["disable_clat"] = ["0"],
        ["disable_slat"] = ["0"],
        ["disable_bw_measurement"] = ["0"],
        ["disable_bw"] = ["0"],
        ["sync"] = ["0", "none", "false", "off"],
        ["fsync"] = ["0"],
        ["fdatasync"] = ["0"],
        ["end_fsync"] = ["0"],
        ["fsync_on_close"] = ["0"],
        ["softrandommap"] = ["0"],
        ["percentage_random"] = ["100"],
        // fio reaps up to this many per call; the engine reaps every completion a poll finds, which is fio's default (no cap).
        ["iodepth_batch_complete_max"] = [],
    };

    // Not about a block device's I/O: file-system layout and file handling, process scheduling and memory
    // placement, I/O priority classes (the kernel's block-layer scheduler, which the Orion engine bypasses), the
    // content of data buffers (Orion's devices neither compress nor deduplicate), and other engines' own knobs.
    private static readonly HashSet<string> NotApplicableNames = Set(
        // files and file systems
        "directory", "filename_format", "unique_filename", "nrfiles", "nr_files", "openfiles", "file_service_type", "filesize",
        "create_on_open", "create_only", "allow_file_create", "fallocate", "fadvise_hint", "fadvise_stream", "pre_read",
        "lockfile", "unlink", "unlink_each_loop", "opendir", "file_append", "filetype",
        // processes, scheduling, memory
        "nice", "prio", "prioclass", "cmdprio", "cmdprio_class", "cmdprio_percentage", "cmdprio_bssplit", "cmdprio_hint",
        "log_prio", "cgroup", "cgroup_weight", "cgroup_nodelete", "numa_cpu_nodes", "numa_mem_policy", "cpus_allowed_policy",
        "ioscheduler", "uid", "gid", "mem", "iomem", "mem_align", "iomem_align", "hugepage_size", "lockmem", "clocksource",
        "gtod_cpu", "gtod_reduce", "exec_prerun", "exec_postrun", "priohint",
        // buffer contents
        "zero_buffers", "refill_buffers", "scramble_buffers", "buffer_pattern", "buffer_compress_percentage",
        "buffer_compress_chunk", "dedupe_percentage", "dedupe_mode", "dedupe_global", "dedupe_working_set_percentage",
        // io_uring, libaio and NVMe passthrough engines' own options
        "hipri", "fixedbufs", "registerfiles", "sqthread_poll", "sqthread_poll_cpu", "nonvectored", "uncached", "nowait",
        "force_async", "cmd_type", "userspace_reap", "io_submit_mode", "direct_write_to_pmem", "busy_poll");

    private static HashSet<string> Set(params string[] names) => new(names.Select(JobOptionsParser.NormalizeName), StringComparer.Ordinal);

    /// <summary>How orion-perf treats the fio option <paramref name="key"/> (normalized) set to <paramref name="value"/> (null for a bare flag); null when it is none of these.</summary>
    public static CompatKind? Classify(string key, string? value)
    {
        if (key == "ioengine") return CompatKind.Engine;
        if (AlwaysDefault.Contains(key)) return CompatKind.RestatesDefault;
        if (NotApplicableNames.Contains(key)) return CompatKind.NotApplicable;
        if (DefaultValues.TryGetValue(key, out var defaults))
        {
            string v = (value ?? "1").Trim().ToLowerInvariant();
            if (defaults.Length == 0 || defaults.Contains(v)) return CompatKind.RestatesDefault;
        }
        return null;
    }

    /// <summary>The note naming every ignored option with its place (one line), or null when there is none.</summary>
    public static string? NotApplicableNote(IReadOnlyCollection<string> placed) =>
        placed.Count == 0 ? null
            : $"ignored, as they do not apply to a block device on the Orion engine: {string.Join(", ", placed)}";

    /// <summary>The note naming every other engine a job asked for (one line), or null when there is none.</summary>
    public static string? EngineNote(IReadOnlyCollection<string> placed) =>
        placed.Count == 0 ? null
            : $"the jobs run on the Orion engine (a polled virtio-blk queue per job) rather than the ioengine named: {string.Join(", ", placed)}";
}
