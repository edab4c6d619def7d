using System.Diagnostics;
using System.Text;

namespace Orion.Pmd.Engine.Tests.VhostUser.Support;

/// <summary>
/// An <c>orion-vhost</c> process (tools/Orion.Vhost, built with the solution) serving one device on a socket in a
/// private directory under /tmp. Started with <c>dotnet orion-vhost.dll --socket PATH --device DEVICE --queues N</c>;
/// ready when it prints <c>listening on PATH</c>. <see cref="Dispose"/> stops it with SIGTERM (its orderly exit,
/// SIGKILL after 5 s) and removes the directory.
/// </summary>
internal sealed class OrionVhostProcess : IBackEndProcess
{
    private readonly StringBuilder _log = new();
    private Process _process = null!;
    private TaskCompletionSource _listening = null!;

    /// <summary>The built tool, next to the test assembly's configuration (<c>tools/Orion.Vhost/bin/Release/net10.0/orion-vhost.dll</c>).</summary>
    public static string DllPath { get; } = BuiltTool.Find("Orion.Vhost", "orion-vhost.dll");

    /// <summary>Whether the tool has been built.</summary>
    public static bool IsBuilt => File.Exists(DllPath);

    /// <summary>Skips the calling test with a clear reason when the tool has not been built.</summary>
    public static void RequireBuilt()
    {
        if (!IsBuilt) Assert.Ignore($"orion-vhost is not built ({DllPath} is missing): build Orion.Pmd.sln first");
    }

    /// <summary>The private directory holding the socket.</summary>
    public string Directory { get; }

    /// <summary>The vhost-user socket.</summary>
    public string SocketPath { get; }

    /// <summary>The device string for the engine.</summary>
    public string DeviceString => $"vhost-user:{SocketPath}";

    /// <summary>The process id.</summary>
    public int ProcessId => _process.Id;

    /// <summary>Whether the process still runs.</summary>
    public bool IsRunning => !_process.HasExited;

    /// <summary>Everything it wrote to stdout and stderr so far.</summary>
    public string Log
    {
        get { lock (_log) return _log.ToString(); }
    }

    /// <summary>The lines of <see cref="Log"/> that report a failure (its own errors, exceptions, protocol complaints).</summary>
    public string Errors => string.Join('\n', Log.Split('\n').Where(l =>
        l.Contains("error", StringComparison.OrdinalIgnoreCase) || l.Contains("exception", StringComparison.OrdinalIgnoreCase) ||
        l.Contains("unhandled", StringComparison.OrdinalIgnoreCase)));

    /// <summary>Starts <c>orion-vhost</c> serving <paramref name="device"/> (<c>mem:16M</c>, <c>null:1G</c>, <c>file:PATH</c>) and waits until it listens.</summary>
    public static OrionVhostProcess Start(string device, int queues = 1, params string[] extraArguments)
    {
        RequireBuilt();
        var p = new OrionVhostProcess(device, queues, extraArguments);
        try
        {
            p.WaitUntilListening(TimeSpan.FromSeconds(30));
            return p;
        }
        catch
        {
            p.Dispose();
            throw;
        }
    }

    private readonly string[] _arguments;

    private OrionVhostProcess(string device, int queues, string[] extraArguments)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("orion-vhost-").FullName;
        SocketPath = Path.Combine(Directory, "vu.sock");
        _arguments = [DllPath, "--socket", SocketPath, "--device", device, "--queues", queues.ToString(), .. extraArguments];
        Launch();
    }

    private void Launch()
    {
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var a in _arguments) psi.ArgumentList.Add(a);
        string ready = $"listening on {SocketPath}";
        var listening = _listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _process = Process.Start(psi) ?? throw new InvalidOperationException("could not start orion-vhost");
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_log) _log.AppendLine(e.Data);
            if (e.Data.Contains(ready, StringComparison.Ordinal)) listening.TrySetResult();
        };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Kills the target with SIGKILL (a crash: no clean-up, the socket file stays) and waits for it to be gone.</summary>
    public void Kill()
    {
        if (_process.HasExited) return;
        _process.Kill();
        if (!_process.WaitForExit(10_000)) throw new TimeoutException("orion-vhost survived SIGKILL for 10 s");
    }

    /// <summary>Starts the target again with the same arguments on the same socket path (it replaces the stale socket file).</summary>
    public void Restart()
    {
        Kill();
        _process.Dispose();
        Launch();
        WaitUntilListening(TimeSpan.FromSeconds(30));
    }

    private void WaitUntilListening(TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (!_listening.Task.IsCompleted)
        {
            if (_process.HasExited)
            {
                _process.WaitForExit();                          // drains the output readers
                throw new InvalidOperationException($"orion-vhost exited with {_process.ExitCode} before listening: {Log}");
            }
            if (sw.Elapsed > timeout) throw new TimeoutException($"orion-vhost did not print 'listening on {SocketPath}' within {timeout.TotalSeconds} s: {Log}");
            _listening.Task.Wait(TimeSpan.FromMilliseconds(20));
        }
    }

    /// <summary>Stops the process (SIGTERM, SIGKILL after 5 s) and removes its directory.</summary>
    public void Dispose()
    {
        if (!_process.HasExited) Linux.ProcessSignal.Send(_process.Id, Linux.ProcessSignal.Terminate);
        if (!_process.WaitForExit(5000)) _process.Kill();
        _process.WaitForExit(5000);
        _process.Dispose();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}
