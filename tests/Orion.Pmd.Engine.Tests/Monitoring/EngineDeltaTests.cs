using Orion.Pmd.Engine.Monitoring;
using Orion.Pmd.Engine.Queues;
using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Reactors;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Engine.Tests.Monitoring;

/// <summary>The monitor's change between two snapshots: per-queue error, timeout, reset and resubmission counts and rates.</summary>
public class EngineDeltaTests
{
    [Test]
    public void FailuresBetweenTwoSnapshotsAreCountedPerQueueAndByStatus()
    {
        // Every 4th write fails: between the snapshots 12 writes run, so exactly 3 fail.
        using var engine = ManualEngine.Start("mem:16M,fault=ioerr:every=4:type=write");
        var dev = engine.Device;
        using var buf = dev.Rent(4096);
        int failedBefore = Writes(engine, 5);            // warm-up: 1 failure, before the first snapshot
        var first = engine.Monitor.TakeSnapshot();
        int failed = Writes(engine, 12);
        var second = engine.Monitor.TakeSnapshot();

        var delta = second.Since(first);
        Assert.That(failedBefore, Is.EqualTo(1));
        Assert.That(failed, Is.EqualTo(3));
        var q = delta.Queues.Single();
        Assert.That(q.Change.Requests, Is.EqualTo(12));
        Assert.That(q.Change.Errors, Is.EqualTo(3));
        Assert.That(q.ErrorsByStatusComplete, Is.True);
        Assert.That(q.ErrorsByStatus, Is.EqualTo(new Dictionary<IoStatus, long> { [IoStatus.IoError] = 3 }));
        Assert.That(q.NewErrors.Select(e => e.Type), Is.All.EqualTo(BlkRequestType.Out));
        Assert.That(delta.Total.Errors, Is.EqualTo(3));
        Assert.That(delta.ErrorsByStatus[IoStatus.IoError], Is.EqualTo(3));
        Assert.That(delta.Interval, Is.GreaterThan(TimeSpan.Zero));
        Assert.That(q.ErrorsPerSecond, Is.EqualTo(3 / delta.Interval.TotalSeconds).Within(1e-9));
        Assert.That(q.ErrorFraction, Is.EqualTo(0.25));

        int Writes(PmdEngine e, int n)
        {
            int bad = 0;
            for (int i = 0; i < n; i++)
            {
                try
                {
                    e.Wait(dev.WriteAsync(i * 8, buf.Memory));
                }
                catch (BlockDeviceException x) when (x.Status == IoStatus.IoError)
                {
                    bad++;
                }
            }
            return bad;
        }
    }

    [Test]
    public void ManyFailuresAreCountedExactlyByStatusBeyondTheRecentErrorList()
    {
        // 100 failed reads and 50 failed writes between two snapshots: far more than the 32 recent-error records.
        using var engine = ManualEngine.Start("mem:16M,fault=ioerr:every=2:type=write;unsupp:every=2:type=read");
        var dev = engine.Device;
        using var buf = dev.Rent(4096);
        var first = engine.Monitor.TakeSnapshot();
        for (int i = 0; i < 200; i++)
        {
            try { engine.Wait(dev.ReadAsync(i * 8, buf.Memory)); } catch (BlockDeviceException) { }
            if (i < 100) try { engine.Wait(dev.WriteAsync(i * 8, buf.Memory)); } catch (BlockDeviceException) { }
        }
        var q = engine.Monitor.TakeSnapshot().Since(first).Queues.Single();
        Assert.That(q.Change.Errors, Is.EqualTo(150));
        Assert.That(q.NewErrors, Has.Count.LessThanOrEqualTo(32), "the recent-error list alone could not say this");
        Assert.That(q.ErrorsByStatusComplete, Is.True);
        Assert.That(q.ErrorsByStatus, Is.EqualTo(new Dictionary<IoStatus, long> { [IoStatus.Unsupported] = 100, [IoStatus.IoError] = 50 }));
        Assert.That(dev.GetQueue(0).ErrorCounts, Is.EqualTo(q.ErrorsByStatus), "the first snapshot came before any failure");
    }

