using Orion.Perf.Logs;
using Orion.Perf.Reporting;
using Orion.Perf.Workload;
using Orion.Pmd.Engine;

namespace Orion.Perf.Tests.Logs;

/// <summary>fio's log formats piece by piece: the bucket layout, the line layout, windows, and the rate statistics.</summary>
public class FioLogFormatTests
{
    [TestCase(0L, 0)]
    [TestCase(127L, 127)]
    [TestCase(128L, 128)]
    [TestCase(255L, 191)]
    [TestCase(256L, 192)]
    [TestCase(1000L, 317)]
    [TestCase(long.MaxValue, 1855)]
    public void BucketsAreFios(long ns, int index) => Assert.That(FioHistogram.IndexOf(ns), Is.EqualTo(index));

    [Test]
    public void EveryBucketsMiddleFallsInIt()
    {
        Assert.That(FioHistogram.Buckets, Is.EqualTo(1856), "fio 3.x: 29 groups of 64");
        for (int i = 0; i < FioHistogram.Buckets; i++)
            Assert.That(FioHistogram.IndexOf((long)FioHistogram.ValueOf(i)), Is.EqualTo(i), $"bucket {i}");
        Assert.That(FioHistogram.ValueOf(317), Is.EqualTo(1004), "fio's plat_idx_to_val: 512 + 61.5 * 8");
    }

    [TestCase(false, false, "5, 1200, 1, 4096, 0\n")]
    [TestCase(true, false, "5, 1200, 1, 4096, 8192, 0\n")]
    [TestCase(false, true, "5, 1200, 1, 4096, 0x0000\n")]
    [TestCase(true, true, "5, 1200, 1, 4096, 8192, 0x0000\n")]
    public void LinesAreFios(bool offset, bool prio, string expected)
    {
        var w = new StringWriter();
        new FioLogLine(offset, prio).Write(w, 5, 1200, 1, 4096, 8192);
        Assert.That(w.ToString(), Is.EqualTo(expected));
    }

