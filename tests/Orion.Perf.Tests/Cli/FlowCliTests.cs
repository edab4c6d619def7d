using System.Diagnostics;
using Orion.Perf.Workload;

namespace Orion.Perf.Tests.Cli;

/// <summary>fio's flow control (<c>flow</c>, <c>flow_id</c>, <c>flow_sleep</c>): concurrent jobs keep the I/O ratio of their weights.</summary>
[NonParallelizable]
public class FlowCliTests
{
    private static long Total(System.Text.Json.JsonElement job) => CliKit.Ios(job, "read") + CliKit.Ios(job, "write");

    [Test]
    [CancelAfter(60_000)]
    public void TwoJobsKeepTheRatioOfTheirWeights()
    {
        // As fio's flow.fio: a writer of weight 1 and a random reader of weight 3 on one device. The jobs start and
        // stop a little apart, and each runs unheld for that moment: the ratio is fio's "roughly".
        var jobs = CliKit.Jobs("--device=null:1G", "--runtime=2", "--time_based", "--iodepth=4",
                               "--name=writer", "--rw=write", "--flow=1",
                               "--name=reader", "--rw=randread", "--flow=3");
        long writes = Total(jobs[0]), reads = Total(jobs[1]);
        Assert.That(writes, Is.GreaterThan(100));
        double ratio = (double)reads / writes;
        Assert.That(ratio, Is.InRange(2.5, 3.5), $"reads {reads}, writes {writes}: fio's 1:3");
    }

    [Test]
    [CancelAfter(60_000)]
    public void AJobThatEndedNoLongerHoldsTheOthersBack()
    {
        var watch = Stopwatch.StartNew();
        var jobs = CliKit.Jobs("--device=null:1G", "--rw=randread",
                               "--name=short", "--flow=1", "--number_ios=100",
                               "--name=long", "--flow=1", "--number_ios=5000");
        Assert.That(Total(jobs[1]), Is.EqualTo(5000), "fio's flow_put: the ended job's count and weight leave the group");
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(30)));
    }

    [TestCase("0")]
    [TestCase("50000")]
    [CancelAfter(60_000)]
    public void AHeldJobGoesAtItsPartnersPace(string flowSleep)
    {
        // 'paced' does 100 I/Os a second; 'held' (30 I/Os, 1:1) must wait for it, with or without flow_sleep's pauses:
        // about 300 ms where alone it would take a few.
        var jobs = CliKit.Jobs("--device=null:1G", "--rw=randread",
                               "--name=paced", "--flow=1", "--rate_iops=100", "--runtime=2", "--time_based",
                               "--name=held", "--flow=1", "--number_ios=30", $"--flow_sleep={flowSleep}");
        Assert.That(Total(jobs[1]), Is.EqualTo(30));
        Assert.That(jobs[1].GetProperty("job_runtime").GetInt64(), Is.GreaterThanOrEqualTo(250), "ms: held to 100 I/Os a second");
    }

    [Test]
    public void TheGroupCountsOnlyWhatItsMembersIssued()
    {
        var g = new FlowGroup();
        g.Join(1);
        g.Join(2);
        Assert.That(g.Exceeded(0, 1), Is.False);           // 0/1 <= 1/3: counted
        Assert.That(g.Exceeded(1, 1), Is.True);            // 1/2 > 1/3: held
        Assert.That(g.Exceeded(0, 2), Is.False);
        Assert.That(g.Exceeded(1, 2), Is.False);           // 1/3 <= 2/3
        Assert.That(g.Counter, Is.EqualTo(4));
        g.Leave(2, 2);
        Assert.That(g.Counter, Is.EqualTo(2));
        Assert.That(g.Exceeded(1, 1), Is.False, "alone in the group, never held");
    }

    [TestCase("--flow=1001", "--flow=1001: the weight must be from 0 (no flow control) to 1000")]
    [TestCase("--flow_id=-1", "--flow_id=-1: the id must not be negative")]
    public void BadFlowOptions(string arg, string message) =>
        Assert.That(Options.ParseKit.Error(arg), Does.Contain(message));
}