    [Test]
    public void RatesComeFromCounterChangesOverTheInterval()
    {
        var t0 = DateTimeOffset.UnixEpoch;
        var earlier = Snapshot(t0, new QueueCounters { Requests = 100, Errors = 1, Timeouts = 1, QueueResets = 1, Resubmitted = 4, InFlight = 7 });
        var later = Snapshot(t0.AddSeconds(2), new QueueCounters { Requests = 300, Errors = 11, Timeouts = 5, QueueResets = 3, Resubmitted = 10, InFlight = 2 });

        var d = EngineDelta.Between(earlier, later);

        var q = d.Queues.Single();
        Assert.That(d.Interval, Is.EqualTo(TimeSpan.FromSeconds(2)));
        Assert.That(q.Change.Requests, Is.EqualTo(200));
        Assert.That(q.Change.InFlight, Is.EqualTo(2), "gauges keep the later value");
        Assert.That(q.RequestsPerSecond, Is.EqualTo(100));
        Assert.That(q.ErrorsPerSecond, Is.EqualTo(5));
        Assert.That(q.TimeoutsPerSecond, Is.EqualTo(2));
        Assert.That(q.QueueResetsPerSecond, Is.EqualTo(1));
        Assert.That(q.ResubmittedPerSecond, Is.EqualTo(3));
        Assert.That(d.ErrorsPerSecond, Is.EqualTo(5));
        // No failure records came with these snapshots: the breakdown by status is known to be incomplete.
        Assert.That(q.ErrorsByStatusComplete, Is.False);
    }

    [Test]
    public void OnlyFailuresAfterTheEarlierSnapshotAreNew()
    {
        var t0 = DateTimeOffset.UnixEpoch;
        var old = Record(t0, IoStatus.IoError, sector: 1);
        var newer = Record(t0.AddSeconds(1), IoStatus.TimedOut, sector: 2);
        var newest = Record(t0.AddSeconds(2), IoStatus.QueueBroken, sector: 3);
        var earlier = Snapshot(t0, new QueueCounters { Errors = 1 });
        earlier = earlier with { Queues = [earlier.Queues[0] with { RecentErrors = [old] }] };
        var later = Snapshot(t0.AddSeconds(3), new QueueCounters { Errors = 3 });
        later = later with { Queues = [later.Queues[0] with { RecentErrors = [newest, newer, old] }] };

        var q = EngineDelta.Between(earlier, later).Queues.Single();

        Assert.That(q.NewErrors, Is.EqualTo(new[] { newest, newer }));
        Assert.That(q.ErrorsByStatusComplete, Is.True);
        Assert.That(q.ErrorsByStatus.Keys, Is.EquivalentTo(new[] { IoStatus.TimedOut, IoStatus.QueueBroken }));
    }

    [Test]
    public void TheTotalSumsEveryCounterOfEveryQueue()
    {
        // Each counter gets its own value on each queue, so a counter the total leaves out (or takes from one queue) shows.
        var counters = typeof(QueueCounters).GetProperties().Where(p => p.PropertyType == typeof(long)).ToArray();
        QueueCounters Numbered(long queue)
        {
            object boxed = new QueueCounters();
            for (int i = 0; i < counters.Length; i++) counters[i].SetValue(boxed, queue * 1000 + i + 1);
            return (QueueCounters)boxed;
        }
        var t0 = DateTimeOffset.UnixEpoch;
        var earlier = TwoQueues(t0, new QueueCounters(), new QueueCounters());
        var later = TwoQueues(t0.AddSeconds(1), Numbered(1), Numbered(2));

        var total = EngineDelta.Between(earlier, later).Total;

        foreach (var p in counters)
            Assert.That(p.GetValue(total), Is.EqualTo((long)p.GetValue(Numbered(1))! + (long)p.GetValue(Numbered(2))!), p.Name);
    }

    private static EngineSnapshot TwoQueues(DateTimeOffset at, QueueCounters first, QueueCounters second) =>
        new([new QueueSnapshot(0, null, first, new LatencyHistogram(), default(ReactorStats)),
             new QueueSnapshot(1, null, second, new LatencyHistogram(), default(ReactorStats))],
            new LatencyHistogram(), 0, 0, at);

    [Test]
    public void SnapshotsOutOfOrderAreRefused()
    {
        var t0 = DateTimeOffset.UnixEpoch;
        var a = Snapshot(t0, new QueueCounters());
        var b = Snapshot(t0.AddSeconds(1), new QueueCounters());
        Assert.That(() => EngineDelta.Between(b, a), Throws.ArgumentException.With.Message.Contains("pass them in order"));
    }

    private static IoErrorRecord Record(DateTimeOffset at, IoStatus status, ulong sector) =>
        new(at.UtcDateTime, 0, BlkRequestType.Out, sector, 4096, status, null);

    private static EngineSnapshot Snapshot(DateTimeOffset at, QueueCounters counters) =>
        new([new QueueSnapshot(0, null, counters, new LatencyHistogram(), default(ReactorStats))], new LatencyHistogram(), 0, 0, at);
}
