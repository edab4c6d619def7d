using System.Diagnostics;
using System.Text.Json;

namespace Orion.Perf.Tests.Cli;

/// <summary>fio's steadystate on real runs: the job ends once the criterion holds over the window, and reports fio's JSON section.</summary>
[NonParallelizable]
public class SteadyStateCliTests
{
    [Test]
    [CancelAfter(60_000)]
    public void ASteadyJobEndsEarlyAndReportsFiosSection()
    {
        // 400 I/Os a second in 250 ms samples (about 100 each): within 30 % of the mean once the 1 s window is full.
        var watch = Stopwatch.StartNew();
        var job = CliKit.Jobs("--rw=randread", "--rate_iops=400", "--runtime=30", "--time_based", "--device=null:16M",
                              "--ss=iops:30%", "--ss_dur=1", "--ss_interval=250ms")[0];
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(20)), "steady state ended the 30 s job");
        Assert.That(job.GetProperty("job_runtime").GetInt64(), Is.LessThan(20_000));
        var ss = job.GetProperty("steadystate");
        Assert.That(ss.GetProperty("ss").GetString(), Is.EqualTo("iops:30.000000%"));
        Assert.That(ss.GetProperty("duration").GetInt32(), Is.EqualTo(1));
        Assert.That(ss.GetProperty("attained").GetInt32(), Is.EqualTo(1));
        Assert.That(ss.GetProperty("criterion").GetString(), Does.EndWith("%"));
        double criterion = double.Parse(ss.GetProperty("criterion").GetString()!.TrimEnd('%'), System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(criterion, Is.LessThan(30));
        var data = ss.GetProperty("data");
        Assert.That(data.GetProperty("iops").GetArrayLength(), Is.EqualTo(4));
        Assert.That(data.GetProperty("bw").GetArrayLength(), Is.EqualTo(4));
        Assert.That(data.GetProperty("iops_mean").GetInt64(), Is.InRange(250, 550));
        Assert.That(data.GetProperty("bw_mean").GetInt64(), Is.EqualTo(data.GetProperty("iops_mean").GetInt64() * 4096).Within(4096 * 4));
        Assert.That(ss.TryGetProperty("max_deviation", out _) && ss.TryGetProperty("slope", out _), Is.True);
    }

    [Test]
    [CancelAfter(60_000)]
    public void AJobThatNeverSettlesRunsItsFullTime()
    {
        var job = CliKit.Jobs("--rw=randread", "--runtime=2", "--time_based", "--device=null:16M",
                              "--ss=iops:0%", "--ss_dur=1", "--ss_interval=250ms")[0];
        Assert.That(job.GetProperty("job_runtime").GetInt64(), Is.GreaterThanOrEqualTo(1900));
        Assert.That(job.GetProperty("steadystate").GetProperty("attained").GetInt32(), Is.Zero);
    }

    [Test]
    [CancelAfter(60_000)]
    public void WithoutSsDurThereIsNoDetectionAsInFio()
    {
        var job = CliKit.Jobs("--rw=randread", "--number_ios=100", "--device=null:16M", "--ss=iops:50%")[0];
        Assert.That(job.TryGetProperty("steadystate", out _), Is.False);
    }
}
