using System.Diagnostics;
using Orion.Pmd.Reactors;

namespace Orion.Pmd.Reactors.Tests;

/// <summary>The park handshake with IParkablePoller, the idle budget, and run-time policy changes.</summary>
public class ReactorParkProtocolTests
{
    [Test, CancelAfter(30_000)]
    public void PrepareToPark_ReturningFalse_PreventsParking_AndIsStillUnparked()
    {
        var reactor = Wait.ParkingReactor();
        var busyDevice = new ParkablePoller { Consent = _ => false };
        busyDevice.Owner = reactor;
        reactor.AddPoller(busyDevice);
        try
        {
            reactor.Start();
            Assert.That(Wait.Until(() => busyDevice.Prepares > 100), Is.True);
        }
        finally
        {
            reactor.Stop();
        }
        ReactorStats stats = reactor.GetStats();
        Assert.That(stats.Parks, Is.Zero);
        Assert.That(stats.ParkAborts, Is.GreaterThanOrEqualTo(busyDevice.Prepares));
        Assert.That(busyDevice.Unparks, Is.EqualTo(busyDevice.Prepares), "notifications re-enabled by a refusal are turned off again");
        Assert.That(busyDevice.Violations, Is.Zero);
    }

    [Test, CancelAfter(30_000)]
    public void PrepareToPark_AndUnparked_RunOnTheReactorThread_InPairs_AroundEverySleep()
    {
        var reactor = Wait.ParkingReactor(maxPark: TimeSpan.FromMilliseconds(2));
        // Two parkable pollers, the second refusing now and then: the first must be unparked then too.
        var first = new ParkablePoller { Owner = reactor };
        var second = new ParkablePoller { Owner = reactor, Consent = call => call % 3 != 0 };
        reactor.AddPoller(first);
        reactor.AddPoller(new CountingPoller());
        reactor.AddPoller(second);
        var counter = new StrongCounter();
        try
        {
            reactor.Start();
            for (int i = 0; i < 200; i++)
            {
                if (i % 2 == 0) reactor.Post(StrongCounter.Increment, counter);
                else { first.Hand(); reactor.Wake(); }
                Thread.SpinWait(i * 50);
            }
            Assert.That(Wait.Until(() => Volatile.Read(ref counter.Value) == 100 && first.Polled == 100), Is.True);
            Assert.That(Wait.Until(() => reactor.GetStats().Parks > 10 && second.Prepares > 20), Is.True);
        }
        finally
        {
            reactor.Stop();
        }
        Assert.That(first.Violations + second.Violations, Is.Zero, "every call on the reactor thread, never nested, never polled while armed");
        Assert.That(first.Unparks, Is.EqualTo(first.Prepares));
        Assert.That(second.Unparks, Is.EqualTo(second.Prepares));
        Assert.That(second.Prepares, Is.LessThanOrEqualTo(first.Prepares), "a refusal by the first poller would skip the second");
        Assert.That(reactor.GetStats().ParkAborts, Is.GreaterThan(0));
    }

    [Test, CancelAfter(30_000)]
    public void PrepareToPark_Throwing_RemovesThePoller_AndParkingGoesOn()
    {
        var reactor = Wait.ParkingReactor(maxPark: TimeSpan.FromMilliseconds(5));
        var faulty = new ParkablePoller { OnPrepare = () => throw new InvalidOperationException("arm failed") };
        var healthy = new ParkablePoller();
        reactor.AddPoller(healthy);
        reactor.AddPoller(faulty);
        Exception? reported = null;
        reactor.PollerFaulted += e => Volatile.Write(ref reported, e);
        try
        {
            reactor.Start();
            Assert.That(Wait.Until(() => Volatile.Read(ref reported) is not null), Is.True);
            Assert.That(Wait.Until(() => reactor.GetStats().Parks > 3), Is.True);
            Assert.That(reactor.PollerCount, Is.EqualTo(1));
        }
        finally
        {
            reactor.Stop();
        }
        Assert.That(reported, Has.Message.EqualTo("arm failed"));
        Assert.That(faulty.Prepares, Is.EqualTo(1));
        Assert.That(faulty.Unparks, Is.Zero, "a faulted poller is not called again");
        Assert.That(healthy.Unparks, Is.EqualTo(healthy.Prepares));
    }

