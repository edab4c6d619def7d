using Orion.Perf.Workload;
using Step = Orion.Perf.Workload.LatencyTargetSearch.Step;

namespace Orion.Perf.Tests.Workload;

/// <summary>fio's latency_target search (io_u.c) against a device whose latency is depth x 100 (ticks).</summary>
public class LatencyTargetSearchTests
{
    /// <summary>Runs windows of 50 completions each at the search's depth; returns the depths tried and the final step.</summary>
    private static (List<int> Depths, Step Last, int Windows) Run(LatencyTargetSearch s, Func<int, int, long> latency, int maxWindows = 200)
    {
        var depths = new List<int>();
        long now = 0;
        s.Start(now);
        for (int w = 0; w < maxWindows; w++)
        {
            depths.Add(s.Depth);
            for (int i = 0; i < 50; i++)
                if (s.Completed(latency(s.Depth, i), ++now) == Step.Fatal) return (depths, Step.Fatal, w);
            now += 1000;
            var step = s.Check(now);
            if (step == Step.Done) return (depths, step, w);
        }
        return (depths, Step.None, maxWindows);
    }

    [Test]
    public void DoublesThenBisectsToTheDeepestDepthThatMeetsTheTarget()
    {
        // Latency d x 100 meets a target of 2000 up to depth 20.
        var s = new LatencyTargetSearch(ioDepth: 64, targetTicks: 2000, windowTicks: 1000, percentile: 100, run: false);
        var (depths, last, _) = Run(s, (d, _) => d * 100L);
        Assert.That(last, Is.EqualTo(Step.Done), "found, one last window run there, ended");
        Assert.That(depths.Take(6), Is.EqualTo(new[] { 1, 2, 4, 8, 16, 32 }), "fio doubles until the first failure");
        Assert.That(s.Depth, Is.EqualTo(20));
        Assert.That(depths.Max(), Is.LessThanOrEqualTo(32));
    }

    [Test]
    public void APercentileLetsSomeLateIosThrough()
    {
        // One I/O in 50 (2 %) is always late: at 100 % the search could never rise; at 95 % it reaches iodepth.
        var strict = new LatencyTargetSearch(16, 2000, 1000, 100, false);
        var (_, strictLast, _) = Run(strict, (d, i) => i == 0 ? 10_000 : 10);
        Assert.That(strictLast, Is.EqualTo(Step.Fatal), "a late I/O at depth 1 is fio's max latency exceeded");
        var loose = new LatencyTargetSearch(16, 2000, 1000, 95, false);
        var (_, looseLast, _) = Run(loose, (d, i) => i == 0 ? 10_000 : 10);
        Assert.That(looseLast, Is.EqualTo(Step.Done));
        Assert.That(loose.Depth, Is.EqualTo(16));
    }

    [Test]
    public void LatencyRunKeepsSearching()
    {
        var s = new LatencyTargetSearch(64, 2000, 1000, 100, run: true);
        var (depths, last, windows) = Run(s, (d, _) => d * 100L, maxWindows: 60);
        Assert.That(last, Is.EqualTo(Step.None));
        Assert.That(windows, Is.EqualTo(60));
        Assert.That(depths.Skip(30), Is.All.InRange(18, 22), "it keeps hovering around the depth that meets the target");
    }

    [Test]
    public void ADepthChangeQuiescesFirst()
    {
        var s = new LatencyTargetSearch(8, 2000, 1000, 100, false);
        s.Start(0);
        s.Completed(10, 1);
        Assert.That(s.Check(1000), Is.EqualTo(Step.None));
        Assert.That((s.Depth, s.Quiesce), Is.EqualTo((2, false)), "raising the depth needs no quiesce");
        s.Completed(5000, 1001);
        Assert.That((s.Depth, s.Quiesce), Is.EqualTo((1, true)), "a late I/O lowers it at once and quiesces, as fio");
    }
}
