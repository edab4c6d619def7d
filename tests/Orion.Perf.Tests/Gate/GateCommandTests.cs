using Orion.Perf;
using Orion.Perf.Gate;

namespace Orion.Perf.Tests.Gate;

/// <summary>
/// <c>orion-perf gate</c> end to end: real engine, short interleaved rounds. The tolerances are the CI gate's (wide):
/// identical workloads must pass on a noisy machine, and a device slowed far beyond tenfold must still fail.
/// </summary>
[NonParallelizable]
public class GateCommandTests
{
    private const string Fast = "--rw=randread --bs=4k --iodepth=1 --runtime=300ms --time_based --device=null:64M";
    private const string CiTolerance = "iops=70,p50=300,p99=1000";

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = PerfCommand.Run(["gate", .. args], stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Test]
    [CancelAfter(60_000)]
    public void IdenticalWorkloadsPass()
    {
        var (code, output, err) = Run("--rounds", "2", "--reference", Fast, "--candidate", Fast, "--tolerance", CiTolerance);
        Assert.That(code, Is.Zero, output + err);
        Assert.That(output, Does.Contain("round 1:").And.Contain("round 2:").And.Not.Contain("round 3:"));
        Assert.That(output, Does.Contain("read iops").And.Contain("read p50").And.Contain("PASS"));
    }

    [Test]
    [CancelAfter(60_000)]
    public void ACandidateOnASlowedDeviceFails()
    {
        // A null device answers a QD1 read in about a microsecond; 50 us injected per request is well over 10x slower.
        var (code, output, err) = Run("--rounds=2", $"--reference={Fast}", $"--candidate={Fast.Replace("null:64M", "null:64M,delay=50us")}",
                                      $"--tolerance={CiTolerance}");
        Assert.That(code, Is.EqualTo(3), output + err);
        Assert.That(output.Split('\n').Single(l => l.StartsWith("read iops ", StringComparison.Ordinal)), Does.EndWith("REGRESSED"));
        Assert.That(output, Does.Contain("FAIL"));
    }

    [TestCase("--rounds", "0", "--rounds '0'")]
    [TestCase("--reference", "--iodepht=4", "--reference: ")]
    [TestCase("--candidate", "--rw=randread --device=disk:1G", "--candidate: ")]
    [TestCase("--candidate", "--rw=\"randread", "unbalanced quotes")]
    [TestCase("--tolerance", "p42=3", "METRIC=PERCENT")]
    [TestCase("--warp", "9", "unknown argument '--warp'")]
    public void BadInputExitsTwoBeforeRunning(string option, string value, string fragment)
    {
        var (code, output, err) = Run(option, value);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain(fragment));
        Assert.That(output, Does.Not.Contain("round 1"), "nothing ran");
    }

    [Test]
    public void MediansArePerMetricAndSamplesTheFewest()
    {
        var runs = new[] { (1.0, 10.0, 100.0, 7L), (3.0, 30.0, 50.0, 5L), (2.0, 20.0, 300.0, 9L) }
            .Select(x => new Dictionary<string, DirectionMetrics> { ["read"] = new(x.Item1, x.Item2, x.Item3, 0, x.Item4) })
            .ToList();
        var m = GateCommand.Medians(runs)["read"];
        Assert.That((m.Iops, m.P50Ns, m.P99Ns, m.Samples), Is.EqualTo((2.0, 20.0, 100.0, 5L)));
        Assert.That(GateCommand.Median([4, 1]), Is.EqualTo(2.5));
    }

    [Test]
    public void WorkloadArgumentsSplitLikeAShell()
    {
        Assert.That(GateCommand.TrySplit("  --rw=read  --name='a b' \"--bs=4k\"", out var args), Is.True);
        Assert.That(args, Is.EqualTo(new[] { "--rw=read", "--name=a b", "--bs=4k" }));
    }
}
