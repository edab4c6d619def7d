using System.Diagnostics;
using Orion.Pmd.Linux;

namespace Orion.Vhost.Tests;

/// <summary>
/// orion-vhost as a service: started the way the shipped systemd unit starts it (a configuration file, stderr read by
/// the journal), SIGHUP ignored, SIGTERM a clean exit 0; and the unit itself checked by systemd-analyze where it exists.
/// </summary>
[NonParallelizable]
public class ServiceTests
{
    private const int HangUp = 1;

    [Test]
    [CancelAfter(120_000)]
    public void StartsFromItsConfigFileLogsLevelsIgnoresSighupAndStopsOnSigterm()
    {
        using var vhost = VhostProcess.Start([], socketFromConfig: true, configLines: ["device = mem:16M", "queues = 2", "mode = kick"],
                                             environment: new Dictionary<string, string> { ["JOURNAL_STREAM"] = "8:4242" });
        Assert.That(vhost.Stdout, Does.Contain($"listening on {vhost.SocketPath}"));
        Assert.That(vhost.Stderr, Does.Contain("<6>orion-vhost: serving RAM disk, 16 MiB").And.Contain("2 queue(s)").And.Contain("kick-driven"));

        ProcessSignal.Send(vhost.Process.Id, HangUp);
        // Started under nohup (a CI runner in the background), SIGHUP is ignored before orion-vhost runs and never
        // reaches it: nothing to log then, but the service must still live on.
        if (!VhostProcess.SignalIgnoredHere(HangUp))
        {
            var deadline = Stopwatch.StartNew();
            while (!vhost.Stderr.Contains("SIGHUP ignored", StringComparison.Ordinal) && deadline.Elapsed < TimeSpan.FromSeconds(20)) Thread.Sleep(20);
            Assert.That(vhost.Stderr, Does.Contain("<6>orion-vhost: SIGHUP ignored"));
        }
        else Thread.Sleep(500);
        Assert.That(vhost.Process.HasExited, Is.False, "SIGHUP must not end the service");
        using (UnixSocket.Connect(vhost.SocketPath)) { }                 // still serving

        Assert.That(vhost.Signal(ProcessSignal.Terminate), Is.Zero, vhost.Stderr);
        Assert.That(File.Exists(vhost.SocketPath), Is.False, "the socket file is removed");
        Assert.That(vhost.Stderr, Does.Contain("<6>orion-vhost: stopped"));
    }

    [Test]
    [CancelAfter(60_000)]
    public void ABadConfigFileExitsTwoNamingTheLine()
    {
        using var vhost = VhostProcess.Start([], waitReady: false, socketFromConfig: true, configLines: ["device = mem:16M", "queue = 2"]);
        Assert.That(vhost.WaitForExit(), Is.EqualTo(2));
        Assert.That(vhost.Stderr, Does.Contain("orion-vhost.conf line 3: unknown option 'queue'"));
    }

