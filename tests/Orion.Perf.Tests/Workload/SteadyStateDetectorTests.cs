using System.Diagnostics;
using Orion.Perf.Options;
using Orion.Perf.Workload;

namespace Orion.Perf.Tests.Workload;

/// <summary>fio's steady-state criteria (steadystate.c) on samples fed at known times.</summary>
public class SteadyStateDetectorTests
{
    private static readonly long Second = Stopwatch.Frequency;

    private static SteadyStateSpec Spec(string text)
    {
        Assert.That(SteadyStateSpec.TryParse(text, out var spec, out var error), Is.True, error);
        return spec;
    }

    /// <summary>Feeds one sample a second with these IOPS (4k each); returns the second at which it was attained, or -1.</summary>
    private static int Feed(SteadyStateDetector d, params long[] iops)
    {
        long ios = 0;
        for (int s = 0; s < iops.Length; s++)
        {
            ios += iops[s];
            if (d.Check((s + 1) * Second, ios, ios * 4096)) return s + 1;
        }
        return -1;
    }

    [Test]
    public void DeviationIsAttainedOnceEveryValueOfAFullWindowIsNearTheMean()
    {
        var d = new SteadyStateDetector(Spec("iops:10%"), TimeSpan.FromSeconds(3), TimeSpan.Zero, TimeSpan.FromSeconds(1), 0);
        // 1000, 500, 1000 deviates by 33 % of the mean; 1000, 1000, 1050 by 3 %.
        Assert.That(Feed(d, 1000, 500, 1000, 1000, 1050, 1000), Is.EqualTo(5));
        var r = d.Result();
        Assert.That(r.Attained, Is.True);
        Assert.That(r.Iops, Is.EqualTo(new long[] { 1000, 1000, 1050 }), "the window, oldest first");
        Assert.That(r.Bw, Is.EqualTo(new long[] { 4_096_000, 4_096_000, 4_300_800 }));
        Assert.That(r.IopsMean, Is.EqualTo(1016));
        Assert.That(r.MaxDeviation, Is.EqualTo(1050 - 3050.0 / 3).Within(1e-6));
        Assert.That(r.Criterion, Is.EqualTo(100 * (1050 - 3050.0 / 3) / (3050.0 / 3)).Within(1e-6));
        Assert.That(r.Spec.FioText, Is.EqualTo("iops:10.000000%"));
    }

    [Test]
    public void SlopeIsTheLeastSquaresSlopeOfTheWindow()
    {
        var d = new SteadyStateDetector(Spec("bw_slope:1%"), TimeSpan.FromSeconds(4), TimeSpan.Zero, TimeSpan.FromSeconds(1), 0);
        // A rising ramp (slope 100 IOPS a second, ~10 % of the mean) never qualifies; a flat run does.
        Assert.That(Feed(d, 1000, 1100, 1200, 1300, 1400), Is.EqualTo(-1));
        Assert.That(d.Slope, Is.EqualTo(100 * 4096.0).Within(1e-6), "bytes per second per sample");
        Assert.That(Feed(new SteadyStateDetector(Spec("bw_slope:1%"), TimeSpan.FromSeconds(4), TimeSpan.Zero, TimeSpan.FromSeconds(1), 0),
                         1000, 1000, 1001, 1000), Is.EqualTo(4));
        var absolute = new SteadyStateDetector(Spec("iops_slope:150"), TimeSpan.FromSeconds(4), TimeSpan.Zero, TimeSpan.FromSeconds(1), 0);
        Assert.That(Feed(absolute, 1000, 1100, 1200, 1300), Is.EqualTo(4), "slope 100 is below an absolute limit of 150");
    }

    [Test]
    public void NothingIsCollectedBeforeTheRampAndOneIntervalAfterIt()
    {
        // ss_ramp=2s: the samples of seconds 1-3 are not collected (fio starts one interval after the ramp).
        var d = new SteadyStateDetector(Spec("iops:5%"), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1), 0);
        Assert.That(Feed(d, 10, 5000, 7, 1000, 1000), Is.EqualTo(5));
        Assert.That(d.Result().Iops, Is.EqualTo(new long[] { 1000, 1000 }));
    }

    [TestCase("iops", "give the limit after the criterion")]
    [TestCase("lat:10ms", "latency criteria are not implemented")]
    [TestCase("speed:1%", "use iops, iops_slope, bw or bw_slope")]
    [TestCase("bw:fast", "'fast' is not a bandwidth")]
    public void BadCriteria(string text, string fragment)
    {
        Assert.That(SteadyStateSpec.TryParse(text, out _, out var error), Is.False);
        Assert.That(error, Does.StartWith($"--steadystate={text}: ").And.Contain(fragment));
    }

    [Test]
    public void BandwidthLimitsAreSizes() =>
        Assert.That(Spec("bw:10m"), Is.EqualTo(new SteadyStateSpec(true, false, 10 << 20, false)));
}
