using Orion.Perf.Options;
using Orion.Perf.Workload;

namespace Orion.Perf.Tests.Workload;

/// <summary>The offset generator on its own: repeatability by seed, and the shapes of the distributions, by histogram.</summary>
[TestFixture]
public class OffsetDistributionTests
{
    private const int Slots = 10_000, Draws = 200_000;

    private static long[] Histogram(RandomDistribution d, ulong seed = 12345)
    {
        var gen = new OffsetDistribution(d, Slots);
        var counts = new long[Slots];
        ulong state = seed | 1;
        for (int i = 0; i < Draws; i++)
        {
            long slot = gen.Next(ref state);
            Assert.That(slot, Is.InRange(0, Slots - 1));
            counts[slot]++;
        }
        return counts;
    }

    /// <summary>The share of all draws that went to the hottest <paramref name="fraction"/> of the slots.</summary>
    private static double HottestShare(long[] counts, double fraction) =>
        (double)counts.OrderByDescending(c => c).Take((int)(counts.Length * fraction)).Sum() / counts.Sum();

    [Test]
    public void SameSeedSameSequence()
    {
        foreach (var d in new[] { RandomDistribution.Uniform, new(RandomDistributionKind.Zipf, 1.2), new(RandomDistributionKind.Pareto, 0.2), new RandomDistribution(RandomDistributionKind.Normal, 5) })
        {
            var gen = new OffsetDistribution(d, Slots);
            ulong a = 99, b = 99, c = 100;
            var first = Enumerable.Range(0, 1000).Select(_ => gen.Next(ref a)).ToArray();
            var again = Enumerable.Range(0, 1000).Select(_ => gen.Next(ref b)).ToArray();
            var other = Enumerable.Range(0, 1000).Select(_ => gen.Next(ref c)).ToArray();
            Assert.That(again, Is.EqualTo(first), d.ToString());
            Assert.That(other, Is.Not.EqualTo(first), d.ToString());
        }
    }

    [Test]
    public void UniformSpreadsEvenly()
    {
        var counts = Histogram(RandomDistribution.Uniform);
        Assert.That(HottestShare(counts, 0.01), Is.LessThan(0.03));
        Assert.That(counts.Count(c => c > 0), Is.GreaterThan(Slots * 99 / 100));
    }

    [Test]
    public void Zipf12ConcentratesOnFewBlocks()
    {
        var counts = Histogram(new RandomDistribution(RandomDistributionKind.Zipf, 1.2));
        Assert.That(HottestShare(counts, 0.01), Is.GreaterThan(0.5), "1% of the blocks take most of the I/O");
        Assert.That(counts.Max(), Is.GreaterThan(Draws / 10), "the hottest block alone takes a large share");
    }

    [TestCase(0.5)]
    [TestCase(0.8)]
    [TestCase(2.0)]
    public void ZipfConcentratesMoreAsThetaGrows(double theta)
    {
        double share = HottestShare(Histogram(new RandomDistribution(RandomDistributionKind.Zipf, theta)), 0.01);
        Assert.That(share, Is.GreaterThan(0.05), "more than uniform's 1%");
        if (theta > 1) Assert.That(share, Is.GreaterThan(HottestShare(Histogram(new RandomDistribution(RandomDistributionKind.Zipf, 1.2)), 0.01)));
        else Assert.That(share, Is.LessThan(HottestShare(Histogram(new RandomDistribution(RandomDistributionKind.Zipf, 1.2)), 0.01)));
    }

    [Test]
    public void ZipfHotBlocksAreScatteredNotAtTheStart()
    {
        var counts = Histogram(new RandomDistribution(RandomDistributionKind.Zipf, 1.2));
        long firstPercent = counts.Take(Slots / 100).Sum();
        Assert.That((double)firstPercent / Draws, Is.LessThan(0.5));
    }

    [Test]
    public void ParetoConcentrates()
    {
        var counts = Histogram(new RandomDistribution(RandomDistributionKind.Pareto, 0.2));
        Assert.That(HottestShare(counts, 0.2), Is.GreaterThan(0.6));
        Assert.That(HottestShare(counts, 0.2), Is.GreaterThan(HottestShare(Histogram(RandomDistribution.Uniform), 0.2) + 0.2));
    }

    [Test]
    public void NormalCentresOnTheMiddle()
    {
        var counts = Histogram(new RandomDistribution(RandomDistributionKind.Normal, 5));
        // σ = 5% of the region: about 95% of the draws within 2σ of the middle.
        long middle = counts.Skip(Slots * 40 / 100).Take(Slots * 20 / 100).Sum();
        Assert.That((double)middle / Draws, Is.InRange(0.93, 0.97));
    }

    [Test]
    public void NormalZeroIsUniform() =>
        Assert.That(HottestShare(Histogram(new RandomDistribution(RandomDistributionKind.Normal, 0)), 0.01), Is.LessThan(0.03));

    [Test]
    public void OneSlotAlwaysGivesIt()
    {
        ulong state = 5;
        foreach (var d in new[] { RandomDistribution.Uniform, new(RandomDistributionKind.Zipf, 1.2), new(RandomDistributionKind.Pareto, 0.2), new RandomDistribution(RandomDistributionKind.Normal, 50) })
        {
            var gen = new OffsetDistribution(d, 1);
            Assert.That(Enumerable.Range(0, 100).Select(_ => gen.Next(ref state)), Is.All.EqualTo(0L), d.ToString());
        }
    }
}
