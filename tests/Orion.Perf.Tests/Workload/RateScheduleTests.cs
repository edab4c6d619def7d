using Orion.Perf.Workload;

namespace Orion.Perf.Tests.Workload;

[TestFixture]
public class RateScheduleTests
{
    private const long Hz = 1_000_000_000;     // ticks are nanoseconds, as Stopwatch's on Linux

    [Test]
    public void LinearSpacesIosEvenlyWithoutDrift()
    {
        var s = new RateSchedule(iops: 3, poisson: false, seed: 1, ticksPerSecond: Hz);
        s.Start(1000);
        var starts = new List<long>();
        for (int i = 0; i < 301; i++)
        {
            starts.Add(s.Next);
            s.Advance();
        }
        Assert.That(starts[0], Is.EqualTo(1000), "the first I/O is due at once");
        Assert.That(starts[1] - starts[0], Is.EqualTo(333_333_333).Within(1));
        Assert.That(starts[300] - starts[0], Is.EqualTo(100 * Hz), "a third of a second, 300 times, is exactly 100 s: no rounding drift");
    }

    [Test]
    public void PoissonGapsAverageOneOverTheRateAndVary()
    {
        var s = new RateSchedule(iops: 10_000, poisson: true, seed: 42, ticksPerSecond: Hz);
        s.Start(0);
        const int n = 100_000;
        var gaps = new long[n];
        long previous = s.Next;
        for (int i = 0; i < n; i++)
        {
            s.Advance();
            gaps[i] = s.Next - previous;
            previous = s.Next;
        }
        double mean = gaps.Average();
        Assert.That(mean, Is.EqualTo(100_000).Within(2).Percent, "mean gap 1/rate = 100 us");
        // Exponential gaps: standard deviation equals the mean, and about 1 - 1/e of them are shorter than the mean.
        double sd = Math.Sqrt(gaps.Select(g => (g - mean) * (g - mean)).Average());
        Assert.That(sd / mean, Is.EqualTo(1.0).Within(0.05));
        Assert.That(gaps.Count(g => g < mean) / (double)n, Is.EqualTo(1 - Math.Exp(-1)).Within(0.01));
    }

    [Test]
    public void SameSeedSameSchedule()
    {
        long[] Run(ulong seed)
        {
            var s = new RateSchedule(1000, true, seed, Hz);
            s.Start(0);
            return Enumerable.Range(0, 100).Select(_ => { s.Advance(); return s.Next; }).ToArray();
        }
        long[] first = Run(5), again = Run(5), other = Run(6);
        Assert.That(again, Is.EqualTo(first));
        Assert.That(other, Is.Not.EqualTo(first));
    }

    [Test]
    public void DueByCountsWhatIsLate()
    {
        var s = new RateSchedule(1000, false, 1, Hz);      // one per millisecond
        s.Start(0);
        Assert.That(s.DueBy(-1), Is.Zero);
        Assert.That(s.DueBy(0), Is.EqualTo(1));
        Assert.That(s.DueBy(4_500_000), Is.EqualTo(5), "due at 0, 1, 2, 3 and 4 ms");
        s.Advance();
        Assert.That(s.DueBy(4_500_000), Is.EqualTo(4));
    }
}