    [Test, CancelAfter(30_000)]
    public void ParkAfter_NoParkWhileWorkFlows_AndTheBudgetRunsFromTheLastWork()
    {
        TimeSpan budget = TimeSpan.FromMilliseconds(50);
        var reactor = new Reactor(new ReactorOptions { IdlePolicy = IdlePolicy.Park, ParkAfter = budget, MaxPark = Timeout.InfiniteTimeSpan });
        long flowUntil = 0, lastWork = 0, firstPrepare = 0;
        int iterations = 0, idleGaps = 0;
        // Work flows for three budgets, with an idle iteration every 8th: short gaps must not trigger a park.
        reactor.AddPoller(new FuncPoller(() =>
        {
            long now = Stopwatch.GetTimestamp();
            if (flowUntil == 0) flowUntil = now + 3 * (long)(budget.TotalSeconds * Stopwatch.Frequency);
            if (now >= flowUntil) return 0;
            if (++iterations % 8 == 0) { idleGaps++; return 0; }
            Volatile.Write(ref lastWork, now);
            return 1;
        }));
        var device = new ParkablePoller();
        device.OnPrepare = () => { if (firstPrepare == 0) Volatile.Write(ref firstPrepare, Stopwatch.GetTimestamp()); };
        reactor.AddPoller(device);
        try
        {
            reactor.Start();
            Assert.That(Wait.Until(() => Volatile.Read(ref firstPrepare) != 0), Is.True);
            Assert.That(Wait.UntilParked(reactor), Is.True);
        }
        finally
        {
            reactor.Stop();
        }
        Assert.That(idleGaps, Is.GreaterThan(10));
        Assert.That(firstPrepare, Is.GreaterThan(lastWork), "no park attempt while work flowed");
        Assert.That(Stopwatch.GetElapsedTime(lastWork, firstPrepare), Is.GreaterThanOrEqualTo(budget));
        Assert.That(reactor.ParkAfter, Is.EqualTo(budget).Within(TimeSpan.FromTicks(1)));
    }

    [Test, CancelAfter(30_000)]
    public void SetIdlePolicy_SwitchesBetweenBusyPollAndPark_AtRunTime()
    {
        var reactor = new Reactor(new ReactorOptions { MaxPark = Timeout.InfiniteTimeSpan });   // BusyPoll
        reactor.AddPoller(new CountingPoller());
        try
        {
            reactor.Start();
            Assert.That(Wait.Until(() => reactor.GetStats().Iterations > 10_000), Is.True);
            Assert.That(reactor.GetStats().Parks, Is.Zero);

            reactor.SetIdlePolicy(IdlePolicy.Park, TimeSpan.FromMilliseconds(1));
            Assert.That(Wait.UntilParked(reactor), Is.True);
            Assert.That(reactor.IdlePolicy, Is.EqualTo(IdlePolicy.Park));
            Assert.That(reactor.ParkAfter, Is.EqualTo(TimeSpan.FromMilliseconds(1)).Within(TimeSpan.FromTicks(1)));

            reactor.SetIdlePolicy(IdlePolicy.BusyPoll);   // the message also wakes it
            Assert.That(Wait.Until(() => reactor.IdlePolicy == IdlePolicy.BusyPoll), Is.True);
            ReactorStats busy = reactor.GetStats();
            Assert.That(Wait.Until(() => reactor.GetStats().Iterations > busy.Iterations + 10_000), Is.True);
            Assert.That(reactor.GetStats().Parks, Is.EqualTo(busy.Parks), "busy-polling again");
            Assert.That(reactor.ParkAfter, Is.EqualTo(TimeSpan.FromMilliseconds(1)).Within(TimeSpan.FromTicks(1)), "kept when not given");

            reactor.SetIdlePolicy(IdlePolicy.Park, TimeSpan.Zero);
            Assert.That(Wait.Until(() => reactor.GetStats().Parks > busy.Parks), Is.True);
            Assert.That(reactor.ParkAfter, Is.EqualTo(TimeSpan.Zero));
        }
        finally
        {
            reactor.Stop();
        }
        Assert.That(() => reactor.SetIdlePolicy(IdlePolicy.Yield), Throws.InvalidOperationException, "a stopped reactor takes no messages");
    }

