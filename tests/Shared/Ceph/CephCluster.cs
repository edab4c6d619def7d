using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Orion.Pmd.Tests.Ceph;

/// <summary>
/// A single-node Ceph cluster for tests, from Debian's packages (<c>ceph-mon ceph-mgr ceph-osd ceph-common</c>, which
/// tests/run.sh installs when it is root): one monitor on 127.0.0.1 at a free port, one manager, one OSD with
/// bluestore on a 4 GiB sparse file, <c>osd pool default size = 1</c>, no authentication, everything (data, sockets,
/// logs) in a private directory under /tmp, each daemon a child process started in the foreground (<c>-f</c>) and
/// stopped by its process id. One cluster serves the whole test run (<see cref="RequireShared"/>, started by the first test
/// that needs it; <see cref="StopShared"/> from the assembly's one-time tear-down), because starting one takes about
/// ten seconds. Where Ceph is missing or does not start, <see cref="RequireShared"/> skips the test with the reason.
/// </summary>
/// <remarks>
/// The file is shared by several test projects (linked, not referenced), so it depends on NUnit and the BCL only.
/// Several engineers' test runs may share a machine: the monitor's port is picked free at start, and the OSD and
/// manager take free ports from Ceph's range themselves.
/// </remarks>
public sealed class CephCluster : IDisposable
{
    /// <summary>The pool every test image lives in.</summary>
    public const string Pool = "orion";

