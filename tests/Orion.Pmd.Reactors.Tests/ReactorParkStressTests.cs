using System.Diagnostics;
using Orion.Pmd.Linux;
using Orion.Pmd.Reactors;

namespace Orion.Pmd.Reactors.Tests;

/// <summary>Lost wake-ups under racing producers, and the park/wake cycle's allocations.</summary>
public class ReactorParkStressTests
{
    private static readonly Action<object?> s_increment = static s => Interlocked.Increment(ref ((Counter)s!).Value);
    private static readonly Action<object?> s_readAllocated = static s => ((Counter)s!).Value = GC.GetAllocatedBytesForCurrentThread();

    private sealed class Counter { public long Value; }

    [Test, CancelAfter(60_000)]
    public void NoLostWakeups_WhenPostsFromTwoThreadsRaceWithParking()
    {
        // ParkAfter zero: the reactor tries to park at every idle iteration, so posts keep landing in the window
        // between the flag and the sleep. With no safety-net timeout, a lost wake-up leaves a message unrun.
        const int PingPongs = 1500, Burst = 30_000;
        var reactor = Wait.ParkingReactor(messageCapacity: 256);
        var device = new ParkablePoller { Owner = reactor };
        reactor.AddPoller(device);
        var pinged = new Counter();
        var burst = new Counter();
        var failures = new List<string>();
        try
        {
            reactor.Start();
            var pinger = new Thread(() =>
            {
                // Post, then wait for that very message: nothing else can rescue a lost wake-up of this one...
                for (int i = 1; i <= PingPongs; i++)
                {
                    reactor.Post(s_increment, pinged);
                    if (!SpinUntil(() => Volatile.Read(ref pinged.Value) >= i, 5000)) { Fail(failures, $"ping {i} lost"); return; }
                    // ...and hand work to the poller by other means, woken by Wake alone.
                    device.Hand();
                    reactor.Wake();
                    if (!SpinUntil(() => device.Polled >= i, 5000)) { Fail(failures, $"hand-over {i} lost"); return; }
                }
            }) { IsBackground = true };
            var flooder = new Thread(() =>
            {
                // Bursts of posts with pauses long enough for the reactor to park in between.
                for (int i = 0; i < Burst; i++)
                {
                    reactor.Post(s_increment, burst);
                    if (i % 64 == 0) Thread.Sleep(0);
                    if (i % 1000 == 0) Thread.Sleep(1);
                }
            }) { IsBackground = true };
            pinger.Start();
            flooder.Start();
            Assert.That(pinger.Join(45_000) && flooder.Join(15_000), Is.True, "producers finished");
            Assert.That(failures, Is.Empty);
            Assert.That(Wait.Until(() => Volatile.Read(ref burst.Value) == Burst, 5000), Is.True, "the last burst message ran");
        }
        finally
        {
            reactor.Stop();
        }
        ReactorStats stats = reactor.GetStats();
        TestContext.Out.WriteLine(ReactorParkTests.Describe(stats));
        Assert.That(pinged.Value, Is.EqualTo(PingPongs));
        Assert.That(device.Polled, Is.EqualTo(PingPongs));
        Assert.That(stats.Parks, Is.GreaterThan(100), "the race was actually run");
        Assert.That(stats.ParkTimeouts, Is.Zero);
        Assert.That(device.Violations, Is.Zero);
        Assert.That(device.Unparks, Is.EqualTo(device.Prepares));
    }

    [Test, CancelAfter(60_000)]
    public void ParkAndWakeCycles_AllocateNothingOnTheReactorThread()
    {
        const int WarmUp = 300, Measured = 600;
        // A short safety net as well, so that timed-out parks are among the measured cycles.
        var reactor = Wait.ParkingReactor(maxPark: TimeSpan.FromMilliseconds(3));
        using var call = new EventFd();
        var device = new ParkablePoller { Owner = reactor };
        reactor.AddPoller(device);
        reactor.AddPoller(new CountingPoller());
        reactor.AddWakeSource(call);
        var messages = new Counter();
        Counter start = new(), end = new();
        int handed = 0;
        try
        {
            reactor.Start();
            Cycles(WarmUp);
            Sample(start);
            long parksBefore = reactor.GetStats().Parks;
            Cycles(Measured);
            Thread.Sleep(20);   // a few timed-out parks
            Sample(end);
            Assert.That(reactor.GetStats().Parks - parksBefore, Is.GreaterThan(Measured), "the cycles really parked");
        }
        finally
        {
            reactor.Stop();
        }
        Assert.That(end.Value - start.Value, Is.Zero);
        Assert.That(device.Violations, Is.Zero);

        // Each cycle wakes a parked reactor three ways: a post, a Wake, an interrupt on a wake source.
        void Cycles(int count)
        {
            for (int i = 0; i < count; i++)
            {
                long posted = messages.Value + 1;
                reactor.Post(s_increment, messages);
                Assert.That(SpinUntil(() => Volatile.Read(ref messages.Value) == posted, 5000), Is.True);
                device.Hand();
                reactor.Wake();
                int expected = ++handed;
                Assert.That(SpinUntil(() => device.Polled == expected, 5000), Is.True);
                device.Hand();
                call.Signal();
                expected = ++handed;
                Assert.That(SpinUntil(() => device.Polled == expected, 5000), Is.True);
            }
        }

        void Sample(Counter into)
        {
            into.Value = -1;
            reactor.Post(s_readAllocated, into);
            Assert.That(SpinUntil(() => Volatile.Read(ref into.Value) != -1, 5000), Is.True);
        }
    }

    /// <summary>Yields (never sleeps a whole millisecond first), so round trips stay fast without burning a core.</summary>
    private static bool SpinUntil(Func<bool> condition, int timeoutMs)
    {
        long deadline = Stopwatch.GetTimestamp() + timeoutMs * Stopwatch.Frequency / 1000;
        var spin = new SpinWait();
        while (!condition())
        {
            if (Stopwatch.GetTimestamp() > deadline) return false;
            spin.SpinOnce(sleep1Threshold: -1);
        }
        return true;
    }

    private static void Fail(List<string> failures, string what)
    {
        lock (failures) failures.Add(what);
    }
}
