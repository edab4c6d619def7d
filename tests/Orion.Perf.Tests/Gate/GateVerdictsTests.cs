using Orion.Perf.Gate;

namespace Orion.Perf.Tests.Gate;

/// <summary>The statistics behind the verdicts, on synthetic sample sets.</summary>
public class GateVerdictsTests
{
    private static readonly MetricSpec Iops = GateCatalog.Find("iops")!;
    private static readonly MetricSpec P50 = GateCatalog.Find("p50")!;
    private static readonly MetricSpec P99 = GateCatalog.Find("p99")!;
    private static readonly MetricSpec Kicks = GateCatalog.Find("kicks")!;

    private static List<RoundSample> Rounds(string key, params double[] values) =>
        values.Select(v => new RoundSample(new Dictionary<string, double> { [key] = v }, new Dictionary<string, long> { ["read"] = 1000 })).ToList();

    private static MetricResult Judge(MetricSpec spec, double[] baseline, double[] candidate, bool paired = true, double tolerance = 5)
    {
        string key = RoundSample.Key(spec, spec.PerDirection ? "read" : null);
        return GateVerdicts.Judge(spec, spec.PerDirection ? "read" : null, Rounds(key, baseline), Rounds(key, candidate), paired, tolerance, 0.95, seed: 1);
    }

    [Test]
    public void ChangesWellInsideTheToleranceOnEveryRoundPass()
    {
        var r = Judge(Iops, [1000, 1020, 980, 1010, 990], [1005, 1015, 985, 1000, 995]);
        Assert.That(r.Verdict, Is.EqualTo(Verdict.Pass));
        Assert.That(r.Change!.Value.Low, Is.GreaterThan(0.95));
    }

    [Test]
    public void ADropBeyondTheToleranceOnEveryRoundRegresses()
    {
        var r = Judge(Iops, [1000, 1020, 980, 1010, 990], [900, 920, 880, 905, 890]);
        Assert.That(r.Verdict, Is.EqualTo(Verdict.Regressed));
        Assert.That(r.Change!.Value.High, Is.LessThan(0.95));
    }

    [Test]
    public void AnIntervalAcrossTheToleranceIsUndecided()
    {
        var r = Judge(P50, [100, 100, 100, 100, 100], [100, 112, 100, 112, 100]);
        Assert.That(r.Verdict, Is.EqualTo(Verdict.Undecided));
        Assert.That(r.Change!.Value.Low, Is.LessThan(1.05));
        Assert.That(r.Change!.Value.High, Is.GreaterThan(1.05));
    }

    [Test]
    public void HigherIsWorseForLatencyAndLowerForIops()
    {
        Assert.That(Judge(P50, [100, 100, 100, 100, 100], [80, 80, 81, 80, 79]).Verdict, Is.EqualTo(Verdict.Pass), "a faster p50 is no regression");
        Assert.That(Judge(Iops, [100, 100, 100, 100, 100], [130, 131, 130, 129, 130]).Verdict, Is.EqualTo(Verdict.Pass), "more IOPS is no regression");
        Assert.That(Judge(P50, [100, 100, 100, 100, 100], [130, 131, 130, 129, 130]).Verdict, Is.EqualTo(Verdict.Regressed));
    }

    [Test]
    public void CountedMetricsJudgeTheDifferenceSoABaselineOfZeroWorks()
    {
        var r = Judge(Kicks, [0, 0, 0, 0, 0], [0.125, 0.125, 0.125, 0.125, 0.125], tolerance: 0.01);
        Assert.That(r.Verdict, Is.EqualTo(Verdict.Regressed));
        Assert.That(r.Change!.Value.Point, Is.EqualTo(0.125).Within(1e-12));
        Assert.That(r.Detectable, Is.EqualTo(0), "exact counts leave no noise");
        Assert.That(Judge(Kicks, [0, 0, 0, 0, 0], [0.005, 0.004, 0.006, 0.005, 0.005], tolerance: 0.01).Verdict, Is.EqualTo(Verdict.Pass));
    }

    [Test]
    public void PairedRoundsCancelAMachineThatDrifts()
    {
        // The machine doubles its speed across the rounds; the candidate is 10 % slower in every one of them.
        double[] b = [100, 200, 300, 400, 500], c = [110, 220, 330, 440, 550];
        var paired = Judge(P50, b, c, paired: true);
        Assert.That(paired.Change!.Value.Low, Is.EqualTo(1.1).Within(1e-9));
        Assert.That(paired.Change!.Value.High, Is.EqualTo(1.1).Within(1e-9));
        Assert.That(paired.Verdict, Is.EqualTo(Verdict.Regressed));
        Assert.That(Judge(P50, b, c, paired: false).Verdict, Is.EqualTo(Verdict.Undecided), "unpaired, the drift swamps the change");
    }

    [Test]
    public void TheBootstrapIsDeterministicForASeed()
    {
        double[] b = [100, 104, 97, 101, 99, 103], c = [102, 109, 99, 100, 104, 101];
        var first = GateStatistics.Interval(b, c, paired: true, ChangeScale.Relative, 0.95, seed: 42);
        var again = GateStatistics.Interval(b, c, paired: true, ChangeScale.Relative, 0.95, seed: 42);
        Assert.That(again, Is.EqualTo(first));
        Assert.That(first.Low, Is.LessThan(first.Point).And.LessThan(first.High));
        var wider = GateStatistics.Interval(b, c, paired: true, ChangeScale.Relative, 0.999, seed: 42);
        Assert.That(wider.High - wider.Low, Is.GreaterThan(first.High - first.Low));
    }

