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
        var deadline = Stopwatch.StartNew();
        while (!vhost.Stderr.Contains("SIGHUP ignored", StringComparison.Ordinal) && deadline.Elapsed < TimeSpan.FromSeconds(20)) Thread.Sleep(20);
        Assert.That(vhost.Stderr, Does.Contain("<6>orion-vhost: SIGHUP ignored"));
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
            string path = Path.Combine(dir, "orion-vhost.service");
            File.WriteAllText(path, unit.Replace("/usr/local/bin/orion-vhost", "/bin/true", StringComparison.Ordinal));
            var psi = new ProcessStartInfo(analyze) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "verify", "--man=no", path }) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEndAsync();
            if (!p.WaitForExit(60_000)) { p.Kill(); Assert.Fail("systemd-analyze verify did not finish within 60 s"); }
            p.WaitForExit();
            string output = stdout.Result + stderr.Result;
            Assert.That(p.ExitCode, Is.Zero, output);
            // verify exits 0 on an unknown key or a bad value too, and only says so: nothing may be said about our unit.
            Assert.That(output, Does.Not.Contain("orion-vhost.service"), output);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