    [Test]
    public void SetIdlePolicy_AppliesAtTheNextIteration_OrAtOnceOnTheReactorThread()
    {
        var reactor = new Reactor(new ReactorOptions());
        reactor.SetIdlePolicy(IdlePolicy.Park, TimeSpan.FromMicroseconds(7));
        Assert.That(reactor.IdlePolicy, Is.EqualTo(IdlePolicy.BusyPoll), "still in flight");
        Assert.That(reactor.RunOnce(), Is.EqualTo(1), "the change is a message");
        Assert.That(reactor.IdlePolicy, Is.EqualTo(IdlePolicy.Park));
        Assert.That(reactor.ParkAfter, Is.EqualTo(TimeSpan.FromMicroseconds(7)).Within(TimeSpan.FromTicks(1)));

        IdlePolicy seen = IdlePolicy.Park;
        reactor.Post(_ => { reactor.SetIdlePolicy(IdlePolicy.Yield); seen = reactor.IdlePolicy; }, null);
        reactor.RunOnce();
        Assert.That(seen, Is.EqualTo(IdlePolicy.Yield));
    }

    [Test]
    public void SetIdlePolicy_ValidatesItsArguments()
    {
        var reactor = new Reactor(new ReactorOptions());
        Assert.That(() => reactor.SetIdlePolicy((IdlePolicy)42), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => reactor.SetIdlePolicy(IdlePolicy.Park, TimeSpan.FromTicks(-1)), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(reactor.RunOnce(), Is.Zero, "nothing was posted");
    }

    [Test]
    public void ParkOptions_HaveDefaults_AndAreValidated()
    {
        var options = new ReactorOptions();
        Assert.That(options.ParkAfter, Is.EqualTo(TimeSpan.FromMicroseconds(50)));
        Assert.That(options.MaxPark, Is.EqualTo(TimeSpan.FromMilliseconds(100)));
        var reactor = new Reactor(new ReactorOptions { IdlePolicy = IdlePolicy.Park });
        Assert.That(reactor.IdlePolicy, Is.EqualTo(IdlePolicy.Park));
        Assert.That(reactor.ParkAfter, Is.EqualTo(TimeSpan.FromMicroseconds(50)).Within(TimeSpan.FromTicks(1)));
        Assert.That(reactor.MaxPark, Is.EqualTo(TimeSpan.FromMilliseconds(100)));
        Assert.That(reactor.ToString(), Does.Contain("Park"));

        Assert.That(() => new Reactor(new ReactorOptions { ParkAfter = TimeSpan.FromTicks(-1) }), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => new Reactor(new ReactorOptions { MaxPark = TimeSpan.Zero }), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => new Reactor(new ReactorOptions { MaxPark = TimeSpan.FromDays(30) }), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => new Reactor(new ReactorOptions { IdlePolicy = (IdlePolicy)9 }), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => new Reactor(new ReactorOptions { MaxPark = Timeout.InfiniteTimeSpan }), Throws.Nothing);
        Assert.That(() => new Reactor(new ReactorOptions { ParkAfter = TimeSpan.Zero }), Throws.Nothing);
    }

    [Test]
    public void Stats_KeepTheirOldShape_AndSubtractTheNewCounters()
    {
        var old = new ReactorStats(10, 4, 400, 600, 3);
        Assert.That(old.Parks, Is.Zero);
        Assert.That(old.MeanWakeLatencyTicks, Is.Zero);
        Assert.That(old.IdleFraction, Is.EqualTo(0.6));

        var later = new ReactorStats(20, 5, 500, 1600, 4, Parks: 7, ParkTicks: 900, ParkAborts: 2, ParkTimeouts: 3,
            Wakeups: 4, WakeLatencySamples: 4, WakeLatencyTicks: 100, MaxWakeLatencyTicks: 60);
        var earlier = new ReactorStats(10, 4, 400, 600, 3, Parks: 2, ParkTicks: 100, ParkAborts: 1, ParkTimeouts: 1,
            Wakeups: 1, WakeLatencySamples: 1, WakeLatencyTicks: 10, MaxWakeLatencyTicks: 50);
        Assert.That(later - earlier, Is.EqualTo(new ReactorStats(10, 1, 100, 1000, 1, 5, 800, 1, 2, 3, 3, 90, 60)));
        Assert.That((later - earlier).MeanWakeLatencyTicks, Is.EqualTo(30));
    }

    private sealed class StrongCounter
    {
        public static readonly Action<object?> Increment = static s => Interlocked.Increment(ref ((StrongCounter)s!).Value);
        public long Value;
    }
}
