using System.Diagnostics;
using Orion.Pmd.Engine;
using Orion.Pmd.Engine.Requests;

namespace Orion.Pmd.Benchmarks;

/// <summary>
/// What recovery costs, as the issue asks: the time from a fault to the first good completion after it. A QD1
/// closed loop of 4 KiB reads runs on the embedded null device; the device injects one fault at a fixed request
/// (a garbage used element → the engine resets the queue and places the request again; a dropped completion →
/// the request times out, the queue is reset and the request retried; NEEDS_RESET → the engine resets the whole
/// device, which the status check notices within a few polls, and places the request again). The gap is the longest interval between
/// two successive good completions around the fault, against the loop's median interval. Threads are unpinned.
/// <c>recovery-cost [runs]</c>
/// </summary>
internal static class RecoveryCostProbe
{
    public static int Run(string[] args)
    {
        int runs = args.Length > 1 && int.TryParse(args[1], out int r) ? r : 5;
        Console.WriteLine("| fault | recovery | runs | median gap (µs) | max gap (µs) | median normal interval (µs) |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|");
        Measure("garbage used id (id-range)", "queue reset + resubmit", "garbage=id-range:at=20000", TimeSpan.FromSeconds(30), runs);
        Measure("garbage used length", "queue reset + resubmit", "garbage=length:at=20000", TimeSpan.FromSeconds(30), runs);
        Measure("dropped completion", "10 ms timeout + queue reset + retry", "drop:at=20000", TimeSpan.FromMilliseconds(10), runs);
        Measure("device sets NEEDS_RESET", "device reset (escalation) + resubmit", "needs-reset:at=20000", TimeSpan.FromSeconds(30), runs, deviceReset: true);
        return 0;
    }

    private static void Measure(string fault, string recovery, string plan, TimeSpan timeout, int runs, bool deviceReset = false)
    {
        var gaps = new List<double>();
        var normals = new List<double>();
        for (int run = 0; run < runs; run++)
        {
            using var engine = PmdEngine.Start(new EngineOptions
            {
                Device = $"null:64M,fault={plan}",
                QueueSize = 64,
                BufferMemoryBytes = 8 << 20,
                // Unpinned: the caller's continuations need a core too (two pinned spinners would starve them on 2 vCPUs).
                Pin = false,
                RequestTimeout = timeout,
                TimeoutPolicy = TimeoutPolicy.RetryOnce,
            });
            var dev = engine.Device;
            using var buf = dev.Rent(4096);
            var intervals = new List<long>(40_000);
            long last = Stopwatch.GetTimestamp();
            Task.Run(async () =>
            {
                for (int i = 0; i < 40_000; i++)
                {
                    await dev.ReadAsync(i % 1000 * 8, buf.Memory);
                    long now = Stopwatch.GetTimestamp();
                    intervals.Add(now - last);
                    last = now;
                }
            }).GetAwaiter().GetResult();
            var c = dev.GetQueue(0).Counters;
            if (deviceReset ? engine.DeviceResets != 1 || c.QueueResets != 0 : c.QueueResets != 1)
                throw new InvalidOperationException($"{fault}: expected one {(deviceReset ? "device" : "queue")} reset, saw {c.QueueResets} queue and {engine.DeviceResets} device resets");
            var sorted = intervals.OrderBy(x => x).ToArray();
            gaps.Add(sorted[^1] * 1e6 / Stopwatch.Frequency);
            normals.Add(sorted[sorted.Length / 2] * 1e6 / Stopwatch.Frequency);
        }
        gaps.Sort();
        normals.Sort();
        Console.WriteLine($"| {fault} | {recovery} | {runs} | {gaps[gaps.Count / 2]:F1} | {gaps[^1]:F1} | {normals[normals.Count / 2]:F2} |");
    }
}
