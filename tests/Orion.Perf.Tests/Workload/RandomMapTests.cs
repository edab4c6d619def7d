using Orion.Perf.Options;
using Orion.Perf.Workload;

namespace Orion.Perf.Tests.Workload;

/// <summary>fio's random map (every block once per pass) and its zoned distributions.</summary>
[TestFixture]
public class RandomMapTests
{
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(7)]
    [TestCase(256)]
    [TestCase(1000)]
    [TestCase(65_537)]
    public void EverySlotExactlyOncePerPass(long slots)
    {
        var map = new RandomMap(slots, seed: 42);
        for (int pass = 1; pass <= 3; pass++)
        {
            var seen = new bool[slots];
            for (long i = 0; i < slots; i++)
            {
                long s = map.Next();
                Assert.That(s, Is.InRange(0, slots - 1));
                Assert.That(seen[s], Is.False, $"slot {s} twice in pass {pass}");
                seen[s] = true;
            }
            Assert.That(map.Pass, Is.EqualTo(pass));
        }
    }

    [Test]
    public void PassesDifferInOrderAndAreNotSequential()
    {
        var map = new RandomMap(1000, seed: 7);
        var first = Enumerable.Range(0, 1000).Select(_ => map.Next()).ToArray();
        var second = Enumerable.Range(0, 1000).Select(_ => map.Next()).ToArray();
        Assert.That(second, Is.Not.EqualTo(first));
        Assert.That(first.Zip(first.Skip(1)).Count(p => p.Second == p.First + 1), Is.LessThan(50), "a shuffled order, not a scan");
    }

    [Test]
    public void ZonedSendsEachZoneItsShare()
    {
        Assert.That(RandomDistribution.TryParse("zoned:80/10:20/", out var d, out var e), Is.True, e);
        Assert.That(d.Zones!.Select(z => z.Size), Is.EqualTo(new[] { 10.0, 90.0 }), "an empty size is the rest of the region");
        var dist = new OffsetDistribution(d, 10_000);
        ulong state = 12345;
        int hot = 0;
        const int N = 100_000;
        for (int i = 0; i < N; i++)
        {
            long s = dist.Next(ref state);
            Assert.That(s, Is.InRange(0, 9_999));
            if (s < 1_000) hot++;
        }
        Assert.That(hot / (double)N, Is.InRange(0.78, 0.82), "80% of the I/O goes to the first 10% of the region");
    }

    [Test]
    public void ZonedAbsUsesBytes()
    {
        Assert.That(RandomDistribution.TryParse("zoned_abs:50/1m:50/15m", out var d, out var e), Is.True, e);
        var dist = new OffsetDistribution(d, slots: 4096, slotBytes: 4096);        // 16 MiB in 4k slots
        ulong state = 99;
        int first = 0;
        for (int i = 0; i < 20_000; i++) if (dist.Next(ref state) < 256) first++;     // the first 1 MiB
        Assert.That(first / 20_000.0, Is.InRange(0.47, 0.53));
        Assert.That(d.ToString(), Is.EqualTo("zoned_abs:50/1m:50/15m"));
    }
}
