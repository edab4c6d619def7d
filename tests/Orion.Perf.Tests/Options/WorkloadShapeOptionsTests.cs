using Orion.Perf.Options;
using Orion.Perf.Workload;

using static Orion.Perf.Tests.Options.ParseKit;

namespace Orion.Perf.Tests.Options;

/// <summary>number_ios, norandommap, randrepeat, randseed, random_distribution and bssplit: parsing and errors.</summary>
[TestFixture]
public class WorkloadShapeOptionsTests
{
    [Test]
    public void DefaultsAreFios()
    {
        var o = Ok();
        Assert.That(o.NumberIos, Is.Null);
        Assert.That(o.NoRandomMap, Is.False);
        Assert.That(o.RandRepeat, Is.True);
        Assert.That(o.RandSeed, Is.Null);
        Assert.That(o.RandomDistribution, Is.EqualTo(RandomDistribution.Uniform));
        Assert.That(o.BlockSizeSplit, Is.Null);
        Assert.That(o.BlockSizes, Is.EqualTo(new[] { new BlockSizeShare(4096, 100) }));
    }

    [Test]
    public void NumberIos()
    {
        Assert.That(Ok("--number_ios=1000").NumberIos, Is.EqualTo(1000));
        Assert.That(Ok("--number_ios", "5000000000").NumberIos, Is.EqualTo(5_000_000_000L));
        Assert.That(Ok("--number_ios=0").NumberIos, Is.Null, "0 = no limit, as in fio");
        Assert.That(Error("--number_ios=-1"), Is.EqualTo("--number_ios=-1: the number of I/Os must not be negative"));
        Assert.That(Error("--number_ios=lots"), Is.EqualTo("--number_ios=lots: 'lots' is not a whole number"));
    }

    [Test]
    public void NoRandomMapIsAcceptedAndHelpSaysWhy()
    {
        Assert.That(Ok("--norandommap").NoRandomMap, Is.True);
        Assert.That(Ok("--norandommap=0").NoRandomMap, Is.False);
        Assert.That(Error("--norandommap=maybe"), Does.StartWith("--norandommap=maybe: use 1 or 0"));
        Assert.That(JobOptionsParser.Usage(), Does.Contain("--norandommap").And.Contain("with replacement").And.Contain("every block once per pass"));
    }

    [Test]
    public void RandRepeatAndRandSeed()
    {
        Assert.That(Ok("--randrepeat=0").RandRepeat, Is.False);
        Assert.That(Ok("--randrepeat").RandRepeat, Is.True);
        Assert.That(Ok("--randseed=42").RandSeed, Is.EqualTo(42UL));
        Assert.That(Ok("--randseed", "18446744073709551615").RandSeed, Is.EqualTo(ulong.MaxValue));
        Assert.That(Error("--randseed=-3"), Does.StartWith("--randseed=-3: '-3' is not a whole number from 0 to"));
        Assert.That(Error("--randseed=abc"), Does.StartWith("--randseed=abc: 'abc' is not a whole number"));
        Assert.That(Error("--randrepeat=2"), Does.StartWith("--randrepeat=2: use 1 or 0"));
    }

    [Test]
    public void SeedFollowsFio()
    {
        Assert.That(JobExecution.SeedFor(Ok()), Is.EqualTo(WorkloadPlan.DefaultSeed), "randrepeat=1: the same every run");
        Assert.That(JobExecution.SeedFor(Ok("--randseed=7")), Is.EqualTo(7UL));
        Assert.That(JobExecution.SeedFor(Ok("--randseed=7", "--randrepeat=0")), Is.EqualTo(7UL), "randseed wins");
        var fresh = Ok("--randrepeat=0");
        Assert.That(Enumerable.Range(0, 4).Select(_ => JobExecution.SeedFor(fresh)).Distinct().Count(), Is.GreaterThan(1), "randrepeat=0: a new seed each run");
    }

    [TestCase("random", RandomDistributionKind.Random, 0)]
    [TestCase("zipf:1.2", RandomDistributionKind.Zipf, 1.2)]
    [TestCase("zipf:0.8", RandomDistributionKind.Zipf, 0.8)]
    [TestCase("zipf", RandomDistributionKind.Zipf, 1.1)]
    [TestCase("pareto:0.3", RandomDistributionKind.Pareto, 0.3)]
    [TestCase("pareto", RandomDistributionKind.Pareto, 0.2)]
    [TestCase("normal:10", RandomDistributionKind.Normal, 10)]
    [TestCase("Normal", RandomDistributionKind.Normal, 0)]
    public void RandomDistributions(string text, RandomDistributionKind kind, double parameter)
    {
        var d = Ok($"--random_distribution={text}").RandomDistribution;
        Assert.That(d.Kind, Is.EqualTo(kind));
        Assert.That(d.Parameter, Is.EqualTo(parameter).Within(1e-12));
    }

