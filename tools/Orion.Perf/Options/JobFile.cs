namespace Orion.Perf.Options;

/// <summary>
/// fio job files (INI): <c>[global]</c> sections whose keys every later job inherits, one section per job (its name
/// is the job's name), <c>key=value</c> lines and bare boolean keys, comments (whole-line and inline), <c>include</c>
/// and <c>${VAR}</c> (<see cref="JobFileSource"/>). Keys are orion-perf's options with fio's names; fio options
/// that only restate a default or do not apply to a block device are accepted (<see cref="FioCompat"/>); an
/// unknown key is an error naming the file, the line and the nearest known option.
/// </summary>
/// <remarks>
/// <c>filename</c> names the device when <c>--device</c> is not given (<see cref="JobOptionsParser.Finish"/>), and
/// <c>ioengine</c> is noted: the job runs on the Orion engine. <c>stonewall</c> and <c>new_group</c> start a new
/// reporting group as in fio.
/// </remarks>
public sealed class JobFile
{
    /// <summary>The jobs, in file order, each complete and valid (when <see cref="Errors"/> is empty).</summary>
    public IReadOnlyList<JobOptions> Jobs { get; }

    /// <summary>Problems, each naming the file and line (or the job).</summary>
    public IReadOnlyList<string> Errors { get; }

    private JobFile(List<JobOptions> jobs, List<string> errors)
    {
        Jobs = jobs;
        Errors = errors;
    }

    /// <summary>
    /// Reads the job file text <paramref name="text"/> (named <paramref name="path"/> in messages) over the globals
    /// <paramref name="globals"/> (the command line's options; <paramref name="globalGiven"/> are the names it set).
    /// Options accepted without effect go to <paramref name="compat"/>; includes are read with <paramref name="readFile"/>.
    /// </summary>
    internal static JobFile Parse(string path, string text, JobOptions globals, IReadOnlySet<string> globalGiven, CompatNotes compat,
                                  Func<string, string> readFile, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(globals);
        var jobs = new List<JobOptions>();
        var errors = new List<string>();

        var global = globals;
        var globalNames = new HashSet<string>(globalGiven, StringComparer.Ordinal);
        JobOptions? job = null;         // the job section being read, or null in a [global] section or before any
        HashSet<string>? jobNames = null;
        string? jobSection = null;
        string jobWhere = path;
        bool inGlobal = false;

        void EndJob()
        {
            if (job is null) return;
            if (errors.Count > 0)
            {
                // After a line error the job is not what the file meant; checking it as a whole would only mislead.
                job = null;
                return;
            }
            var done = JobOptionsParser.Finish(job, jobNames!, $"{jobWhere}: [{jobSection}]: ", compat);
            if (done.IsSuccess) jobs.Add(done.Options!);
            else errors.AddRange(done.Errors);
            job = null;
        }

        foreach (var (where, line) in JobFileSource.Read(path, text, readFile, environment, errors))
        {
            if (line[0] == '[')
            {
                EndJob();
                if (!line.EndsWith(']') || line.Length < 3)
                {
                    errors.Add($"{where}: '{line}' is not a section header; write [global] or [jobname]");
                    inGlobal = false;
                    continue;
                }
                string section = line[1..^1].Trim();
                inGlobal = section.Equals("global", StringComparison.OrdinalIgnoreCase);
                if (!inGlobal)
                {
                    // fio's job options are the section's own; the [global] ones (and the command line's) are its global options.
                    job = global with { Name = section, GivenOptions = [], GlobalGivenOptions = global.GivenOptions ?? [] };
                    jobNames = new HashSet<string>(globalNames, StringComparer.Ordinal);
                    jobSection = section;
                    jobWhere = where;
                }
                continue;
            }

            int eq = line.IndexOf('=');
            string typed = (eq < 0 ? line : line[..eq]).Trim();
            string? value = eq < 0 ? null : line[(eq + 1)..].Trim();
            string key = JobOptionsParser.NormalizeName(typed);
            if (!inGlobal && job is null)
            {
                errors.Add($"{where}: '{line}' is outside any section; put it under [global] or a [jobname] section");
                continue;
            }
            if (!OptionTable.ByName.TryGetValue(key, out var spec))
            {
                if (FioCompat.Classify(key, value) is { } kind)
                {
                    compat.Add(kind, key, value, where);
                    continue;
                }
                errors.Add($"{where}: " + (UnsupportedFioOptions.MessageFor(key, typed) ?? JobOptionsParser.UnknownOptionError(typed))
                    .Replace("'--", "'", StringComparison.Ordinal));
                continue;
            }
            bool bare = value is null;
            if (value is null)
            {
                if (spec.EmptyWhenBare) value = "";
                else if (!spec.IsFlag)
                {
                    errors.Add($"{where}: {typed} needs a value (for example {spec.Name}=...)");
                    continue;
                }
                else value = "1";
            }
            var lineErrors = new List<string>();
            if (inGlobal) global = JobOptionsParser.Apply(global, spec, value, globalNames, lineErrors, bare);
            else job = JobOptionsParser.Apply(job!, spec, value, jobNames!, lineErrors, bare);
            errors.AddRange(lineErrors.Select(e => $"{where}: {e}"));
        }
        EndJob();
        return new JobFile(jobs, errors);
    }
}