    [Test]
    public void OneStalledRoundDoesNotDecideTheChange()
    {
        // Ten rounds with no change, one of which the machine stalled for (1 % of the usual IOPS on the candidate side).
        double[] b = [1000, 1010, 990, 1005, 995, 1000, 1010, 990, 1005, 995];
        double[] c = [1000, 1010, 990, 1005, 995, 10, 1010, 990, 1005, 995];
        Assert.That(Judge(Iops, b, c).Verdict, Is.EqualTo(Verdict.Pass));
        Assert.That(GateStatistics.Median([1, 2, 3, 4, 100]), Is.EqualTo(3));
        Assert.That(GateStatistics.Median([4, 1, 100, 2]), Is.EqualTo(3));
    }

    [Test]
    public void OneRoundIsNeverAVerdict()
    {
        var r = Judge(Iops, [1000], [500]);
        Assert.That(r.Verdict, Is.EqualTo(Verdict.Undecided));
        Assert.That(r.Reason, Does.Contain("needs 5 rounds"));
    }

    [Test]
    public void MissingFiguresAndThinPercentilesAreNotJudged()
    {
        var withP99 = Judge(P99, [100, 100, 100, 100, 100], [500, 500, 500, 500, 500]);
        Assert.That(withP99.Verdict, Is.EqualTo(Verdict.NotJudged), "1,000 samples cannot carry a p99");
        Assert.That(withP99.Reason, Does.Contain("too few samples"));

        var baseline = Rounds("read iops", 100, 100, 100, 100, 100);
        var candidate = Rounds("alloc", 30, 30, 30, 30, 30).Select(r => r with { Values = new Dictionary<string, double>(r.Values) { ["read iops"] = 100 } }).ToList();
        var results = GateVerdicts.JudgeAll(baseline, candidate, paired: true, new GateLimits(), 0.95, 1);
        var alloc = results.Single(r => r.Name == "alloc");
        Assert.That(alloc.Verdict, Is.EqualTo(Verdict.NotJudged));
        Assert.That(alloc.Reason, Does.Contain("the baseline does not report it"));
        Assert.That(GateVerdicts.Overall(results, null), Is.EqualTo(GateOutcome.Pass));
    }

    [Test]
    public void TheOutcomePrecedenceNeverPassesAFailureOrNothing()
    {
        var pass = Judge(Iops, [100, 100, 100, 100, 100], [100, 100, 100, 100, 100]);
        var undecided = Judge(P50, [100, 100, 100, 100, 100], [100, 112, 100, 112, 100]);
        var regressed = Judge(P50, [100, 100, 100, 100, 100], [130, 131, 130, 129, 130]);
        Assert.That(GateVerdicts.Overall([pass], null), Is.EqualTo(GateOutcome.Pass));
        Assert.That(GateVerdicts.Overall([pass, undecided], null), Is.EqualTo(GateOutcome.Undecided));
        Assert.That(GateVerdicts.Overall([pass, undecided, regressed], null), Is.EqualTo(GateOutcome.Regressed));
        Assert.That(GateVerdicts.Overall([pass], "the candidate failed to run"), Is.EqualTo(GateOutcome.Failed));
        Assert.That(GateVerdicts.Overall([], null), Is.EqualTo(GateOutcome.Failed), "nothing judged is no pass");
        Assert.That(new[] { GateOutcome.Pass, GateOutcome.Regressed, GateOutcome.Undecided, GateOutcome.Failed }.Select(GateVerdicts.ExitCode),
                    Is.EqualTo(new[] { 0, 3, 4, 2 }));
    }

    [Test]
    public void RoundSamplesReadFioShapedJsonAndRefuseFailedIos()
    {
        Assert.That(RoundSample.TryParse("banner\n" + new FakeRun(1234, Alloc: 24, KicksPerIo: 0.5).Json(), out var s, out string e), Is.True, e);
        Assert.That(s.Values["read iops"], Is.EqualTo(1234));
        Assert.That(s.Values["alloc"], Is.EqualTo(24));
        Assert.That(s.Values["kicks"], Is.EqualTo(0.5));
        Assert.That(s.ClatSamples["read"], Is.EqualTo(1000));
        Assert.That(RoundSample.TryParse(new FakeRun(1234, Error: 5).Json(), out _, out e), Is.False);
        Assert.That(e, Does.Contain("error 5"));
        string fioContinue = "{\"jobs\":[{\"jobname\":\"j\",\"error\":0,\"total_err\":3,\"read\":{\"iops\":10.0,\"total_ios\":10}}]}";
        Assert.That(RoundSample.TryParse(fioContinue, out _, out e), Is.False);
        Assert.That(e, Does.Contain("3 failed I/O(s) (total_err)"));
        Assert.That(RoundSample.TryParse("no json here", out _, out e), Is.False);
        Assert.That(e, Does.Contain("printed no JSON"));
    }
}
