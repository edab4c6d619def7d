using Orion.Perf.Workload;

namespace Orion.Perf.Tests.Workload;

/// <summary>
/// Interval recording and collection with made-up clock ticks, on one thread: intervals cut on the shared grid, none
/// of the recorded completions lost (when the main thread falls behind, or at the end), workloads merged by interval.
/// </summary>
[TestFixture]
public class IntervalRecorderTests
{
    private static readonly bool[] ReadOnly = [true, false, false];

    private static (IntervalRecorder[] Recorders, IntervalCollector Collector, List<IntervalCell> Cells) Job(int workloads, int slots, long intervalTicks = 100)
    {
        var clock = new IntervalClock(intervalTicks);
        var recorders = Enumerable.Range(0, workloads).Select(_ => new IntervalRecorder(clock, ReadOnly, slots)).ToArray();
        var cells = new List<IntervalCell>();
        return (recorders, new IntervalCollector(clock, recorders, cells.Add), cells);
    }

    private static void Record(IntervalRecorder r, int ios, long clatNs = 5_000)
    {
        for (int i = 0; i < ios; i++) r.Record(IoDirection.Read, clatNs, 4096);
    }

    [Test]
    public void IntervalsFollowTheGridAndAShortLastOneJoinsThePrevious()
    {
        var (rs, collector, cells) = Job(1, slots: 3);
        var r = rs[0];
        r.Start(1000);
        Record(r, 3);
        r.Tick(1050);
        collector.Drain();
        Assert.That(cells, Is.Empty, "nothing handed over before the first boundary");
        r.Tick(1100);
        Record(r, 2);
        collector.Drain();
        Assert.That(cells, Is.Empty, "an interval waits until the next one is handed over too");
        r.Tick(1201);
        Record(r, 4);
        collector.Drain();
        Assert.That(cells, Has.Count.EqualTo(1));
        r.End(1210);                    // 9 ticks into interval 2: too short to stand alone
        collector.Complete();
        Assert.That(cells.Select(c => c.Index), Is.EqualTo(new long[] { 0, 1 }));
        Assert.That(cells.Select(c => c.Ios(0)), Is.EqualTo(new long[] { 3, 2 + 4 }));
        Assert.That((cells[0].StartTicks, cells[0].EndTicks), Is.EqualTo((1000L, 1100L)));
        Assert.That((cells[1].StartTicks, cells[1].EndTicks), Is.EqualTo((1100L, 1210L)));
        Assert.That(cells[1].Bytes[0], Is.EqualTo(6 * 4096));
    }

    [Test]
    public void ALongEnoughLastIntervalStandsAlone()
    {
        var (rs, collector, cells) = Job(1, slots: 3);
        rs[0].Start(1000);
        Record(rs[0], 1);
        rs[0].Tick(1100);
        Record(rs[0], 1);
        rs[0].End(1160);
        collector.Complete();
        Assert.That(cells.Select(c => (c.Index, c.Ios(0), c.EndTicks - c.StartTicks)), Is.EqualTo(new[] { (0L, 1L, 100L), (1L, 1L, 60L) }));
    }

    [Test]
    public void WhenTheMainThreadFallsBehindIntervalsGetLongerAndNothingIsLost()
    {
        var (rs, collector, cells) = Job(1, slots: 2);
        var r = rs[0];
        r.Start(1000);
        long recorded = 0;
        for (long t = 1000; t < 2000; t += 10)
        {
            Record(r, 7);
            recorded += 7;
            r.Tick(t);
            if (t % 400 == 0) collector.Drain();        // the main thread comes by now and then
        }
        r.End(2000);
        collector.Complete();
        Assert.That(cells.Sum(c => c.Ios(0)), Is.EqualTo(recorded));
        Assert.That(cells.Select(c => c.Index), Is.Ordered.Ascending.And.Unique);
        Assert.That(cells.Any(c => c.EndTicks - c.StartTicks > 100), Is.True, "some interval covered more than one step");
        for (int i = 1; i < cells.Count; i++) Assert.That(cells[i].StartTicks, Is.EqualTo(cells[i - 1].EndTicks), "no gap, no overlap");
        Assert.That((cells[0].StartTicks, cells[^1].EndTicks), Is.EqualTo((1000L, 2000L)));
    }

    [Test]
    public void WorkloadsAreMergedByInterval()
    {
        var (rs, collector, cells) = Job(2, slots: 4);
        rs[0].Start(1000);              // sets the grid
        rs[1].Start(1004);
        Record(rs[0], 10);
        Record(rs[1], 20);
        rs[0].Tick(1101);
        Record(rs[0], 1);
        collector.Drain();
        Assert.That(cells, Is.Empty, "the second workload has not finished interval 0 yet");
        rs[1].Tick(1103);
        Record(rs[1], 2);
        rs[0].Tick(1200);
        rs[1].Tick(1202);
        collector.Drain();
        Assert.That(cells.Select(c => (c.Index, c.Ios(0))), Is.EqualTo(new[] { (0L, 30L), (1L, 3L) }).Or.EqualTo(new[] { (0L, 30L) }));
        rs[0].End(1290);
        rs[1].End(1295);
        collector.Complete();
        Assert.That(cells.Select(c => (c.Index, c.Ios(0))), Is.EqualTo(new[] { (0L, 30L), (1L, 3L), (2L, 0L) }));
        Assert.That((cells[0].StartTicks, cells[0].EndTicks), Is.EqualTo((1000L, 1103L)));
    }

    [Test]
    public void AWorkloadThatNeverMeasuredEndsWithoutIntervals()
    {
        var (rs, collector, cells) = Job(1, slots: 2);
        rs[0].Record(IoDirection.Read, 100, 512);      // before Start: ignored, as the ramp is
        rs[0].End(1000);
        collector.Complete();
        Assert.That(cells, Is.Empty);
    }

    [Test]
    public void SlotsCoverTwoHundredMillisecondsOfIntervals()
    {
        Assert.That(IntervalRecorder.SlotsFor(1000), Is.EqualTo(2));
        Assert.That(IntervalRecorder.SlotsFor(100), Is.EqualTo(4));
        Assert.That(IntervalRecorder.SlotsFor(10), Is.EqualTo(22));
    }
}
