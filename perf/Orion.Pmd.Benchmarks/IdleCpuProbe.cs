using System.Diagnostics;
using Orion.Pmd.Engine;
using Orion.Pmd.Linux;

namespace Orion.Pmd.Benchmarks;

/// <summary>
/// How much CPU an idle engine burns in each notification mode: start an engine, do a little I/O, then sit idle
/// and read the process's CPU time over the idle window. Run:
/// <c>dotnet perf/Orion.Pmd.Benchmarks/bin/Release/net10.0/Orion.Pmd.Benchmarks.dll idle-cpu [seconds]</c>.
/// </summary>
internal static class IdleCpuProbe
{
    public static int Run(string[] args)
    {
        double seconds = args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 3;
        Console.WriteLine($"| mode | idle CPU (% of one core) over {seconds} s | reactor parks | pinned |");
        Console.WriteLine("|---|---:|---:|---|");
        foreach (var mode in Enum.GetValues<NotificationMode>())
        {
            using var engine = PmdEngine.Start(new EngineOptions { Device = "null:64M", Notifications = mode, BufferMemoryBytes = 8 << 20 });
            using var buffer = engine.Device.Rent(4096);
            for (int i = 0; i < 1000; i++) engine.Device.ReadAsync(i * 8, buffer.Memory).AsTask().GetAwaiter().GetResult();
            Thread.Sleep(200);                              // let adaptive budgets expire
            var before = ResourceUsage.Process();
            var parksBefore = engine.Reactors[0].GetStats();
            var t0 = Stopwatch.GetTimestamp();
            Thread.Sleep(TimeSpan.FromSeconds(seconds));
            var cpu = ResourceUsage.Process() - before;
            var wall = Stopwatch.GetElapsedTime(t0);
            var parks = engine.Reactors[0].GetStats() - parksBefore;
            Console.WriteLine($"| {mode} | {cpu.Total.TotalSeconds / wall.TotalSeconds * 100:F1} | {parks.Parks} | {engine.Pinned} |");
        }
        return 0;
    }
}
