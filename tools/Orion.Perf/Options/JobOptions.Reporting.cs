namespace Orion.Perf.Options;

/// <summary>fio's <c>unified_rw_reporting</c>.</summary>
public enum UnifiedRwReporting
{
    /// <summary>Reads, writes and trims apart (<c>none</c> or <c>0</c>, fio's default).</summary>
    None,
    /// <summary>All directions summed into one <c>mixed</c> section (<c>mixed</c> or <c>1</c>).</summary>
    Mixed,
    /// <summary>The directions apart, followed by the <c>mixed</c> section (<c>both</c> or <c>2</c>).</summary>
    Both,
}

/// <summary>The options that shape the report rather than the workload.</summary>
public sealed partial record JobOptions
{
    /// <summary>fio's default <c>percentile_list</c>.</summary>
    public static readonly IReadOnlyList<double> DefaultPercentiles = [1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99, 99.5, 99.9, 99.95, 99.99];

    /// <summary>The most percentiles fio reports (FIO_IO_U_LIST_MAX_LEN).</summary>
    public const int MaxPercentiles = 20;

    /// <summary>
    /// The job's own options as the user gave them, in order, with fio's option names (an alias is written under the
    /// option's name) and the values as typed; a flag given without a value has a null value (fio leaves it out of
    /// <c>job options</c>). Null when the options were not parsed (built in code): the report then shows the
    /// effective options.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string?>>? GivenOptions { get; init; }

    /// <summary>The global options (a job file's <c>[global]</c> sections, the command line under job files) in effect for the job, as given.</summary>
    public IReadOnlyList<KeyValuePair<string, string?>> GlobalGivenOptions { get; init; } = Array.Empty<KeyValuePair<string, string?>>();

    /// <summary>fio's <c>group_reporting</c>: one report entry for the job's clones and the group's other group_reporting jobs.</summary>
    public bool GroupReporting { get; init; }

    /// <summary>fio's <c>clat_percentiles</c> (default on): completion-latency percentiles.</summary>
    public bool ClatPercentiles { get; init; } = true;

    /// <summary>fio's <c>lat_percentiles</c> (default off): total-latency percentiles.</summary>
    public bool LatPercentiles { get; init; }

    /// <summary>fio's <c>slat_percentiles</c> (default off): submission-latency percentiles.</summary>
    public bool SlatPercentiles { get; init; }

    /// <summary>fio's <c>percentile_list</c>: the percentiles reported, ascending (fio sorts them).</summary>
    public IReadOnlyList<double> Percentiles { get; init; } = DefaultPercentiles;

    /// <summary>fio's <c>unified_rw_reporting</c>.</summary>
    public UnifiedRwReporting UnifiedRwReporting { get; init; } = UnifiedRwReporting.None;

    /// <summary>fio's <c>kb_base</c>: 1024 (binary units in output, fio's default) or 1000 (SI units first).</summary>
    public int KbBase { get; init; } = 1024;
}
