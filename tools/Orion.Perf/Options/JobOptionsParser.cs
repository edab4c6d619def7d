using System.Text;

namespace Orion.Perf.Options;

/// <summary>
/// Parses fio-style command lines: <c>--opt=value</c> or <c>--opt value</c>, flags such as <c>--time_based</c>,
/// fio's size and time suffixes, and fio's option names.
/// </summary>
public static class JobOptionsParser
{
    /// <summary>The version string, also written as JSON's <c>"fio version"</c>.</summary>
    public static readonly string ToolVersion = "orion-perf-" + Orion.Pmd.Engine.PmdEngine.Version;

    /// <summary>Parses <paramref name="args"/> and validates the resulting jobs. Job files are refused here; see <see cref="ParseJobs"/>.</summary>
    public static ParseOutcome Parse(IReadOnlyList<string> args) => ParseCore(args, jobFiles: null);

    /// <summary>
    /// Parses <paramref name="args"/> where positional arguments are fio job files (<see cref="JobFile"/>): the
    /// command-line options before the first <c>--name</c> are globals under each file's sections; each
    /// <c>--name</c> starts a command-line job of its own (as in fio), run before the files' jobs. Every job is
    /// returned in <see cref="ParseOutcome.Jobs"/>, in order. Without a job file it is <see cref="Parse"/>.
    /// </summary>
    /// <param name="args">The command line.</param>
    /// <param name="readFile">Reads a job file's text (tests pass their own); by default the file system.</param>
    /// <param name="environment">Looks up <c>${VAR}</c> in job files; by default the process environment.</param>
    public static ParseOutcome ParseJobs(IReadOnlyList<string> args, Func<string, string>? readFile = null, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        var files = new List<string>();
        var outcome = ParseCore(args, files);
        if (outcome.Kind is ParseOutcomeKind.Help or ParseOutcomeKind.Version || files.Count == 0) return outcome;
        // The command line alone is checked for syntax only; as globals it need not be a valid job by itself.
        if (outcome.Kind == ParseOutcomeKind.Error && outcome.GlobalOptions is null) return outcome;
        readFile ??= File.ReadAllText;
        environment ??= Environment.GetEnvironmentVariable;
        var jobs = new List<JobOptions>(outcome.Jobs);
        var compat = outcome.Compat ?? new CompatNotes();
        var errors = new List<string>();
        foreach (var path in files)
        {
            if (JobFileSource.TryRead(readFile, path, out string text) is { } why)
            {
                errors.Add($"{path}: cannot read the job file: {why}");
                continue;
            }
            var file = JobFile.Parse(path, text, outcome.GlobalOptions!, outcome.GlobalGiven, compat, readFile, environment);
            jobs.AddRange(file.Jobs);
            errors.AddRange(file.Errors);
        }
        if (errors.Count == 0 && jobs.Count == 0) errors.Add($"{string.Join(", ", files)}: no job sections; add one, for example [job1]");
        return errors.Count > 0 ? ParseOutcome.Failure(errors) : ParseOutcome.Success(jobs, compat.Lines());
    }

    private static ParseOutcome ParseCore(IReadOnlyList<string> args, List<string>? jobFiles)
    {
        ArgumentNullException.ThrowIfNull(args);
        var errors = new List<string>();
        var compat = new CompatNotes();
        // Options before the first --name are fio's global section; each --name starts a job from them.
        var global = new JobOptions();
        var globalGiven = new HashSet<string>(StringComparer.Ordinal);
        var jobs = new List<(JobOptions Options, HashSet<string> Given)>();
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (arg is "-h" or "--help" or "-help" or "--usage") return ParseOutcome.Help(Usage());
            if (arg is "--version" or "-V") return ParseOutcome.VersionText(ToolVersion);
            if (arg == "--")
            {
                // Everything after "--" is positional, which only job files would be.
                if (jobFiles is not null) jobFiles.AddRange(args.Skip(i + 1));
                else if (i + 1 < args.Count) errors.Add(PositionalError(args[i + 1]));
                break;
            }
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                if (arg.Length > 1 && arg[0] == '-')
                    errors.Add($"unknown option '{arg}'; options start with '--' as in fio (for example --bs=4k); run orion-perf --help for the list");
                else if (i > 0 && IsBareFlag(args[i - 1]) is { } flag && arg is "0" or "1")
                    errors.Add($"a flag takes its value after '=': write --{flag}={arg}");
                else if (jobFiles is not null && !LooksLikeOption(arg))
                    jobFiles.Add(arg);
                else
                    errors.Add(PositionalError(arg));
                continue;
            }

