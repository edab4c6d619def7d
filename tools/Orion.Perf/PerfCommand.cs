using Orion.Perf.Options;
using Orion.Perf.Reporting;
using Orion.Perf.Workload;

namespace Orion.Perf;

/// <summary>
/// <c>orion-perf</c>: parse fio-style options, run the job on the embedded device, print fio's normal or JSON output.
/// Exit codes: 0 the job ran, 1 bad options or a failure to run it.
/// </summary>
internal static class PerfCommand
{
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var outcome = JobOptionsParser.Parse(args);
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
        var options = outcome.Options!;
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
            if (normal) HumanReport.WriteBanner(writer, options);
            var status = normal && output is null && !Console.IsErrorRedirected ? stderr : null;
            var result = JobExecution.Execute(options, status, cancel.Token);
            if (normal) HumanReport.Write(writer, [result]);
            else JsonReport.Write(writer, [result], plus: options.OutputFormat == OutputFormat.JsonPlus);
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