    [Test]
    public void AHistogramLineComesAWindowAfterTheFirstCompletionAndTheRestAtTheEnd()
    {
        var w = new StringWriter();
        var log = new FioHistLog(w, msec: 100, coarseness: 0);
        log.Add(10, 0, 1000, 4096);        // the read window starts at 10 ms
        log.Add(50, 0, 1000, 4096);
        log.Add(109, 0, 100, 4096);
        log.Add(110, 0, 50, 8192);         // 100 ms after 10: a line
        log.Add(150, 1, 300, 4096);        // writes have their own window
        log.Add(230, 0, 1000, 4096);       // 120 ms after the last line: another; the grid moves to 110 + 100
        log.Finish(240);                   // the writes' counts, written at the end
        var lines = w.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(", ").Select(long.Parse).ToArray()).ToList();
        Assert.That(lines.Select(l => l.Length), Is.All.EqualTo(3 + 1856));
        Assert.That(lines.Select(l => (l[0], l[1], l[2])), Is.EqualTo(new[] { (110L, 0L, 8192L), (230L, 0L, 4096L), (240L, 1L, 4096L) }));
        Assert.That(lines[0][3 + FioHistogram.IndexOf(1000)], Is.EqualTo(2));
        Assert.That(lines[0][3 + 100], Is.EqualTo(1));
        Assert.That(lines[0][3 + 50], Is.EqualTo(1));
        Assert.That(lines[0].Skip(3).Sum(), Is.EqualTo(4));
        Assert.That(lines[1].Skip(3).Sum(), Is.EqualTo(1), "counts since the last line only");
        Assert.That(lines[2][3 + FioHistogram.IndexOf(300)], Is.EqualTo(1));
    }

    [TestCase(1, 928)]
    [TestCase(6, 29)]
    public void CoarsenessSumsRunsOfBuckets(int coarseness, int buckets)
    {
        var w = new StringWriter();
        var log = new FioHistLog(w, msec: 100, coarseness);
        log.Add(0, 0, 130, 4096);          // bucket 129: with coarseness 1 in column 64
        log.Add(0, 0, 128, 4096);          // bucket 128
        log.Finish(1);
        var line = w.ToString().TrimEnd('\n').Split(", ").Select(long.Parse).ToArray();
        Assert.That(line, Has.Length.EqualTo(3 + buckets));
        Assert.That(line[3 + 128 / (1 << coarseness)], Is.EqualTo(2));
        Assert.That(log.Columns, Is.EqualTo(3 + buckets));
    }

    private static IoLogEntry Entry(long clat, int bytes = 4096, IoDirection d = IoDirection.Read) => new(0, clat / 10, clat, clat + clat / 10, 0, bytes, d);

    [Test]
    public void WindowedLatencyLogsWriteTheMeanOrTheMaxPerDirection()
    {
        foreach (bool max in new[] { false, true })
        {
            var clat = new StringWriter();
            var bw = new StringWriter();
            var logs = new FioWindowedLogs(new FioLogLine(false, false), 100, max, 4096, null, clat, null, bw, null);
            logs.Add(10, 0, Entry(1000));
            logs.Add(60, 0, Entry(2001));
            logs.Add(60, 1, Entry(7000, d: IoDirection.Write));
            logs.Add(120, 0, Entry(500));          // a window after 0: the read window closes with it
            logs.Add(230, 0, Entry(800));
            logs.Finish(250);
            string expected = max
                ? "120, 2001, 0, 0, 0\n230, 800, 0, 0, 0\n250, 7000, 1, 0, 0\n"
                : "120, 1167, 0, 0, 0\n230, 800, 0, 0, 0\n250, 7000, 1, 0, 0\n";
            Assert.That(clat.ToString(), Is.EqualTo(expected), max ? "log_max_value" : "the mean, rounded");
            // Bandwidth per 100 ms window of the grid, in KiB/s, with the job's block size; the partial last window is not written.
            Assert.That(bw.ToString(), Is.EqualTo("100, 80, 0, 4096, 0\n100, 40, 1, 4096, 0\n200, 40, 0, 4096, 0\n"));
        }
    }

    [Test]
    public void RateStatisticsAreFios()
    {
        var s = new RateStat();
        s.Add(80048);
        s.Add(80056);
        // fio 3.33, two 500 ms samples of a 1.2 s job: bw_min 80048, bw_max 80056, bw_mean 80052.0, bw_dev 5.656854.
        Assert.That((s.Min, s.Max, s.Samples, s.Mean), Is.EqualTo((80048L, 80056L, 2L, 80052.0)));
        Assert.That(s.StdDev, Is.EqualTo(5.656854).Within(1e-6));
        var one = new RateStat();
        one.Add(10);
        Assert.That(one.StdDev, Is.Zero, "one sample has no deviation");
        var sum = RateStat.PureSum([s, one, new RateStat()]);
        Assert.That((sum.Min, sum.Max, sum.Samples, sum.Mean), Is.EqualTo((80058L, 80066L, 3L, 80062.0)), "clones add up, as fio's group reporting");
        Assert.That(new RateStat().Min, Is.Zero);
    }

    private sealed class Collect : IIoLogSink
    {
        public readonly List<IoLogEntry> Seen = [];
        public void Add(in IoLogEntry entry) => Seen.Add(entry);
    }

    [Test]
    public void TheRingHandsOverInOrderAndRefusesAnEntryWithoutRoom()
    {
        var ring = new IoLogRing(3);
        Assert.That(ring.Capacity, Is.EqualTo(4));
        for (int i = 0; i < 4; i++)
        {
            Assert.That(ring.HasRoom(1), Is.True);
            ring.Add(Entry(i));
        }
        Assert.That(ring.HasRoom(1), Is.False);
        Assert.Throws<InvalidOperationException>(() => ring.Add(Entry(9)));
        var sink = new Collect();
        Assert.That(ring.Drain(sink), Is.EqualTo(4));
        Assert.That(sink.Seen.Select(e => e.ClatNs), Is.EqualTo(new long[] { 0, 1, 2, 3 }));
        Assert.That(ring.HasRoom(4), Is.True);
        ring.Add(Entry(5));
        Assert.That(ring.Drain(sink), Is.EqualTo(1));
        Assert.That(sink.Seen[^1].ClatNs, Is.EqualTo(5));
    }
}