            int eq = arg.IndexOf('=');
            string typed = eq < 0 ? arg[2..] : arg[2..eq];
            string? value = eq < 0 ? null : arg[(eq + 1)..];
            string key = NormalizeName(typed);

            if (!OptionTable.ByName.TryGetValue(key, out var spec))
            {
                if (FioCompat.Classify(key, value) is { } kind)
                {
                    compat.Add(kind, key, value, $"--{typed}");
                    continue;
                }
                errors.Add(UnsupportedFioOptions.MessageFor(key, typed) ?? UnknownOptionError(typed));
                // "--numjobs 4": the 4 belongs to the option, not a job file, so don't report it twice.
                if (value is null && i + 1 < args.Count && !args[i + 1].StartsWith('-')) i++;
                continue;
            }

            bool bare = value is null && spec.IsFlag;
            if (value is null)
            {
                if (spec.IsFlag)
                {
                    value = "1";
                }
                else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    value = args[++i];
                }
                else if (spec.EmptyWhenBare)
                {
                    value = "";
                }
                else
                {
                    errors.Add($"--{typed} needs a value (for example {Example(spec)})");
                    continue;
                }
            }

            if (FrontEndOptions.Contains(spec.Name))
            {
                // fio's own options (output and reporting) are not job options: wherever they stand, they hold for every job.
                global = Apply(global, spec, value, globalGiven, errors, bare);
                for (int k = 0; k < jobs.Count; k++) jobs[k] = (Apply(jobs[k].Options, spec, value, jobs[k].Given, [], bare), jobs[k].Given);
                continue;
            }
            if (spec.Name == "name")
            {
                // fio: each --name starts a new job; what follows belongs to it. What came before is its global section.
                jobs.Add((global with { GivenOptions = null, GlobalGivenOptions = global.GivenOptions ?? [] },
                          new HashSet<string>(globalGiven, StringComparer.Ordinal)));
            }
            if (jobs.Count == 0) global = Apply(global, spec, value, globalGiven, errors, bare);
            else jobs[^1] = (Apply(jobs[^1].Options, spec, value, jobs[^1].Given, errors, bare), jobs[^1].Given);
        }

        if (errors.Count > 0) return ParseOutcome.Failure(errors);
        if (jobFiles is { Count: > 0 })
        {
            // The command line is the job files' global section: each job is checked once complete.
            var own = new List<JobOptions>();
            foreach (var (o, given) in jobs)
            {
                var done = Finish(o, given, "", compat);
                if (!done.IsSuccess) return done;
                own.Add(done.Options!);
            }
            return ParseOutcome.Globals(global, globalGiven, own, compat);
        }
        if (jobs.Count == 0) jobs.Add((global, globalGiven));
        var finished = new List<JobOptions>();
        foreach (var (o, given) in jobs)
        {
            var done = Finish(o, given, jobs.Count > 1 ? $"job '{o.Name}': " : "", compat);
            if (!done.IsSuccess) errors.AddRange(done.Errors);
            else finished.Add(done.Options!);
        }
        return errors.Count > 0 ? ParseOutcome.Failure(errors) : ParseOutcome.Success(finished, compat.Lines());
    }

    /// <summary>Options of the command itself rather than of a job (fio's front-end options): they apply to every job wherever they are given.</summary>
    private static readonly HashSet<string> FrontEndOptions = new(StringComparer.Ordinal) { "output-format", "output", "report", "audit_log", "eta" };

    /// <summary>
    /// Applies one option's value, recording its name in <paramref name="given"/> and, as fio's <c>job options</c>
    /// show it, in <see cref="JobOptions.GivenOptions"/> (a <paramref name="bare"/> flag without its value), or its
    /// error in <paramref name="errors"/>.
    /// </summary>
    internal static JobOptions Apply(JobOptions options, OptionSpec spec, string value, HashSet<string> given, List<string> errors, bool bare = false)
    {
        try
        {
            var result = spec.Apply(options, value);
            given.Add(spec.Name);
            return result with { GivenOptions = GivenOptionList.With(options.GivenOptions, spec.Name, bare ? null : value) };
        }
        catch (OptionValueException e)
        {
            errors.Add(e.Message);
            return options;
        }
    }

    /// <summary>
    /// The checks of a complete job: fio's <c>filename</c> (a <c>file:</c> device unless <c>--device</c> was given),
    /// options that depend on each other, then <see cref="JobOptions.Validate"/>. <paramref name="prefix"/> heads each error.
    /// </summary>
    internal static ParseOutcome Finish(JobOptions options, IReadOnlySet<string> given, string prefix, CompatNotes? compat = null)
    {
        var errors = new List<string>();
        if (options.Filename is { } filename)
        {
            if (given.Contains("device")) compat?.AddFilename(filename, options.Device);
            else if (FileDeviceFor(options, filename, out string? error) is { } device) options = options with { Device = device };
            else errors.Add(error!);
        }
        // fio lets bssplit override bs; a --bs outside the split would mean the user expects sizes that never run.
        if (given.Contains("bs") && (options.BlockSizeSplit is not null || options.BlockSizeSplits3 is not null)
            && !options.BlockSizes.Any(x => x.Bytes == options.BlockSize))
            errors.Add($"--bs={FioSize.Format(options.BlockSize)} --bssplit={options.BsSplitText}: --bs must be one of the split's sizes, or left out");
        // Validation reads the job as a whole; after a parse error it would report on defaults the user never chose.
        if (errors.Count == 0) errors.AddRange(options.Validate());
        return errors.Count == 0 ? ParseOutcome.Success(options) : ParseOutcome.Failure(errors.Select(e => prefix + e).ToList());
    }

    /// <summary>
    /// fio's <c>filename=PATH</c> without <c>--device</c>: the file or block device PATH as a <c>file:</c> device. A
    /// file that does not exist yet is created at the job's size, as fio lays it out; null with <paramref name="error"/> otherwise.
    /// </summary>
    private static string? FileDeviceFor(JobOptions o, string filename, out string? error)
    {
        error = null;
        if (filename.Contains(':') && !filename.Contains("\\:", StringComparison.Ordinal))
        {
            error = $"--filename={filename}: several files (':'-separated) are not supported; one job drives one device (give one path, or --device)";
            return null;
        }
        string path = filename.Replace("\\:", ":", StringComparison.Ordinal);
        if (File.Exists(path) || path.StartsWith("/dev/", StringComparison.Ordinal)) return $"file:{path}";
        if (o.Size is long size && size > 0) return $"file:{path},size={(o.Offset + size).ToString(System.Globalization.CultureInfo.InvariantCulture)}";
        error = $"--filename={filename}: '{path}' does not exist; give size= so it can be created at that size (as fio lays out a file), or --device=mem:1G";
        return null;
    }

    /// <summary>A positional argument that is an option written without its dashes (<c>rw=randread</c>) rather than a file name.</summary>
    private static bool LooksLikeOption(string arg)
    {
        int eq = arg.IndexOf('=');
        return eq > 0 && OptionTable.ByName.ContainsKey(NormalizeName(arg[..eq]));
    }

    /// <summary>The usage text: every option on one line.</summary>
    public static string Usage()
    {
        var sb = new StringBuilder();
        sb.AppendLine("usage: orion-perf [--option=value ...]");
        sb.AppendLine("A fio-like benchmark of the Orion engine. Options have fio's names and meanings; --opt=value and --opt value both work.");
        sb.AppendLine();
        int width = OptionTable.All.Max(s => s.Usage.Length) + 2;
        foreach (var spec in OptionTable.All)
        {
            string aliases = spec.Aliases.Length == 0 ? "" : $" (also --{string.Join(", --", spec.Aliases)})";
            sb.Append("  ").Append(spec.Usage.PadRight(width)).Append(spec.Help).AppendLine(aliases);
        }
        sb.Append("  ").Append("--help".PadRight(width)).AppendLine("print this help");
        sb.Append("  ").Append("--version".PadRight(width)).AppendLine("print the version");
        sb.AppendLine();
        sb.AppendLine("SIZE: a number with an optional k, m, g or t suffix, powers of 1024 as in fio (4k = 4096; 4KiB is also 4096).");
        sb.AppendLine("TIME: seconds, or a number with a us, ms, s, m (minutes) or h suffix (10, 500ms, 2m).");
        sb.AppendLine("Job files (positional arguments) are fio's INI format; jobs between two stonewalls run concurrently on one engine");
        sb.AppendLine("(queues split between them; jobs with another device or engine options run after them on their own), reported by group.");
        sb.AppendLine("fio logs (N = the clone's number, from 1): --write_lat_log=PREFIX writes PREFIX_slat.N.log, PREFIX_clat.N.log and PREFIX_lat.N.log,");
        sb.AppendLine("--write_bw_log PREFIX_bw.N.log, --write_iops_log PREFIX_iops.N.log (fio_generate_plots, fio2gnuplot, fiologparser.py read them),");
        sb.AppendLine("--write_hist_log PREFIX_clat_hist.N.log (fiologparser_hist.py). --write_hdr_log=PREFIX writes PREFIX_clat_hdr.N.hlog for job N");
        sb.AppendLine("in HdrHistogram's interval log format (HistogramLogProcessor, hdrh).");
        sb.AppendLine("Exit status: 0 when the jobs ran, 1 for bad options or a failure to run them, 4 when --verify found mismatches,");
        sb.AppendLine("5 when a failed I/O stopped a job (see --continue_on_error), 6 when an I/O completed twice or never (lost completions).");
        sb.AppendLine("Example: orion-perf --rw=randread --bs=4k --iodepth=32 --runtime=10 --time_based --device=null:64G");
        return sb.ToString();
    }

    /// <summary>Option names compare case-insensitively with '-' and '_' equal (fio mixes both styles).</summary>
    internal static string NormalizeName(string name) => name.Trim().ToLowerInvariant().Replace('-', '_');

    internal static string UnknownOptionError(string typed)
    {
        var nearest = Levenshtein.Nearest(NormalizeName(typed), OptionTable.ByName.Keys);
        if (nearest is null) return $"unknown option '--{typed}'; run orion-perf --help for the list of options";
        // Suggest the name as help spells it, not the normalized lookup key.
        var spec = OptionTable.ByName[nearest];
        string shown = spec.Names.First(n => NormalizeName(n) == nearest);
        return $"unknown option '--{typed}'; did you mean '--{shown}'?";
    }

    /// <summary>The typed name when <paramref name="arg"/> is a flag given without '=' (<c>--time_based</c>), else null.</summary>
    private static string? IsBareFlag(string arg) =>
        arg.StartsWith("--", StringComparison.Ordinal) && !arg.Contains('=')
        && OptionTable.ByName.TryGetValue(NormalizeName(arg[2..]), out var spec) && spec.IsFlag ? arg[2..] : null;

    private static string PositionalError(string arg)
    {
        int eq = arg.IndexOf('=');
        if (eq > 0 && OptionTable.ByName.ContainsKey(NormalizeName(arg[..eq])))
            return $"'{arg}' looks like a job file line; job files are not supported yet, write it as --{arg}";
        return $"job files are not supported yet ('{arg}'); give the job as options, for example --rw=randread --bs=4k --iodepth=32";
    }

    private static string Example(OptionSpec spec) => spec.Name switch
    {
        "bs" or "size" or "offset" => $"--{spec.Name}=4k",
        "runtime" or "ramp_time" => $"--{spec.Name}=10",
        "iodepth" => "--iodepth=32",
        "rw" => "--rw=randread",
        "device" => "--device=mem:1G",
        "output-format" => "--output-format=json",
        "output" => "--output=result.txt",
        "report" => "--report=run.html",
        "write_hist_log" or "write_hdr_log" or "write_lat_log" or "write_bw_log" or "write_iops_log" => $"--{spec.Name}=run1",
        "log_avg_msec" or "bwavgtime" or "iopsavgtime" => $"--{spec.Name}=500",
        "log_hist_coarseness" => "--log_hist_coarseness=2",
        "log_hist_msec" => "--log_hist_msec=1000",
        "continue_on_error" => "--continue_on_error=io",
        "request_timeout" => "--request_timeout=250ms",
        "timeout_policy" => "--timeout_policy=retry",
        "audit_log" => "--audit_log=audit.jsonl",
        _ => spec.Usage,
    };
}
