using System.Diagnostics;
using System.Text;

namespace Orion.Pmd.Engine.Tests.VhostUser.Support;

/// <summary>
/// A qemu-storage-daemon exporting one vhost-user-blk device on a socket in a private directory under /tmp (socket
/// paths are limited to 107 bytes, so never the build tree). The test owns the process: <see cref="Dispose"/>
/// stops it (SIGTERM, then SIGKILL) and removes the directory; <see cref="Kill"/> and <see cref="Restart"/> are the
/// crash test's tools.
/// </summary>
internal sealed class QemuStorageDaemon : IBackEndProcess
{
    private const string Binary = "qemu-storage-daemon";
    private readonly string _arguments;
    private readonly StringBuilder _log = new();
    private Process? _process;

    private QemuStorageDaemon(string directory, string blockdev, string exportOptions)
    {
        Directory = directory;
        SocketPath = Path.Combine(directory, "vu.sock");
        // blockdev may carry options of its own (an --object and a second --blockdev, for a filter node above it).
        _arguments = $"--blockdev {blockdev} --export type=vhost-user-blk,id=e0,node-name=n0,addr.type=unix,addr.path={SocketPath},{exportOptions}";
    }

    /// <summary>Whether the daemon is installed (tests/run.sh installs qemu-system-common when it is root).</summary>
    public static bool IsInstalled => FindOnPath(Binary) is not null;

    /// <summary>Skips the calling test with a clear reason when the daemon is missing.</summary>
    public static void RequireInstalled()
    {
        if (!IsInstalled) Assert.Ignore($"{Binary} is not installed (apt-get install qemu-system-common); tests/run.sh installs it when run as root");
    }

    /// <summary>The private directory holding the socket (and any image the test puts there).</summary>
    public string Directory { get; }

    /// <summary>The vhost-user socket.</summary>
    public string SocketPath { get; }

    /// <summary>The device string for the engine.</summary>
    public string DeviceString => $"vhost-user:{SocketPath}";

    /// <summary>What the daemon wrote to stdout and stderr so far.</summary>
    public string Log
    {
        get { lock (_log) return _log.ToString(); }
    }

    /// <summary>Creates a private directory for a daemon's socket and files.</summary>
    public static string NewDirectory() => System.IO.Directory.CreateTempSubdirectory("orion-qsd-").FullName;

    /// <summary>A null-co export (reads return zeroes with <paramref name="readZeroes"/>; <paramref name="latencyNs"/> keeps requests in flight).</summary>
    public static QemuStorageDaemon StartNull(long sizeBytes = 1L << 30, int queues = 1, bool writable = true, long latencyNs = 0,
                                              bool readZeroes = true, int logicalBlockSize = 512, string? directory = null)
    {
        string blockdev = $"driver=null-co,node-name=n0,size={sizeBytes}" + (latencyNs > 0 ? $",latency-ns={latencyNs}" : "") + (readZeroes ? ",read-zeroes=on" : "");
        return Start(directory, blockdev, queues, writable, logicalBlockSize);
    }

    /// <summary>A file export of <paramref name="image"/> (page cache, or O_DIRECT with io_uring when <paramref name="direct"/>).</summary>
    public static QemuStorageDaemon StartFile(string image, int queues = 1, bool writable = true, bool direct = false,
                                              int logicalBlockSize = 512, string? directory = null)
    {
        string blockdev = $"driver=file,filename={image},node-name=n0" + (direct ? ",cache.direct=on,aio=io_uring" : "") + (writable ? "" : ",read-only=on");
        return Start(directory, blockdev, queues, writable, logicalBlockSize);
    }

    /// <summary>
    /// An export of the Ceph RBD image <paramref name="image"/> in <paramref name="cluster"/>'s pool (<c>driver=rbd</c>,
    /// from the qemu-block-extra package, through librbd): the chain users who outgrow one machine run.
    /// </summary>
    public static QemuStorageDaemon StartRbd(Orion.Pmd.Tests.Ceph.CephCluster cluster, string image, int queues = 1, string? directory = null)
    {
        string blockdev = $"driver=rbd,pool={Orion.Pmd.Tests.Ceph.CephCluster.Pool},image={image},conf={cluster.ConfPath},node-name=n0";
        return Start(directory, blockdev, queues, writable: true, logicalBlockSize: 512);
    }

    /// <summary>
    /// A file export behind a <c>throttle</c> filter node limited to <paramref name="iopsTotal"/> requests a second: what
    /// is over the limit waits inside the daemon, so requests stay in flight as long as the test wants (the stand-in for a
    /// stalled network disk, such as a Ceph OSD that stopped).
    /// </summary>
    public static QemuStorageDaemon StartThrottledFile(string image, int iopsTotal, int queues = 1, string? directory = null)
    {
        string blockdev = $"driver=file,filename={image},node-name=f0 " +
                          $"--object throttle-group,id=tg0,x-iops-total={iopsTotal} " +
                          "--blockdev driver=throttle,throttle-group=tg0,file=f0,node-name=n0";
        return Start(directory, blockdev, queues, writable: true, logicalBlockSize: 512);
    }

    private static QemuStorageDaemon Start(string? directory, string blockdev, int queues, bool writable, int logicalBlockSize)
    {
        RequireInstalled();
        var d = new QemuStorageDaemon(directory ?? NewDirectory(), blockdev,
            $"writable={(writable ? "on" : "off")},num-queues={queues}" + (logicalBlockSize != 512 ? $",logical-block-size={logicalBlockSize}" : ""));
        try
        {
            d.Launch();
            return d;
        }
        catch
        {
            d.Dispose();
            throw;
        }
    }

    private void Launch()
    {
        if (File.Exists(SocketPath)) File.Delete(SocketPath);
        var psi = new ProcessStartInfo(Binary, _arguments)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {Binary}");
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _process = p;
        var deadline = Stopwatch.StartNew();
        while (!File.Exists(SocketPath))
        {
            if (p.HasExited) throw new InvalidOperationException($"{Binary} exited with {p.ExitCode}: {Log}");
            if (deadline.Elapsed > TimeSpan.FromSeconds(15)) throw new TimeoutException($"{Binary} did not create {SocketPath} within 15 s: {Log}");
            Thread.Sleep(10);
        }
    }

    /// <summary>The daemon's process id.</summary>
    public int ProcessId => _process?.Id ?? 0;

    /// <summary>Whether the daemon still runs.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Kills the daemon with SIGKILL (a crash: no clean-up) and waits for it to be gone.</summary>
    public void Kill()
    {
        if (_process is not { HasExited: false } p) return;
        p.Kill();
        if (!p.WaitForExit(10_000)) throw new TimeoutException($"{Binary} survived SIGKILL for 10 s");
    }

    /// <summary>Starts the daemon again with the same arguments on the same socket path.</summary>
    public void Restart()
    {
        Kill();
        _process?.Dispose();
        Launch();
    }

    /// <summary>Stops the daemon (SIGTERM, SIGKILL after 5 s) and removes its directory.</summary>
    public void Dispose()
    {
        if (_process is { } p)
        {
            if (!p.HasExited)
            {
                Linux.ProcessSignal.Send(p.Id, Linux.ProcessSignal.Terminate);
            }
            if (!p.WaitForExit(5000)) p.Kill();
            p.WaitForExit(5000);
            p.Dispose();
        }
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
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
}
