using System.Diagnostics;
using Orion.Pmd.Engine;

namespace Orion.Pmd.Benchmarks;

/// <summary>
/// What a vhost-user back-end restart costs the engine: a QD1 closed loop of 4 KiB reads runs against the back-end;
/// the back-end is SIGKILLed and started again at once on the same socket; the engine holds the request the dead
/// back-end had, reconnects and resubmits it. Reported per run: the back-end's own start-up (kill to listening), the
/// engine's reconnect after that (listening to the first good completion: back-off step, handshake, resubmission),
/// and the whole gap (kill to first good completion). Back-ends: orion-vhost (null device) and, when installed,
/// qemu-storage-daemon (null-co). Threads unpinned. <c>backend-restart-cost [runs]</c>
/// </summary>
internal static class BackendRestartProbe
{
    public static int Run(string[] args)
    {
        int runs = args.Length > 1 && int.TryParse(args[1], out int r) ? r : 5;
        Console.WriteLine("| back-end | runs | back-end start-up, median (ms) | engine reconnect after it, median (ms) | max (ms) | kill → first good completion, median (ms) | max (ms) |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        var vhost = FindOrionVhost();
        if (vhost is null) Console.Error.WriteLine("orion-vhost is not built (tools/Orion.Vhost/bin/Release/net10.0/orion-vhost.dll): build Orion.Pmd.sln first");
        else Measure("orion-vhost (null:64M)", runs, socket => Launch("dotnet", [vhost, "--socket", socket, "--device", "null:64M"], socket, $"listening on {socket}"));
        if (FindOnPath("qemu-storage-daemon") is { } qsd)
            Measure("qemu-storage-daemon (null-co)", runs, socket => Launch(qsd,
                ["--blockdev", "driver=null-co,node-name=n0,size=67108864",
                 "--export", $"type=vhost-user-blk,id=e0,node-name=n0,addr.type=unix,addr.path={socket},writable=on"], socket, ready: null));
        else Console.Error.WriteLine("qemu-storage-daemon is not installed: its row is left out");
        return 0;
    }

    private static void Measure(string name, int runs, Func<string, Process> start)
    {
        var dir = Directory.CreateTempSubdirectory("orion-restart-").FullName;
        string socket = Path.Combine(dir, "vu.sock");
        var startup = new List<double>();
        var reconnect = new List<double>();
        var gap = new List<double>();
        var backEnd = start(socket);
        try
        {
            using var engine = PmdEngine.Start(new EngineOptions { Device = $"vhost-user:{socket}", BufferMemoryBytes = 8 << 20, Pin = false });
            var dev = engine.Device;
            using var buf = dev.Rent(4096);
            long lastGood = 0;
            using var stop = new CancellationTokenSource();
            var loop = Task.Run(async () =>
            {
                for (long i = 0; !stop.IsCancellationRequested; i++)
                {
                    await dev.ReadAsync(i % 1000 * 8, buf.Memory);
                    Volatile.Write(ref lastGood, Stopwatch.GetTimestamp());
                }
            });
            for (int run = 0; run < runs; run++)
            {
                Thread.Sleep(500);                                   // steady state
                long killed = Stopwatch.GetTimestamp();
                backEnd.Kill();
                backEnd.WaitForExit();
                backEnd.Dispose();
                backEnd = start(socket);
                long listening = Stopwatch.GetTimestamp();
                int before = engine.Reconnects;
                var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
                while (engine.Reconnects == before || Volatile.Read(ref lastGood) < listening)
                {
                    if (DateTime.UtcNow > deadline || loop.IsFaulted) throw new TimeoutException($"{name}: no good completion within 30 s of the restart", loop.Exception);
                    Thread.Sleep(1);
                }
                long first = Volatile.Read(ref lastGood);
                startup.Add(Ms(listening - killed));
                reconnect.Add(Ms(first - listening));
                gap.Add(Ms(first - killed));
            }
            stop.Cancel();
            loop.Wait(TimeSpan.FromSeconds(30));
        }
        finally
        {
            if (!backEnd.HasExited) backEnd.Kill();
            backEnd.WaitForExit();
            backEnd.Dispose();
            Directory.Delete(dir, recursive: true);
        }
        Console.WriteLine($"| {name} | {runs} | {Median(startup):0.0} | {Median(reconnect):0.0} | {reconnect.Max():0.0} | {Median(gap):0.0} | {gap.Max():0.0} |");
    }

    /// <summary>Starts a back-end on <paramref name="socket"/> and returns once it accepts: it printed <paramref name="ready"/>, or (null) the socket exists.</summary>
    private static Process Launch(string file, string[] arguments, string socket, string? ready)
    {
        if (File.Exists(socket) && ready is null) File.Delete(socket);      // qemu-storage-daemon will not replace a stale one
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        p.OutputDataReceived += (_, e) => { if (ready is not null && e.Data?.Contains(ready, StringComparison.Ordinal) == true) up.TrySetResult(); };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (ready is not null ? !up.Task.IsCompleted : !File.Exists(socket))
        {
            if (p.HasExited) throw new InvalidOperationException($"{file} exited with {p.ExitCode} before it listened");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{file} did not listen on {socket} within 30 s");
            Thread.Sleep(1);
        }
        return p;
    }

    private static string? FindOrionVhost()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var dll = Path.Combine(d.FullName, "tools", "Orion.Vhost", "bin", "Release", "net10.0", "orion-vhost.dll");
            if (File.Exists(Path.Combine(d.FullName, "Orion.Pmd.sln"))) return File.Exists(dll) ? dll : null;
        }
        return null;
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);

    private static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    private static double Median(List<double> values)
    {
        var s = values.OrderBy(v => v).ToArray();
        return s.Length == 0 ? double.NaN : s[s.Length / 2];
    }
}
