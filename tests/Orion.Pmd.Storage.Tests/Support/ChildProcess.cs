using System.Diagnostics;
using System.Text;

namespace Orion.Pmd.Storage.Tests.Support;

/// <summary>
/// A <c>dotnet DLL ARGS</c> child process whose stdout lines are collected as they come (for the crash worker and
/// orion-vhost). <see cref="Kill"/> is SIGKILL: no clean-up, no flushing, a crash.
/// </summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly StringBuilder _errors = new();

    public ChildProcess(string dll, params string[] arguments)
    {
        if (!File.Exists(dll)) Assert.Ignore($"{dll} is not built: build Orion.Pmd.sln first");
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(dll);
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        _process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {dll}");
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_lines) _lines.Add(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_errors) _errors.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public bool HasExited => _process.HasExited;

    /// <summary>The stdout lines so far.</summary>
    public string[] Lines
    {
        get { lock (_lines) return [.. _lines]; }
    }

    /// <summary>Everything written to stderr so far.</summary>
    public string Errors
    {
        get { lock (_errors) return _errors.ToString(); }
    }

    /// <summary>Waits until a stdout line contains <paramref name="text"/>; throws when the process exits first or the deadline passes.</summary>
    public void WaitForLine(string text, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (!Lines.Any(l => l.Contains(text, StringComparison.Ordinal)))
        {
            if (_process.HasExited)
            {
                _process.WaitForExit();
                if (Lines.Any(l => l.Contains(text, StringComparison.Ordinal))) return;
                throw new InvalidOperationException($"the process exited with {_process.ExitCode} before printing '{text}': {Errors}\n{string.Join('\n', Lines.TakeLast(20))}");
            }
            if (sw.Elapsed > timeout) throw new TimeoutException($"no line with '{text}' within {timeout.TotalSeconds} s: {Errors}");
            Thread.Sleep(10);
        }
    }

    /// <summary>SIGKILL, then waits for the process and its output to end.</summary>
    public void Kill()
    {
        if (!_process.HasExited) _process.Kill();
        if (!_process.WaitForExit(10_000)) throw new TimeoutException("the process survived SIGKILL for 10 s");
        _process.WaitForExit();                                  // drains the output readers
    }

    public void Dispose()
    {
        try { Kill(); } catch (InvalidOperationException) { }
        _process.Dispose();
    }

    /// <summary>A tool's dll next to the test assembly's configuration: <c>tools/NAME/bin/CONFIGURATION/TFM/FILE</c>.</summary>
    public static string ToolDll(string project, string file)
    {
        var bin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
        string tfm = bin.Name, configuration = bin.Parent?.Name ?? "Release";
        for (var d = bin; d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Orion.Pmd.sln")))
                return Path.Combine(d.FullName, "tools", project, "bin", configuration, tfm, file);
        return Path.Combine("tools", project, "bin", "Release", "net10.0", file);
    }
}
