using System.Diagnostics;
using Orion.Perf;

namespace Orion.Perf.Tests.Cli;

/// <summary>
/// fio's latency_target on real runs: the search's steps are in LatencyTargetSearchTests (run against a modelled device:
/// a real one's latency on a shared test machine is too noisy to place a depth); here what is robust to that noise.
/// </summary>
[NonParallelizable]
public class LatencyTargetCliTests
{
    [Test]
    [CancelAfter(90_000)]
    public void AnEasyTargetClimbsToIodepth()
    {
        var watch = Stopwatch.StartNew();
        // A target no I/O misses (10 s) and windows long enough that a stalled device thread still completes some I/O in each.
        var job = CliKit.Jobs("--rw=randread", "--iodepth=16", "--device=null:1G", "--runtime=60", "--time_based",
                              "--latency_target=10s", "--latency_window=200ms", "--latency_percentile=99")[0];
        Assert.That(job.GetProperty("latency_depth").GetInt32(), Is.EqualTo(16));
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(45)), "found (1, 2, 4, 8, 16, 16, then one last window) and ended");
        Assert.That(job.GetProperty("latency_target").GetInt64(), Is.EqualTo(10_000_000_000), "fio reports it in ns");
        Assert.That(job.GetProperty("latency_window").GetInt64(), Is.EqualTo(200_000), "and the window in us");
        Assert.That(job.GetProperty("latency_percentile").GetDouble(), Is.EqualTo(99));
        Assert.That(job.GetProperty("read").GetProperty("total_ios").GetInt64(), Is.GreaterThan(0), "the last window's I/Os");
        var plain = CliKit.Jobs("--rw=randread", "--iodepth=8", "--number_ios=10", "--device=null:16M")[0];
        Assert.That(plain.GetProperty("latency_depth").GetInt32(), Is.EqualTo(8), "without a target, iodepth");
        Assert.That(plain.GetProperty("latency_target").GetInt64(), Is.Zero);
    }

    [Test]
    [CancelAfter(60_000)]
    public void MissingTheTargetAtDepthOneEndsTheJobAsFiosMaxLatencyExceeded()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = PerfCommand.Run(["--rw=randread", "--device=null:16M,delay=200us", "--runtime=30", "--time_based",
                                    "--latency_target=10us", "--latency_window=1s", "--output-format=json"], stdout, stderr);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(stderr.ToString(), Does.Contain("max latency exceeded"));
    }
}
