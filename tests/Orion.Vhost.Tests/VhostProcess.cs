using System.Diagnostics;
using System.Text;
using Orion.Pmd.Linux;

namespace Orion.Vhost.Tests;

/// <summary>
/// The real orion-vhost process, listening on a socket in a private directory under /tmp (socket paths hold at most
/// 107 bytes). Started with the test host's dotnet; every wait is bounded; Dispose kills what is left and removes the
/// directory.
/// </summary>
internal sealed class VhostProcess : IDisposable
{
    private readonly StringBuilder _stdout = new(), _stderr = new();
    private readonly ManualResetEventSlim _listening = new();

    private readonly bool _ownsDirectory;

    private VhostProcess(Process process, string directory, string socketPath, bool ownsDirectory)
    {
        Process = process;
        Directory = directory;
        SocketPath = socketPath;
        _ownsDirectory = ownsDirectory;
    }

    public Process Process { get; }
    public string Directory { get; }
    public string SocketPath { get; }
    public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }
    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    /// <summary>
    /// Starts orion-vhost with <c>--socket DIR/vu.sock</c> (or, with <paramref name="socketFromConfig"/>, a
    /// <c>--config</c> file in DIR that names it, followed by <paramref name="configLines"/>) and <paramref name="args"/>,
    /// with <paramref name="environment"/> added to its environment; with <paramref name="waitReady"/>, waits for
    /// "listening on". DIR is a new private directory, removed by <see cref="Dispose"/>, unless
    /// <paramref name="directory"/> names one the caller keeps (a restart on the same socket path).
    /// </summary>
    /// <param name="launcher">A program that starts orion-vhost, with its arguments (given the socket path), for example systemd-socket-activate.</param>
    public static VhostProcess Start(string[] args, bool waitReady = true, string? directory = null, bool socketFromConfig = false,
                                     IEnumerable<string>? configLines = null, IReadOnlyDictionary<string, string>? environment = null,
                                     Func<string, string[]>? launcher = null)
    {
        string dir = directory ?? System.IO.Directory.CreateTempSubdirectory("orion-vh-").FullName;
        string socket = Path.Combine(dir, "vu.sock");
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        string[] prefix = launcher?.Invoke(socket) ?? [];
        var psi = new ProcessStartInfo(prefix.Length > 0 ? prefix[0] : dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in prefix.Skip(1)) psi.ArgumentList.Add(a);
        if (prefix.Length > 0) psi.ArgumentList.Add(dotnet);
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "orion-vhost.dll"));
        if (socketFromConfig)
        {
            string config = Path.Combine(dir, "orion-vhost.conf");
            File.WriteAllLines(config, [$"socket = {socket}", .. configLines ?? []]);
            psi.ArgumentList.Add("--config");
            psi.ArgumentList.Add(config);
        }
        else
        {
            psi.ArgumentList.Add("--socket");
            psi.ArgumentList.Add(socket);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) psi.Environment[name] = value;
        foreach (var a in args) psi.ArgumentList.Add(a);
        var p = new Process { StartInfo = psi };
        var v = new VhostProcess(p, dir, socket, ownsDirectory: directory is null);
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (v._stdout) v._stdout.AppendLine(e.Data);
            if (e.Data.StartsWith("listening on ", StringComparison.Ordinal)) v._listening.Set();
        };
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null) lock (v._stderr) v._stderr.AppendLine(e.Data);
        };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        if (waitReady && !v._listening.Wait(TimeSpan.FromSeconds(60)))
        {
            v.Dispose();
            Assert.Fail($"orion-vhost did not say 'listening on' within 60 s; stderr: {v.Stderr}");
        }
        return v;
    }

    /// <summary>Waits up to <paramref name="timeout"/> for "listening on"; false if it did not come.</summary>
    public bool WaitListening(TimeSpan timeout) => _listening.Wait(timeout);

    /// <summary>Waits (bounded) for the process to exit; returns its exit code.</summary>
    public int WaitForExit(int timeoutMs = 20_000)
    {
        if (!Process.WaitForExit(timeoutMs)) Assert.Fail($"orion-vhost did not exit within {timeoutMs} ms; stderr: {Stderr}");
        Process.WaitForExit();                 // flushes the redirected output
        return Process.ExitCode;
    }

    /// <summary>Sends <paramref name="signal"/> and waits for the exit code.</summary>
    public int Signal(int signal)
    {
        ProcessSignal.Send(Process.Id, signal);
        return WaitForExit();
    }

    public void Dispose()
    {
        try
        {
            if (!Process.HasExited)
            {
                Process.Kill();
                Process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException) { }
        Process.Dispose();
        if (!_ownsDirectory) return;
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }

    /// <summary>Whether this process ignores <paramref name="signal"/> (the SigIgn mask of /proc/self/status), as its children will.</summary>
    public static bool SignalIgnoredHere(int signal)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("SigIgn:", StringComparison.Ordinal))
                return (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & (1UL << (signal - 1))) != 0;
        return false;
    }
}
