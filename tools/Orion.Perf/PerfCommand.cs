using Orion.Perf.Options;
using Orion.Perf.Reporting;
using Orion.Perf.Workload;

namespace Orion.Perf;

/// <summary>
/// <c>orion-perf</c>: parse fio-style options and job files, run the jobs on the embedded device (jobs between
/// two <c>stonewall</c>s concurrently, on one engine where they can share it),
/// print fio's normal, JSON or terse output (or several); or the <c>compare</c> and <c>gate</c> subcommands.
/// Exit codes: 0 the jobs ran, 1 bad options or a failure to run them, 4 they ran but <c>--verify</c> found
/// mismatches (with or without <c>verify_fatal</c>, as fio exits non-zero on a verification failure), 5 a failed
/// I/O stopped a job (<c>--continue_on_error</c> did not cover it), 6 an I/O completed twice or never; the
/// subcommands use 2 for bad input (and <c>gate</c> for a side that failed to run), 3 for a regression, and <c>gate</c>
/// 4 for undecided.
/// </summary>
internal static class PerfCommand
{
    /// <summary>The exit code when verification found mismatches.</summary>
    public const int VerifyFailedExitCode = 4;

    /// <summary>The exit code when a failed I/O stopped a job.</summary>
    public const int IoErrorExitCode = 5;