    /// <summary>Longest a start (mkfs, daemons, pool) may take before the cluster counts as unable to start.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    /// <summary>Longest one <c>ceph</c>/<c>rbd</c> command may run.</summary>
    public static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);

    private static readonly string[] Binaries = ["ceph-mon", "ceph-mgr", "ceph-osd", "ceph", "monmaptool", "rbd"];
    private static readonly Lock SharedLock = new();
    private static CephCluster? s_shared;
    private static string? s_failure;

    private readonly Dictionary<string, Process> _daemons = [];
    private int _images;

    private CephCluster(string directory, int port)
    {
        Directory = directory;
        MonitorPort = port;
        ConfPath = Path.Combine(directory, "ceph.conf");
    }

    /// <summary>The private directory holding the cluster's data, sockets and logs.</summary>
    public string Directory { get; }

    /// <summary>The configuration file clients use (<c>conf=</c> for librbd, qemu-storage-daemon and the rbd command).</summary>
    public string ConfPath { get; }

    /// <summary>The monitor's port on 127.0.0.1 (msgr2).</summary>
    public int MonitorPort { get; }

    /// <summary>Why Ceph cannot be used here, or null when its programs are installed.</summary>
    public static string? MissingReason
    {
        get
        {
            var missing = Binaries.Where(b => FindOnPath(b) is null).ToArray();
            return missing.Length == 0 ? null
                : $"Ceph is not installed ({string.Join(", ", missing)} missing; apt-get install ceph-mon ceph-mgr ceph-osd ceph-common); tests/run.sh installs it when run as root";
        }
    }

    /// <summary>
    /// The run's cluster, started on first use; the test is skipped with the reason when Ceph is missing or would not
    /// start (a failed start is remembered, so later tests skip at once instead of trying again).
    /// </summary>
    public static CephCluster RequireShared()
    {
        lock (SharedLock)
        {
            if (s_shared is not null) return s_shared;
            s_failure ??= MissingReason;
            if (s_failure is null)
            {
                try
                {
                    s_shared = Start();
                    // A test host that ends without the one-time tear-down (an unhandled exception) still stops the daemons.
                    AppDomain.CurrentDomain.ProcessExit += (_, _) => StopShared();
                    return s_shared;
                }
                catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException)
                {
                    s_failure = $"the test Ceph cluster did not start: {e.Message}";
                }
            }
            Assert.Ignore(s_failure);
            throw new UnreachableException();
        }
    }

    /// <summary>Stops the run's cluster if one was started (the assembly's one-time tear-down).</summary>
    public static void StopShared()
    {
        lock (SharedLock)
        {
            s_shared?.Dispose();
            s_shared = null;
        }
    }

    /// <summary>Starts a cluster in a new directory under /tmp; throws with the daemons' logs when it does not come up in time.</summary>
    public static CephCluster Start()
    {
        var cluster = new CephCluster(System.IO.Directory.CreateTempSubdirectory("orion-ceph-").FullName, FreePort());
        try
        {
            var deadline = Stopwatch.StartNew();
            cluster.Bootstrap(deadline);
            return cluster;
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException)
        {
            string logs = cluster.LogTail();
            cluster.Dispose();
            throw new InvalidOperationException($"{e.Message}{(logs.Length > 0 ? "; daemon logs: " + logs : "")}", e);
        }
        catch
        {
            cluster.Dispose();
            throw;
        }
    }

    private void Bootstrap(Stopwatch deadline)
    {
        string fsid = Guid.NewGuid().ToString();
        foreach (var sub in new[] { "mon", "osd", "mgr", "run", "log" }) System.IO.Directory.CreateDirectory(Path.Combine(Directory, sub));
        File.WriteAllText(ConfPath, Conf(fsid));
        string monmap = Path.Combine(Directory, "monmap");
        Run("monmaptool", $"--create --addv a [v2:127.0.0.1:{MonitorPort}] --fsid {fsid} {monmap}");
        Run("ceph-mon", $"--mkfs -i a --monmap {monmap} -c {ConfPath}");
        Launch("mon", "ceph-mon", $"-f -i a -c {ConfPath}");
        string osdUuid = Guid.NewGuid().ToString();
        string id = Ceph($"osd new {osdUuid}").Trim();
        if (id != "0") throw new InvalidOperationException($"'ceph osd new' answered '{id}', expected osd id 0");
        Run("ceph-osd", $"-c {ConfPath} -i 0 --mkfs --osd-uuid {osdUuid}");
        Launch("osd", "ceph-osd", $"-f -c {ConfPath} -i 0");
        Launch("mgr", "ceph-mgr", $"-f -c {ConfPath} -i x");
        WaitForOsdUp(deadline);
        Ceph($"osd pool create {Pool} 8");
        Ceph($"osd pool application enable {Pool} rbd");
    }

    /// <summary>
    /// The configuration from <c>ceph.conf.template</c> (beside this file, copied next to the test assembly; shared with
    /// perf/compare_rbd.py) with this cluster's fsid, port and directory filled in.
    /// </summary>
    private string Conf(string fsid)
    {
        string template = Path.Combine(AppContext.BaseDirectory, "Ceph", "ceph.conf.template");
        if (!File.Exists(template)) throw new IOException($"{template} is missing: the test project should copy tests/Shared/Ceph/ceph.conf.template there");
        return File.ReadAllText(template).Replace("@FSID@", fsid, StringComparison.Ordinal)
            .Replace("@PORT@", MonitorPort.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("@DIR@", Directory, StringComparison.Ordinal);
    }

    /// <summary>Creates an image of <paramref name="bytes"/> in <see cref="Pool"/> with a fresh name (prefixed <paramref name="prefix"/>) and returns the name.</summary>
    public string CreateImage(long bytes, string prefix = "img")
    {
        string name = $"{prefix}-{Interlocked.Increment(ref _images)}";
        Rbd($"create {Pool}/{name} --size {bytes / (1 << 20)}M");
        return name;
    }

    /// <summary>Removes an image (best effort: a test's clean-up).</summary>
    public void RemoveImage(string name)
    {
        try { Rbd($"rm --no-progress {Pool}/{name}"); }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException) { }
    }

    /// <summary>An independent reader: the image's whole content, exported by the <c>rbd</c> command.</summary>
    public byte[] ExportImage(string name)
    {
        string path = Path.Combine(Directory, $"export-{name}-{Guid.NewGuid():N}.raw");
        try
        {
            Rbd($"export --no-progress {Pool}/{name} {path}");
            return File.ReadAllBytes(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Writes <paramref name="data"/> at the start of an image with the <c>rbd</c> command (an independent writer).</summary>
    public void ImportImage(string name, byte[] data)
    {
        string path = Path.Combine(Directory, $"import-{name}-{Guid.NewGuid():N}.raw");
        try
        {
            File.WriteAllBytes(path, data);
            RemoveImage(name);
            Rbd($"import --no-progress {path} {Pool}/{name}");
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Kills the OSD (SIGKILL: a crash, nothing flushed on the way out); its data stays in the bluestore file.</summary>
    public void KillOsd()
    {
        _upFromBeforeKill = OsdUpFrom();
        StopDaemon("osd", kill: true);
    }

    private long _upFromBeforeKill;

    /// <summary>
    /// Starts the OSD again on its bluestore file and returns once the monitors have this new instance up (its
    /// <c>up_from</c> epoch past the killed one's; bounded by <see cref="StartTimeout"/>).
    /// </summary>
    public void StartOsd()
    {
        Launch("osd", "ceph-osd", $"-f -c {ConfPath} -i 0");
        var since = Stopwatch.StartNew();
        WaitForOsdUp(since);
        while (OsdUpFrom() <= _upFromBeforeKill)
        {
            if (since.Elapsed > StartTimeout) throw new TimeoutException($"the restarted OSD was not up within {StartTimeout.TotalSeconds:0} s");
            Thread.Sleep(200);
        }
    }

    /// <summary>The osdmap epoch from which osd.0 has been up (a restarted OSD gets a later one).</summary>
    private long OsdUpFrom()
    {
        using var dump = System.Text.Json.JsonDocument.Parse(Ceph("osd dump -f json"));
        return dump.RootElement.GetProperty("osds")[0].GetProperty("up_from").GetInt64();
    }

    /// <summary>An OSD outage of <paramref name="downtime"/>: <see cref="KillOsd"/>, wait, <see cref="StartOsd"/>.</summary>
    public void RestartOsd(TimeSpan downtime)
    {
        KillOsd();
        Thread.Sleep(downtime);
        StartOsd();
    }

    private void WaitForOsdUp(Stopwatch since)
    {
        while (!Ceph("osd stat -f json").Replace(" ", "", StringComparison.Ordinal).Contains("\"num_up_osds\":1", StringComparison.Ordinal))
        {
            CheckAlive();
            if (since.Elapsed > StartTimeout) throw new TimeoutException($"the OSD was not up within {StartTimeout.TotalSeconds:0} s");
            Thread.Sleep(200);
        }
    }

    /// <summary>The <c>conf=</c> device option naming this cluster, as <c>rbd:</c> device strings take it.</summary>
    public string DeviceString(string image) => $"rbd:{Pool}/{image},conf={ConfPath}";

    /// <summary>Runs <c>ceph</c> against this cluster and returns its output.</summary>
    public string Ceph(string arguments) => Run("ceph", $"-c {ConfPath} --connect-timeout 20 {arguments}");

    /// <summary>Runs <c>rbd</c> against this cluster and returns its output.</summary>
    public string Rbd(string arguments) => Run("rbd", $"-c {ConfPath} {arguments}");

    private void Launch(string name, string binary, string arguments)
    {
        var psi = new ProcessStartInfo(binary, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {binary}");
        // Read and dropped: the daemons log to files in the directory; a full pipe would block them.
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        lock (_daemons) _daemons[name] = p;
    }

    private void CheckAlive()
    {
        lock (_daemons)
            foreach (var (name, p) in _daemons)
                if (p.HasExited) throw new InvalidOperationException($"ceph {name} exited with {p.ExitCode.ToString(CultureInfo.InvariantCulture)}");
    }

    private void StopDaemon(string name, bool kill)
    {
        Process? p;
        lock (_daemons)
        {
            if (!_daemons.Remove(name, out p)) return;
        }
        try
        {
            if (!p.HasExited)
            {
                if (kill) p.Kill();
                else Orion.Pmd.Linux.ProcessSignal.Send(p.Id, Orion.Pmd.Linux.ProcessSignal.Terminate);
            }
            if (!p.WaitForExit(10_000)) p.Kill();
            p.WaitForExit(5_000);
        }
        catch (InvalidOperationException) { }
        p.Dispose();
    }

    private static string Run(string binary, string arguments)
    {
        var psi = new ProcessStartInfo(binary, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {binary}");
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(CommandTimeout))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit(5_000);
            throw new TimeoutException($"'{binary} {arguments}' did not finish within {CommandTimeout.TotalSeconds:0} s");
        }
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"'{binary} {arguments}' exited with {p.ExitCode.ToString(CultureInfo.InvariantCulture)}: {error.Result.Trim()}");
        return output.Result;
    }

    private string LogTail()
    {
        var text = new StringBuilder();
        string logs = Path.Combine(Directory, "log");
        if (!System.IO.Directory.Exists(logs)) return "";
        foreach (var file in System.IO.Directory.GetFiles(logs, "*.log"))
        {
            var lines = File.ReadLines(file).Where(l => l.Contains(" -1 ", StringComparison.Ordinal)).TakeLast(3).ToArray();
            if (lines.Length > 0) text.Append(Path.GetFileName(file)).Append(": ").AppendJoin(" | ", lines).Append("; ");
        }
        return text.ToString();
    }

    private static int FreePort()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    private static string? FindOnPath(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':'))
        {
            var full = Path.Combine(dir, name);
            if (File.Exists(full)) return full;
        }
        return null;
    }

    /// <summary>Stops every daemon (manager, OSD, monitor: by process id) and removes the directory.</summary>
    public void Dispose()
    {
        foreach (var name in new[] { "mgr", "osd", "mon" }) StopDaemon(name, kill: false);
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
