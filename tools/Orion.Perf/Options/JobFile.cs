namespace Orion.Perf.Options;

/// <summary>
/// fio job files (INI): <c>[global]</c> sections whose keys every later job inherits, one section per job (its name
/// is the job's name), <c>key=value</c> lines and bare boolean keys, and <c>;</c> or <c>#</c> comment lines. Keys are
/// orion-perf's options with fio's names, so unknown keys get the command line's errors, with file and line.
/// </summary>
/// <remarks>
/// A file written for fio's null engine runs unchanged: <c>ioengine</c> and <c>filename</c> are accepted with a note
/// (the device comes from <c>--device</c>). <c>stonewall</c> and <c>new_group</c> start a new reporting group as in
/// fio; every job runs after the one before it either way (one engine per job), so a group's jobs do not overlap.
/// </remarks>
public sealed class JobFile
{
    /// <summary>The jobs, in file order, each complete and valid (when <see cref="Errors"/> is empty).</summary>
    public IReadOnlyList<JobOptions> Jobs { get; }

    /// <summary>Keys accepted without effect, each with file and line.</summary>
    public IReadOnlyList<string> Notes { get; }

    /// <summary>Problems, each naming the file and line (or the job).</summary>
    public IReadOnlyList<string> Errors { get; }

    private JobFile(List<JobOptions> jobs, List<string> notes, List<string> errors)
    {
        Jobs = jobs;
        Notes = notes;
        Errors = errors;
    }

    /// <summary>
    /// Reads the job file text <paramref name="text"/> (named <paramref name="path"/> in messages) over the globals
    /// <paramref name="globals"/> (the command line's options; <paramref name="globalGiven"/> are the names it set).
    /// </summary>
    public static JobFile Parse(string path, string text, JobOptions globals, IReadOnlySet<string> globalGiven)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(globals);
        var jobs = new List<JobOptions>();
        var notes = new List<string>();
        var errors = new List<string>();

        var global = globals;
        var globalNames = new HashSet<string>(globalGiven, StringComparer.Ordinal);
        JobOptions? job = null;         // the job section being read, or null in a [global] section or before any
        HashSet<string>? jobNames = null;
        string? jobSection = null;
        bool inGlobal = false;
        int jobLine = 0;

        void EndJob()
        {
            if (job is null) return;
            if (errors.Count > 0)
            {
                // After a line error the job is not what the file meant; checking it as a whole would only mislead.
                job = null;
                return;
            }
            var done = JobOptionsParser.Finish(job, jobNames!, $"{path}:{jobLine}: [{jobSection}]: ");
            if (done.IsSuccess) jobs.Add(done.Options!);
            else errors.AddRange(done.Errors);
            job = null;
        }

        var lines = text.Split('\n');
        for (int n = 1; n <= lines.Length; n++)
        {
            string line = lines[n - 1].Trim();
            string where = $"{path}:{n}";
            if (line.Length == 0 || line[0] is ';' or '#') continue;
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
                    jobLine = n;
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
            switch (key)
            {
                case "ioengine" or "filename":
                    notes.Add($"{where}: {typed}{(value is null ? "" : "=" + value)} is not used by orion-perf: the device comes from --device (now {(job ?? global).Device})");
                    continue;
            }
            if (!OptionTable.ByName.TryGetValue(key, out var spec))
            {
                errors.Add($"{where}: " + (UnsupportedFioOptions.MessageFor(key, typed) ?? JobOptionsParser.UnknownOptionError(typed))
                    .Replace("'--", "'", StringComparison.Ordinal));
                continue;
            }
            bool bare = value is null;
            if (value is null)
            {
                if (!spec.IsFlag)
                {
                    errors.Add($"{where}: {typed} needs a value (for example {spec.Name}=...)");
                    continue;
                }
                value = "1";
            }
            var lineErrors = new List<string>();
            if (inGlobal) global = JobOptionsParser.Apply(global, spec, value, globalNames, lineErrors, bare);
            else job = JobOptionsParser.Apply(job!, spec, value, jobNames!, lineErrors, bare);
            errors.AddRange(lineErrors.Select(e => $"{where}: {e}"));
        }
        EndJob();
        return new JobFile(jobs, notes, errors);
    }
}
