using Orion.Perf.Options;
using Orion.Perf.Reporting;
using Orion.Perf.Workload;

namespace Orion.Perf;

/// <summary>
/// <c>orion-perf</c>: parse fio-style options and job files, run the jobs on the embedded device one after another,
/// print fio's normal or JSON output; or the <c>compare</c> and <c>gate</c> subcommands.
/// Exit codes: 0 the job ran, 1 bad options or a failure to run it.
/// </summary>
internal static class PerfCommand
{
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        // Subcommands: compare two reports, or gate a candidate workload against a reference (Gate/).
        if (args.Length > 0 && args[0] == "compare") return Gate.CompareCommand.Run(args[1..], stdout, stderr);
        if (args.Length > 0 && args[0] == "gate") return Gate.GateCommand.Run(args[1..], stdout, stderr);
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
            bool normal = options.OutputFormat == OutputFormat.Normal;
            using var output = options.OutputPath is { } path ? new StreamWriter(path) : null;
            var writer = output ?? stdout;
            var status = normal && output is null && !Console.IsErrorRedirected ? stderr : null;
            // Jobs run one after another (one engine at a time), and are reported together like fio's jobs[].
            var results = new List<JobResult>(jobs.Count);
            foreach (var job in jobs)
            {
                if (normal) HumanReport.WriteBanner(writer, job);
                results.Add(JobExecution.Execute(job, status, cancel.Token));
            }
            if (normal) HumanReport.Write(writer, results);
            else JsonReport.Write(writer, results, plus: options.OutputFormat == OutputFormat.JsonPlus);
            writer.Flush();
            return 0;
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
}