    [Test]
    [CancelAfter(120_000)]
    public void ServesTheSocketSystemdPassesAndLeavesItsFile()
    {
        // systemd-socket-activate (Debian's systemd) is what systemd does for a .socket unit: it listens, and on the first
        // connection execs the service with the socket as descriptor 3, LISTEN_FDS=1 and LISTEN_PID.
        const string activate = "/usr/bin/systemd-socket-activate";
        if (!File.Exists(activate)) Assert.Ignore($"{activate} is not installed (Debian: systemd); socket activation is not checked here");
        using var vhost = VhostProcess.Start([], waitReady: false, socketFromConfig: true, configLines: ["device = mem:16M", "queues = 3"],
                                             launcher: socket => [activate, "--listen=" + socket]);
        var deadline = Stopwatch.StartNew();
        while (!File.Exists(vhost.SocketPath))
        {
            Assert.That(deadline.Elapsed, Is.LessThan(TimeSpan.FromSeconds(30)), () => $"systemd-socket-activate made no socket: {vhost.Stderr}");
            Thread.Sleep(20);
        }
        // The front-end connects before orion-vhost runs: the connection waits in the backlog, then is served.
        using (var socket = UnixSocket.Connect(vhost.SocketPath))
        {
            Assert.That(vhost.WaitListening(TimeSpan.FromSeconds(60)), Is.True, () => $"orion-vhost did not start: {vhost.Stderr}");
            var header = new byte[Pmd.Virtio.VhostUser.VhostUserHeader.Size];
            Pmd.Virtio.VhostUser.VhostUserHeader.ForRequest(Pmd.Virtio.VhostUser.VhostUserRequest.GetQueueNum, 0).Write(header);
            socket.Send(header);
            Assert.That(socket.WaitReadable(30_000), Is.True, "a reply to GET_QUEUE_NUM");
            var reply = new byte[header.Length + 8];
            Assert.That(socket.ReceiveExact(reply, Span<int>.Empty, out _), Is.True);
            Assert.That(BitConverter.ToUInt64(reply, header.Length), Is.EqualTo(3UL), "queues = 3 from the configuration file");
        }
        Assert.That(vhost.Stderr, Does.Contain("on the socket systemd passed (socket activation)"));
        Assert.That(vhost.Signal(ProcessSignal.Terminate), Is.Zero, vhost.Stderr);
        Assert.That(File.Exists(vhost.SocketPath), Is.True, "the socket belongs to systemd: orion-vhost leaves it");
    }

    [Test]
    [CancelAfter(60_000)]
    public void AnActivationWithTwoSocketsIsRefused()
    {
        Assert.That(SocketActivation.TryTake(name => name switch { "LISTEN_FDS" => "2", "LISTEN_PID" => "42", _ => null }, 42, "/run/x.sock",
                                             out var listener, out string error), Is.False);
        Assert.That((listener, error), Is.EqualTo(((Orion.Pmd.Linux.UnixSocket?)null,
            "systemd passed LISTEN_FDS=2 sockets; orion-vhost serves one: give its .socket unit a single ListenStream=/run/x.sock")));
        // Variables meant for another process (a parent that was activated) are not ours.
        Assert.That(SocketActivation.TryTake(name => name switch { "LISTEN_FDS" => "1", "LISTEN_PID" => "41", _ => null }, 42, "/run/x.sock",
                                             out listener, out error), Is.True);
        Assert.That(listener, Is.Null);
    }

    [Test]
    [CancelAfter(120_000)]
    public void TheSystemdUnitVerifies()
    {
        string? analyze = new[] { "/usr/bin/systemd-analyze", "/bin/systemd-analyze" }.FirstOrDefault(File.Exists);
        if (analyze is null) Assert.Ignore("systemd-analyze is not installed (Debian: systemd); the unit is not checked here");
        // The unit names the installed binary; point it at one that exists here, as systemd-analyze checks ExecStart.
        string unit = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "systemd", "orion-vhost.service"));
        Assert.That(unit, Does.Contain("ExecStart=/usr/local/bin/orion-vhost --config /etc/orion-vhost/orion-vhost.conf"));
        string dir = Directory.CreateTempSubdirectory("orion-unit-").FullName;
        try
        {
            string path = Path.Combine(dir, "orion-vhost.service"), socketUnit = Path.Combine(dir, "orion-vhost.socket");
            File.WriteAllText(path, unit.Replace("/usr/local/bin/orion-vhost", "/bin/true", StringComparison.Ordinal));
            File.Copy(Path.Combine(AppContext.BaseDirectory, "systemd", "orion-vhost.socket"), socketUnit);
            var psi = new ProcessStartInfo(analyze) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "verify", "--man=no", socketUnit, path }) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEndAsync();
            if (!p.WaitForExit(60_000)) { p.Kill(); Assert.Fail("systemd-analyze verify did not finish within 60 s"); }
            p.WaitForExit();
            string output = stdout.Result + stderr.Result;
            Assert.That(p.ExitCode, Is.Zero, output);
            // verify exits 0 on an unknown key or a bad value too, and only says so: nothing may be said about our unit.
            Assert.That(output, Does.Not.Contain("orion-vhost.service").And.Not.Contain("orion-vhost.socket"), output);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