    [TestCase("zipf:1", "must be positive and not 1")]
    [TestCase("zipf:0", "must be positive and not 1")]
    [TestCase("zipf:x", "'x' is not a number")]
    [TestCase("pareto:1", "between 0 and 1")]
    [TestCase("pareto:0", "between 0 and 1")]
    [TestCase("normal:100", "from 0 to below 100")]
    [TestCase("normal:-1", "from 0 to below 100")]
    [TestCase("gauss", "unknown distribution; use random, zipf:THETA, pareto:H, normal:SIGMA, zoned")]
    [TestCase("zoned:50/5:40/95", "the access percentages add up to 90, not 100")]
    [TestCase("zoned:50/60:50/60", "more than 100")]
    [TestCase("zoned:50/:50/", "only one zone may leave its size empty")]
    [TestCase("zoned_abs:50/1g:50/", "zoned_abs needs every zone's size")]
    [TestCase("zoned:50/5,50/95", "one set for all directions")]
    [TestCase("zipf:1.2:0.5", "center offset")]
    [TestCase("random:3", "random takes no value")]
    public void BadRandomDistributions(string text, string fragment) =>
        Assert.That(Error($"--random_distribution={text}"), Does.StartWith($"--random_distribution={text}: ").And.Contain(fragment));

    [Test]
    public void BsSplit()
    {
        var o = Ok("--bssplit=4k/50:64k/50");
        Assert.That(o.BlockSizeSplit, Is.EqualTo(new[] { new BlockSizeShare(4096, 50), new BlockSizeShare(65536, 50) }));
        Assert.That(o.MaxBlockBytes, Is.EqualTo(65536));
        Assert.That(BlockSizeSplit.Format(o.BlockSizeSplit!), Is.EqualTo("4k/50:64k/50"));
    }

    [Test]
    public void BsSplitSharesWhatIsLeftAmongSizesWithoutAPercentage()
    {
        Assert.That(Ok("--bssplit=4k/10:8k:16k").BlockSizeSplit,
            Is.EqualTo(new[] { new BlockSizeShare(4096, 10), new BlockSizeShare(8192, 45), new BlockSizeShare(16384, 45) }));
        Assert.That(Ok("--bssplit=4k").BlockSizeSplit, Is.EqualTo(new[] { new BlockSizeShare(4096, 100) }));
        Assert.That(Ok("--bssplit=4k/100:8k/0").BlockSizeSplit, Is.EqualTo(new[] { new BlockSizeShare(4096, 100) }));
    }

    [Test]
    public void BsSplitPerDirectionAsFioReadsIt()
    {
        var o = Ok("--bssplit=64k/40:1024k/60,1024k/100");
        Assert.That(o.SplitOf(0), Is.EqualTo(new[] { new BlockSizeShare(65536, 40), new BlockSizeShare(1 << 20, 60) }));
        Assert.That(o.SplitOf(1), Is.EqualTo(new[] { new BlockSizeShare(1 << 20, 100) }));
        Assert.That(o.SplitOf(2), Is.EqualTo(new[] { new BlockSizeShare(1 << 20, 100) }), "READ,WRITE: trims take the write split, as fio");
        Assert.That(o.MaxBlockBytes, Is.EqualTo(1 << 20));
        Assert.That(o.MinBlockBytes, Is.EqualTo(65536));
        Assert.That(o.BsSplitText, Is.EqualTo("64k/40:1m/60,1m/100,1m/100"));
        var three = Ok("--bssplit=4k/100,8k/100,16k/100");
        Assert.That(three.SplitOf(2), Is.EqualTo(new[] { new BlockSizeShare(16384, 100) }));
        Assert.That(Ok("--bssplit=,8k/100", "--bs=4k").SplitOf(0), Is.Null, "an empty part leaves the direction to bs");
        Assert.That(Ok("--bssplit=4k/100,4k/100").BlockSizeSplits3, Is.Null, "the same split everywhere is one split");
    }

    [Test]
    public void BsMustBeOneOfTheSplitSizesOrLeftOut()
    {
        Assert.That(Ok("--bs=4k", "--bssplit=4k/50:64k/50").BlockSizeSplit, Has.Count.EqualTo(2));
        Assert.That(Ok("--bssplit=4k/50:64k/50", "--bs=64k").BlockSizeSplit, Has.Count.EqualTo(2));
        Assert.That(Error("--bs=8k", "--bssplit=4k/50:64k/50"),
            Is.EqualTo("--bs=8k --bssplit=4k/50:64k/50: --bs must be one of the split's sizes, or left out"));
    }

    [TestCase("4k/50:64k/40", "the percentages add up to 90, not 100")]
    [TestCase("4k/60:64k/60", "the percentages add up to 120, not 100")]
    [TestCase("4k/50:abc/50", "'abc' is not a size")]
    [TestCase("4k/50:1000/50", "1000 is not a multiple of 512 bytes")]
    [TestCase("4k/50:2m/50", "above the largest, 1m")]
    [TestCase("4k/x", "'x' is not a percentage")]
    [TestCase("4k/50:8k/50,16k/90", "the percentages add up to 90, not 100")]
    [TestCase("4k,8k,16k,32k", "give at most three splits")]
    [TestCase("4k/0", "the percentages add up to 0, not 100")]
    public void BadBsSplits(string text, string fragment) =>
        Assert.That(Error($"--bssplit={text}"), Does.StartWith($"--bssplit={text}: ").And.Contain(fragment));

    [Test]
    public void BsSplitIsCheckedAgainstTheDevice()
    {
        Assert.That(Error("--bssplit=512/50:4k/50", "--device=mem:16M,bs=4096"), Does.Contain("512 is not a multiple of the device's 4096-byte logical block size"));
        Assert.That(Error("--bssplit=4k/50:1m/50", "--size=512k", "--device=mem:16M"), Does.Contain("smaller than one 1m block"));
    }
}
