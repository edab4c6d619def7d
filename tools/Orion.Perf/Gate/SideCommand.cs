using System.Diagnostics;
using System.Text;

namespace Orion.Perf.Gate;

/// <summary>What one run of a side gave: a sample, or why it does not count.</summary>
internal sealed record SideOutcome(RoundSample? Sample, string? Failure, TimeSpan Elapsed);

/// <summary>
/// Runs a side's command with <c>/bin/sh -c</c> (so a user writes it as in their shell), captures its standard output
/// (at most <see cref="MaxOutputChars"/>) and the tail of its standard error, kills the whole process tree after the
/// timeout, and reads its report. Any of a non-zero exit status, a timeout, no JSON or a failed I/O is a failure, with
/// the reason and the end of its standard error: the gate never judges (let alone passes) a side that did not run.
/// </summary>
internal static class SideCommand
{
    /// <summary>Standard output beyond this is not kept, and the run fails: no report is that large.</summary>
    public const int MaxOutputChars = 64 << 20;

    private const int StderrTailChars = 2000;

    public static SideOutcome Run(string command, TimeSpan timeout, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        var psi = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(command);
        Process process;
        try { process = Process.Start(psi) ?? throw new InvalidOperationException("no process"); }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return new(null, $"could not start /bin/sh: {e.Message}", clock.Elapsed);
        }
        using (process)
        {
            process.StandardInput.Close();          // a side that waits for input gets end of file, not the gate's terminal
            var stdout = new StringBuilder();
            bool overflow = false;
            var tail = new StringBuilder();
            var readOut = Task.Run(() => Drain(process.StandardOutput, stdout, MaxOutputChars, ref overflow));
            var readErr = Task.Run(() => DrainTail(process.StandardError, tail));
            bool exited;
            try { exited = process.WaitForExitAsync(cancel).Wait(timeout); }
            catch (AggregateException e) when (e.InnerException is OperationCanceledException) { exited = false; }
            if (!exited)
            {
                try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                process.WaitForExit(5_000);
            }
            // The pipes close when the process (and anything holding them) is gone; bound the wait all the same.
            Task.WaitAll([readOut, readErr], TimeSpan.FromSeconds(10));
            string err = Tail(tail);
            if (!exited)
                return new(null, cancel.IsCancellationRequested ? "interrupted" : $"did not finish within {timeout.TotalSeconds:0} s (killed){err}", clock.Elapsed);
            if (process.ExitCode != 0) return new(null, $"exited with status {process.ExitCode}{err}", clock.Elapsed);
            if (overflow) return new(null, $"printed more than {MaxOutputChars >> 20} MiB on standard output", clock.Elapsed);
            string text;
            lock (stdout) text = stdout.ToString();
            return RoundSample.TryParse(text, out var sample, out string why)
                ? new(sample, null, clock.Elapsed)
                : new(null, why + err, clock.Elapsed);
        }
    }

    private static void Drain(StreamReader reader, StringBuilder into, int max, ref bool overflow)
    {
        var buffer = new char[65536];
        int n;
        while ((n = reader.Read(buffer, 0, buffer.Length)) > 0)
        {
            lock (into)
            {
                if (into.Length + n > max) overflow = true;
                else into.Append(buffer, 0, n);
            }
        }
    }

    private static void DrainTail(StreamReader reader, StringBuilder tail)
    {
        var buffer = new char[8192];
        int n;
        while ((n = reader.Read(buffer, 0, buffer.Length)) > 0)
        {
            lock (tail)
            {
                tail.Append(buffer, 0, n);
                if (tail.Length > 4 * StderrTailChars) tail.Remove(0, tail.Length - StderrTailChars);
            }
        }
    }

    private static string Tail(StringBuilder tail)
    {
        string t;
        lock (tail) t = tail.ToString();
        t = t.Length > StderrTailChars ? "..." + t[^StderrTailChars..] : t;
        t = t.Trim();
        return t.Length == 0 ? "" : $"; its standard error ends: {t}";
    }
}
