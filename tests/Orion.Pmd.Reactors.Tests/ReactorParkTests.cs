using System.Diagnostics;
using Orion.Pmd.Linux;
using Orion.Pmd.Reactors;

namespace Orion.Pmd.Reactors.Tests;

/// <summary>
/// IdlePolicy.Park on real threads: it sleeps, and every kind of wake-up ends the sleep. Reactors here have an
/// infinite MaxPark unless a test says otherwise, so a missed wake-up fails the test instead of hiding behind
/// the safety-net timeout.
/// </summary>
public class ReactorParkTests
{
    private static readonly Action<object?> s_increment = static s => Interlocked.Increment(ref ((Counter)s!).Value);
    private static readonly Action<object?> s_sample = static s => ((CpuSample)s!).Take();

    private sealed class Counter { public long Value; }

    private sealed class CpuSample
    {
        public CpuTimes Cpu;
        public long At;
        public readonly ManualResetEventSlim Done = new();

        public void Take()
        {
            Cpu = ResourceUsage.CurrentThread();
            At = Stopwatch.GetTimestamp();
            Done.Set();
        }
    }

    [Test, CancelAfter(30_000)]
    public void ParkedReactor_UsesAlmostNoCpu()
    {
        // The defaults (50 µs budget, 100 ms safety net): what a user gets by choosing Park.
        var reactor = new Reactor(new ReactorOptions { IdlePolicy = IdlePolicy.Park });
        reactor.AddPoller(new CountingPoller());
        CpuSample first = new(), second = new();
        ReactorStats before, after;
        try
        {
            reactor.Start();
            Assert.That(Wait.UntilParked(reactor), Is.True);
            reactor.Post(s_sample, first);
            Assert.That(first.Done.Wait(5000), Is.True);
            before = reactor.GetStats();
            Thread.Sleep(300);
            reactor.Post(s_sample, second);
            Assert.That(second.Done.Wait(5000), Is.True);
            after = reactor.GetStats();
        }
        finally
        {
            reactor.Stop();
        }

        TimeSpan cpu = (second.Cpu - first.Cpu).Total;
        TimeSpan wall = Stopwatch.GetElapsedTime(first.At, second.At);
        TestContext.Out.WriteLine($"reactor thread: {cpu.TotalMilliseconds:F2} ms cpu in {wall.TotalMilliseconds:F0} ms");
        Assert.That(wall, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(290)));
        Assert.That(cpu, Is.LessThan(wall * 0.2));
        ReactorStats delta = after - before;
        Assert.That(delta.Parks, Is.GreaterThanOrEqualTo(2), "parked again after the first sample's wake-up, and after timeouts");
        Assert.That(delta.ParkTimeouts, Is.GreaterThanOrEqualTo(1), "300 ms of quiet outlasts the 100 ms safety net");
        Assert.That(delta.ParkTicks, Is.GreaterThan((long)(wall.TotalSeconds * Stopwatch.Frequency * 0.5)));
        Assert.That(delta.IdleFraction, Is.GreaterThan(0.9), "parked time is idle time");
    }

    [Test, CancelAfter(30_000)]
    public void TryPostAndPost_WakeAParkedReactor_AndTheMessageRuns()
    {
        const int RoundTrips = 300;
        var reactor = Wait.ParkingReactor();
        var counter = new Counter();
        try
        {
            reactor.Start();
            Assert.That(Wait.UntilParked(reactor), Is.True);
            for (int i = 1; i <= RoundTrips; i++)
            {
                // Alternate the two entry points; each waits for the reactor to park again first, most of the time.
                if (i % 2 == 0) Assert.That(reactor.TryPost(s_increment, counter), Is.True);
                else reactor.Post(s_increment, counter);
                long expected = i;
                Assert.That(Wait.Until(() => Volatile.Read(ref counter.Value) == expected, 5000), Is.True, $"message {i} never ran");
            }
        }
        finally
        {
            reactor.Stop();
        }
        ReactorStats stats = reactor.GetStats();
        TestContext.Out.WriteLine(Describe(stats));
        Assert.That(stats.Parks, Is.GreaterThan(RoundTrips / 2), "the test slept 1 ms per round trip: time enough to park");
        Assert.That(stats.Wakeups, Is.GreaterThan(RoundTrips / 2));
        Assert.That(stats.WakeLatencySamples, Is.GreaterThan(0).And.LessThanOrEqualTo(stats.Wakeups));
        Assert.That(stats.MaxWakeLatencyTicks, Is.GreaterThan(0));
        Assert.That(stats.MeanWakeLatencyTicks, Is.InRange(1.0, stats.MaxWakeLatencyTicks));
        Assert.That(stats.ParkTimeouts, Is.Zero);
    }

    [Test, CancelAfter(30_000)]
    public void Wake_WakesAParkedReactor_ForWorkHandedOverByOtherMeans()
    {
        const int RoundTrips = 300;
        var reactor = Wait.ParkingReactor();
        var poller = new ParkablePoller { Owner = reactor };
        reactor.AddPoller(poller);
        try
        {
            reactor.Start();
            Assert.That(Wait.UntilParked(reactor), Is.True);
            long wakeupsBefore = reactor.GetStats().Wakeups;
            for (int i = 1; i <= RoundTrips; i++)
            {
                poller.Hand();
                reactor.Wake();
                int expected = i;
                Assert.That(Wait.Until(() => poller.Polled == expected, 5000), Is.True, $"hand-over {i} was never polled");
            }
            Assert.That(reactor.GetStats().Wakeups - wakeupsBefore, Is.GreaterThan(RoundTrips / 2));
        }
        finally
        {
            reactor.Stop();
        }
        Assert.That(poller.Violations, Is.Zero);
        Assert.That(poller.Prepares, Is.EqualTo(poller.Unparks));
        Assert.That(reactor.GetStats().WakeLatencySamples, Is.GreaterThan(0));
    }

    [Test]
    public void Wake_OnAReactorThatIsNotRunning_IsANoOp()
    {
        var reactor = Wait.ParkingReactor();
        Assert.That(reactor.Wake, Throws.Nothing);
        reactor.Start();
        reactor.Stop();
        Assert.That(reactor.Wake, Throws.Nothing);
    }

    [Test, CancelAfter(30_000)]
    public void WakeSource_SignalledFromAnotherThread_WakesTheReactor_AndIsDrained()
    {
        using var call = new EventFd();
        var reactor = Wait.ParkingReactor();
        var device = new ParkablePoller { Owner = reactor };
        reactor.AddPoller(device);
        reactor.AddWakeSource(call);
        try
        {
            reactor.Start();
            for (int i = 1; i <= 50; i++)
            {
                Assert.That(Wait.UntilParked(reactor), Is.True);
                // A "device" on another thread completes work and raises its interrupt; nobody calls Wake.
                var signaller = new Thread(() => { device.Hand(); call.Signal(); }) { IsBackground = true };
                signaller.Start();
                Assert.That(signaller.Join(5000), Is.True);
                int expected = i;
                Assert.That(Wait.Until(() => device.Polled == expected, 5000), Is.True, $"interrupt {i} did not wake the reactor");
                Assert.That(call.TryConsume(out _), Is.False, "the reactor reset the eventfd before it polled");
            }
        }
        finally
        {
            reactor.Stop();
        }
        ReactorStats stats = reactor.GetStats();
        Assert.That(stats.Wakeups, Is.GreaterThanOrEqualTo(45), "nearly every interrupt found the reactor asleep");
        Assert.That(stats.WakeLatencySamples, Is.Zero, "no post or Wake: the interrupts alone woke it");
        Assert.That(stats.ParkTimeouts, Is.Zero);
        Assert.That(device.Violations, Is.Zero);
    }

    [Test, CancelAfter(30_000)]
    public void WakeSources_AreManagedOnTheReactorThread_OrBeforeStart()
    {
        using var first = new EventFd();
        using var second = new EventFd();
        var reactor = Wait.ParkingReactor();
        reactor.AddWakeSource(first);
        Assert.That(() => reactor.AddWakeSource(first), Throws.ArgumentException);
        var device = new ParkablePoller { Owner = reactor };
        reactor.AddPoller(device);
        try
        {
            reactor.Start();
            Assert.That(() => reactor.AddWakeSource(second), Throws.InvalidOperationException);
            Assert.That(() => reactor.RemoveWakeSource(first), Throws.InvalidOperationException);

            bool removed = false;
            reactor.Post(_ => { reactor.AddWakeSource(second); removed = reactor.RemoveWakeSource(first); }, null);
            Assert.That(Wait.Until(() => Volatile.Read(ref removed)), Is.True);
            Assert.That(reactor.WakeSourceCount, Is.EqualTo(1));

            Assert.That(Wait.UntilParked(reactor), Is.True);
            device.Hand();
            second.Signal();
            Assert.That(Wait.Until(() => device.Polled == 1), Is.True, "a source added on the reactor thread wakes it");
        }
        finally
        {
            reactor.Stop();
        }
    }

    [Test, CancelAfter(30_000)]
    public void WakeSource_ClosedWhileRegistered_IsRemovedAndReported()
    {
        // A short safety net: closing an fd does not end a poll(2) already sleeping on it; the next one sees POLLNVAL.
        var reactor = Wait.ParkingReactor(maxPark: TimeSpan.FromMilliseconds(10));
        using var original = new EventFd();
        var borrowed = EventFd.FromFd(FileDescriptor.Duplicate(original.Fd), ownsFd: true);
        reactor.AddWakeSource(borrowed);
        Exception? reported = null;
        reactor.PollerFaulted += e => Volatile.Write(ref reported, e);
        try
        {
            reactor.Start();
            Assert.That(Wait.UntilParked(reactor), Is.True);
            borrowed.Dispose();
            Assert.That(Wait.Until(() => Volatile.Read(ref reported) is not null), Is.True);
            Assert.That(Wait.Until(() => reactor.WakeSourceCount == 0), Is.True);
            long timeouts = reactor.GetStats().ParkTimeouts;
            Assert.That(Wait.Until(() => reactor.GetStats().ParkTimeouts > timeouts + 2), Is.True, "parks sleep again once it is gone");
        }
        finally
        {
            reactor.Stop();
        }
    }

    [Test, CancelAfter(30_000)]
    public void MaxPark_EndsQuietParks_CountedAsTimeouts()
    {
        var reactor = Wait.ParkingReactor(maxPark: TimeSpan.FromMilliseconds(5));
        try
        {
            reactor.Start();
            Assert.That(Wait.Until(() => reactor.GetStats().ParkTimeouts >= 5), Is.True);
        }
        finally
        {
            reactor.Stop();
        }
        ReactorStats stats = reactor.GetStats();
        Assert.That(stats.Parks, Is.EqualTo(stats.ParkTimeouts + stats.Wakeups), "every sleep ends one way or the other");
        Assert.That(stats.ParkTicks, Is.LessThanOrEqualTo(stats.IdleTicks));
        Assert.That(reactor.MaxPark, Is.EqualTo(TimeSpan.FromMilliseconds(5)));
    }

    [Test, CancelAfter(30_000)]
    public void Stop_OfAParkedReactor_ReturnsPromptly()
    {
        var reactor = Wait.ParkingReactor();   // would sleep forever without a wake-up
        try
        {
            reactor.Start();
            Assert.That(Wait.UntilParked(reactor), Is.True);
            Thread.Sleep(20);
        }
        finally
        {
            var sw = Stopwatch.StartNew();
            reactor.Stop();
            Assert.That(sw.Elapsed, Is.LessThan(TimeSpan.FromSeconds(2)));
        }
        Assert.That(reactor.IsRunning, Is.False);
        Assert.That(() => reactor.Post(_ => { }, null), Throws.InvalidOperationException);
    }

    internal static string Describe(ReactorStats s) =>
        $"parks {s.Parks}, wakeups {s.Wakeups}, timeouts {s.ParkTimeouts}, aborts {s.ParkAborts}, " +
        $"wake latency mean {s.MeanWakeLatencyTicks * 1e6 / Stopwatch.Frequency:F1} µs max {s.MaxWakeLatencyTicks * 1e6 / Stopwatch.Frequency:F1} µs " +
        $"({s.WakeLatencySamples} samples)";
}