    /// <summary>The exit code when an I/O completed twice or never came back.</summary>
    public const int CompletionsLostExitCode = 6;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) => Run(args, stdout, stderr, sessionFor: null);

    /// <summary><see cref="Run(string[], TextWriter, TextWriter)"/> with a session per job (tests reach between a job's phases through it).</summary>
    internal static int Run(string[] args, TextWriter stdout, TextWriter stderr, Func<JobOptions, JobSession>? sessionFor)
    {
        // Subcommands: compare two reports, or gate a candidate command against a baseline (Gate/).
        if (args.Length > 0 && args[0] == "compare") return Gate.CompareCommand.Run(args[1..], stdout, stderr);
        if (args.Length > 0 && args[0] == "gate") return Gate.GateCommand.Run(args[1..], stdout, stderr);
        if (args is ["--list-devices"]) return ListDevicesCommand.Run(stdout);
        var outcome = JobOptionsParser.ParseJobs(args);     // positional arguments are fio job files
        switch (outcome.Kind)
        {
            case ParseOutcomeKind.Help:
            case ParseOutcomeKind.Version:
                stdout.WriteLine(outcome.Message);
                return 0;
            case ParseOutcomeKind.Error:
                stderr.WriteLine($"orion-perf: {outcome.Message}");
                stderr.WriteLine("run 'orion-perf --help' for the supported options");
                return 1;
        }
        foreach (var note in outcome.Notes) stderr.WriteLine($"orion-perf: {note}");
        var jobs = outcome.Jobs.Count > 0 ? outcome.Jobs : [outcome.Options!];
        if (WaitForError(jobs) is { } waitError)
        {
            stderr.WriteLine($"orion-perf: {waitError}");
            return 1;
        }
        var groups = GroupIds(jobs);
        foreach (var note in Notes(jobs, groups)) stderr.WriteLine($"orion-perf: {note}");
        var options = jobs[0];              // output format and file come from the first job, as in fio
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;        // stop the job in order rather than dying with threads spinning
            cancel.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            var format = options.OutputFormat;
            bool normal = format.HasFlag(OutputFormat.Normal);
            using var output = options.OutputPath is { } path ? new StreamWriter(path) : null;
            // Created now, so a report that cannot be written stops the run before the jobs, not after.
            using var report = options.ReportPath is { } reportPath ? new StreamWriter(reportPath, append: false, new System.Text.UTF8Encoding(false)) : null;
            // The audit log too: opened before the engines start, flushed per event and closed when the run ends.
            using var audit = options.AuditLogPath is { } auditPath ? new Audit.JsonLinesLog(auditPath) : null;
            var writer = output ?? stdout;
            // The live status line goes to standard error, only on a terminal, and never while JSON goes to standard output.
            var status = StatusLine.ShouldShow(Console.IsOutputRedirected, Console.IsErrorRedirected, options.OutputFormat, options.OutputPath) ? stderr : null;
            // Jobs between two stonewalls run together, one engine for those that can share it (Batches); the sets
            // run one after another, and all jobs are reported together like fio's jobs[].
            var resultsAt = new JobResult[jobs.Count];
            // fio's thread numbers (in log file names) count clones: job i's first is 1 + the clones of the jobs before it.
            var firstThread = jobs.Select((_, i) => 1 + jobs.Take(i).Sum(j => j.NumJobs)).ToArray();
            using var logFiles = new Logs.FioLogFiles();
            string? endedBy = null;         // fio's exitall with exit_what=all: the job whose end cancels the jobs after it
            foreach (var set in Batches(jobs).SelectMany(b => b))
            {
                if (normal) foreach (int i in set) HumanReport.WriteBanner(writer, jobs[i], groups[i]);
                var sessions = set.Select(i => sessionFor?.Invoke(jobs[i])).ToList();
                if (endedBy is not null)
                {
                    stderr.WriteLine($"orion-perf: {string.Join(", ", set.Select(i => $"job '{jobs[i].Name}'"))} did not run: exit_what=all of job '{endedBy}' ended the run");
                    sessions = sessions.Select(s => (JobSession?)(s ?? new JobSession())).ToList();
                    foreach (var s in sessions) s!.TerminatedBeforeStart = true;
                }
                endedBy ??= set.Where(i => jobs[i].ExitAll && jobs[i].ExitWhatAll).Select(i => jobs[i].Name).FirstOrDefault();
                var setResults = JobExecution.ExecuteConcurrent(set.Select(i => jobs[i]).ToList(), status, cancel.Token,
                                                                sessions, firstJobNumber: set[0] + 1,
                                                                intervals: report is not null, auditLog: audit,
                                                                threadNumbers: set.Select(i => firstThread[i]).ToList(), logFiles: logFiles);
                for (int k = 0; k < set.Count; k++)
                {
                    setResults[k].GroupId = groups[set[k]];
                    resultsAt[set[k]] = setResults[k];
                }
            }
            var results = resultsAt.ToList();
            // fio's report entries (a clone each, or a group summed with group_reporting), in fio's order of formats.
            var entries = JobResult.FioEntries(results);
            if (format.HasFlag(OutputFormat.Terse)) TerseReport.Write(writer, entries);
            if (format.HasFlag(OutputFormat.Json)) JsonReport.Write(writer, entries, plus: format.HasFlag(OutputFormat.JsonPlus));
            if (normal) HumanReport.Write(writer, entries);
            writer.Flush();
            if (report is not null)
            {
                HtmlReport.Write(report, results);
                report.Flush();
            }
            bool verifyFailed = ReportVerifyFailures(results, stderr);
            bool completionsBroken = ReportBrokenCompletions(results, stderr);
            bool stoppedByError = ReportStoppingErrors(results, stderr);
            bool rateMissed = false;
            foreach (var r in results.Where(r => r.RateMinFailure is not null))
            {
                rateMissed = true;      // fio ends such a job with an error, and exits non-zero
                stderr.WriteLine($"orion-perf: job '{r.Name}': {r.RateMinFailure}");
            }
            return completionsBroken ? CompletionsLostExitCode : verifyFailed ? VerifyFailedExitCode : stoppedByError ? IoErrorExitCode : rateMissed ? 1 : 0;
        }
        catch (LostCompletionsException e)
        {
            stderr.WriteLine($"orion-perf: {e.Message}");
            return CompletionsLostExitCode;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or NotSupportedException or InvalidOperationException
                                       or InsufficientMemoryException or TimeoutException or IOException)
        {
            stderr.WriteLine($"orion-perf: {e.Message}");
            return 1;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    /// <summary>Tells standard error about every job whose verification found mismatches; true if there was one.</summary>
    internal static bool ReportVerifyFailures(IEnumerable<JobResult> results, TextWriter stderr)
    {
        bool failed = false;
        foreach (var r in results.Where(r => r.Verify is { Mismatches: > 0 }))
        {
            var v = r.Verify!;
            failed = true;
            stderr.WriteLine($"orion-perf: job '{r.Name}': verify found {v.Mismatches} mismatch{(v.Mismatches == 1 ? "" : "es")} in {v.Checked} blocks checked" +
                             (v.StoppedEarly ? " (verify_fatal stopped the job)" : "") +
                             (v.FirstMismatches.Count > 0 ? $"; first at offset {v.FirstMismatches[0].Offset}: {string.Join("; ", v.FirstMismatches[0].Problems())}" : ""));
        }
        return failed;
    }

    /// <summary>
    /// Tells standard error, as fio's <c>io_u error</c> line does, about every job a failed I/O stopped; true if there was one.
    /// </summary>
    internal static bool ReportStoppingErrors(IEnumerable<JobResult> results, TextWriter stderr)
    {
        bool any = false;
        foreach (var r in results.Where(r => r.Errors is { StoppedJob: true }))
        {
            any = true;
            var e = r.Errors!;
            string first = e.First is { } f ? f.Describe() : "an I/O failed";
            stderr.WriteLine($"orion-perf: job '{r.Name}': I/O error: {first}; the job stopped at its first failure " +
                             $"(--continue_on_error=io counts failures and goes on; {e.Total} failed in all)");
        }
        return any;
    }

    /// <summary>Tells standard error about every job where an I/O completed twice or never; true if there was one.</summary>
    internal static bool ReportBrokenCompletions(IEnumerable<JobResult> results, TextWriter stderr)
    {
        bool any = false;
        foreach (var r in results.Where(r => r.Errors is { CompletionsIntact: false }))
        {
            any = true;
            var e = r.Errors!;
            stderr.WriteLine($"orion-perf: job '{r.Name}': {e.Submitted} I/Os submitted, {e.Completed} completed: {e.Lost} lost, {e.Doubled} completed twice");
        }
        return any;
    }

    /// <summary>
    /// fio's reporting groups: the first job is in group 0, and a job with <c>stonewall</c> or <c>new_group</c> starts
    /// the next group unless its group is still empty.
    /// </summary>
    internal static int[] GroupIds(IReadOnlyList<JobOptions> jobs)
    {
        var ids = new int[jobs.Count];
        int group = 0, inGroup = 0;
        for (int i = 0; i < jobs.Count; i++)
        {
            if ((jobs[i].Stonewall || jobs[i].NewGroup) && inGroup > 0)
            {
                group++;
                inGroup = 0;
            }
            ids[i] = group;
            inGroup++;
        }
        return ids;
    }

    /// <summary>What the user should know before the jobs run: options accepted without effect, and how groups run.</summary>
    internal static IEnumerable<string> Notes(IReadOnlyList<JobOptions> jobs, int[] groups)
    {
        if (jobs.Any(j => j.LogHistMsec is not null) && jobs.All(j => j.WriteHistLog is null && j.WriteHdrLog is null) && jobs[0].ReportPath is null)
            yield return "--log_hist_msec has no effect without --write_hist_log, --write_hdr_log or --report";
        if (jobs.Any(j => !j.Direct))
            yield return "--direct=0 has no effect: orion I/O always bypasses any page cache (it is always direct)";
        foreach (var note in FallbackNotes(jobs)) yield return note;
    }

    /// <summary>
    /// How the jobs run: batches split at each <c>stonewall</c> job (a batch starts after the previous one finished), and
    /// in each batch sets of jobs that share one engine and run concurrently (same device and engine options; job
    /// indices in order); a batch's sets run one after another, the first set holding the batch's first job.
    /// </summary>
    internal static List<List<List<int>>> Batches(IReadOnlyList<JobOptions> jobs)
    {
        var batches = new List<List<List<int>>>();
        for (int i = 0; i < jobs.Count; i++)
        {
            // fio's wait_for: the job starts after the named one finished; here after the whole batch holding it.
            bool waits = jobs[i].WaitFor is { } name && batches.Count > 0
                         && batches[^1].SelectMany(x => x).Any(k => string.Equals(jobs[k].Name, name, StringComparison.Ordinal));
            if (i == 0 || jobs[i].Stonewall || waits) batches.Add([]);
            var sets = batches[^1];
            var set = sets.FirstOrDefault(s => s.All(k => JobExecution.Incompatibility(jobs[k], jobs[i]) is null));
            if (set is null) sets.Add([i]);
            else set.Add(i);
        }
        return batches;
    }

    /// <summary>A <c>wait_for</c> that names no earlier job (fio refuses it too), or null.</summary>
    internal static string? WaitForError(IReadOnlyList<JobOptions> jobs)
    {
        for (int i = 0; i < jobs.Count; i++)
            if (jobs[i].WaitFor is { } name && !jobs.Take(i).Any(j => string.Equals(j.Name, name, StringComparison.Ordinal)))
                return $"job '{jobs[i].Name}': wait_for={name}: no earlier job is named '{name}'" +
                       (jobs.Skip(i + 1).Any(j => j.Name == name) ? " (it comes later; a job can only wait for one before it)" : "");
        return null;
    }

    /// <summary>One line for each job that could not run with the job before it and falls back to running after it.</summary>
    internal static IEnumerable<string> FallbackNotes(IReadOnlyList<JobOptions> jobs)
    {
        foreach (var batch in Batches(jobs))
            for (int s = 1; s < batch.Count; s++)
            {
                var first = jobs[batch[0][0]];
                var job = jobs[batch[s][0]];
                string why = JobExecution.Incompatibility(first, job) ?? "its options differ from another job's";
                yield return $"job '{job.Name}' runs after '{first.Name}' rather than concurrently with it, on its own engine: {why}";
            }
    }
}
