using Orion.Pmd.Reactors;

namespace Orion.Pmd.Reactors.Tests;

/// <summary>Loop behaviour, driven with RunOnce on the test thread unless a real thread is the point.</summary>
public class ReactorPollingTests
{
    [Test]
    public void Pollers_RunInTheOrderAdded_AfterMessages()
    {
        var reactor = new Reactor(new ReactorOptions());
        var log = new List<string>();
        reactor.AddPoller(new FuncPoller(() => { log.Add("a"); return 0; }));
        reactor.AddPoller(new FuncPoller(() => { log.Add("b"); return 0; }));
        reactor.AddPoller(new FuncPoller(() => { log.Add("c"); return 0; }));
        reactor.Post(_ => log.Add("message"), null);

        Assert.That(reactor.RunOnce(), Is.EqualTo(1), "the message counts as work");
        Assert.That(reactor.RunOnce(), Is.Zero);
        Assert.That(log, Is.EqualTo(new[] { "message", "a", "b", "c", "a", "b", "c" }));
    }

    [Test]
    public void RunOnce_ReturnsTotalWork_AndSetsCurrent()
    {
        var reactor = new Reactor(new ReactorOptions());
        Reactor? seen = null;
        reactor.AddPoller(new FuncPoller(() => { seen = Reactor.Current; return 2; }));
        reactor.AddPoller(new CountingPoller(3));
        Assert.That(reactor.RunOnce(), Is.EqualTo(5));
        Assert.That(seen, Is.SameAs(reactor));
        Assert.That(Reactor.Current, Is.Null);
    }

    [Test]
    public void Messages_AreDrainedInBoundedBatches()
    {
        var reactor = new Reactor(new ReactorOptions { MessageCapacity = 256 });
        var poller = new CountingPoller();
        reactor.AddPoller(poller);
        int ran = 0;
        for (int i = 0; i < 100; i++) reactor.Post(_ => ran++, null);

        Assert.That(reactor.RunOnce(), Is.EqualTo(Reactor.MessageBatch));
        Assert.That(poller.Polls, Is.EqualTo(1), "pollers get their turn between batches");
        Assert.That(reactor.RunOnce(), Is.EqualTo(100 - Reactor.MessageBatch));
        Assert.That(ran, Is.EqualTo(100));
        Assert.That(reactor.GetStats().MessagesProcessed, Is.EqualTo(100));
    }

    [Test]
    public void TryPost_ReturnsFalseWhenTheRingIsFull()
    {
        var reactor = new Reactor(new ReactorOptions { MessageCapacity = 4 });
        for (int i = 0; i < 4; i++) Assert.That(reactor.TryPost(_ => { }, null), Is.True);
        Assert.That(reactor.TryPost(_ => { }, null), Is.False);
        Assert.That(() => reactor.Post(_ => { }, null), Throws.InvalidOperationException,
            "nothing drains an un-started reactor, so Post refuses to wait forever");
        reactor.RunOnce();
        Assert.That(reactor.TryPost(_ => { }, null), Is.True);
    }

    [Test]
    public void BusyAndIdle_AreAccountedPerIteration()
    {
        var reactor = new Reactor(new ReactorOptions());
        var poller = new CountingPoller(0, () => Thread.SpinWait(20));
        reactor.AddPoller(poller);
        for (int i = 0; i < 100; i++) reactor.RunOnce();
        ReactorStats idle = reactor.GetStats();
        Assert.That(idle.Iterations, Is.EqualTo(100));
        Assert.That(idle.BusyIterations, Is.Zero);
        Assert.That(idle.BusyTicks, Is.Zero);
        Assert.That(idle.IdleTicks, Is.GreaterThan(0));
        Assert.That(idle.IdleFraction, Is.EqualTo(1.0));

        poller.WorkPerPoll = 1;
        for (int i = 0; i < 50; i++) reactor.RunOnce();
        ReactorStats delta = reactor.GetStats() - idle;
        Assert.That(delta.Iterations, Is.EqualTo(50));
        Assert.That(delta.BusyIterations, Is.EqualTo(50));
        Assert.That(delta.BusyTicks, Is.GreaterThan(0));
        Assert.That(delta.IdleTicks, Is.Zero);
        Assert.That(delta.IdleFraction, Is.Zero);
    }

    [Test]
    public void BusyAndIdle_OnARealThread()
    {
        var poller = new CountingPoller(0);
        var reactor = Wait.YieldingReactor();
        reactor.AddPoller(poller);
        try
        {
            reactor.Start();
            Assert.That(Wait.Until(() => reactor.GetStats().Iterations > 100), Is.True);
            ReactorStats idle = reactor.GetStats();
            Assert.That(idle.BusyIterations, Is.Zero);
            Assert.That(idle.IdleTicks, Is.GreaterThan(0));

            poller.WorkPerPoll = 1;
            Assert.That(Wait.Until(() => reactor.GetStats().BusyIterations > 100), Is.True);
            Assert.That(reactor.GetStats().BusyTicks, Is.GreaterThan(0));
        }
        finally
        {
            reactor.Stop();
        }
        Assert.That(reactor.GetStats().IdleFraction, Is.InRange(0.0, 1.0));
    }

    [Test]
    public void FaultingPoller_IsRemovedAndReported_AndTheLoopGoesOn()
    {
        var reactor = new Reactor(new ReactorOptions());
        var before = new CountingPoller();
        var after = new CountingPoller();
        int faultyCalls = 0;
        reactor.AddPoller(before);
        reactor.AddPoller(new FuncPoller(() => { faultyCalls++; throw new InvalidDataException("boom"); }));
        reactor.AddPoller(after);
        var faults = new List<Exception>();
        reactor.PollerFaulted += faults.Add;

        reactor.RunOnce();
        reactor.RunOnce();

        Assert.That(faultyCalls, Is.EqualTo(1));
        Assert.That(faults, Has.Count.EqualTo(1));
        Assert.That(faults[0], Is.TypeOf<InvalidDataException>().With.Message.EqualTo("boom"));
        Assert.That(reactor.PollerCount, Is.EqualTo(2));
        Assert.That(before.Polls, Is.EqualTo(2));
        Assert.That(after.Polls, Is.EqualTo(2), "pollers after the faulty one still run in the same iteration");
    }

    [Test]
    public void FaultingPoller_OnARealThread_DoesNotKillTheLoop()
    {
        var reactor = Wait.YieldingReactor();
        var survivor = new CountingPoller();
        reactor.AddPoller(new FuncPoller(() => throw new InvalidOperationException("poller bug")));
        reactor.AddPoller(survivor);
        Exception? reported = null;
        reactor.PollerFaulted += e => { Volatile.Write(ref reported, e); throw new Exception("handler bug is ignored too"); };
        try
        {
            reactor.Start();
            Assert.That(Wait.Until(() => Volatile.Read(ref reported) is not null && survivor.Polls > 10), Is.True);
            Assert.That(reactor.IsRunning, Is.True);
        }
        finally
        {
            reactor.Stop();
        }
        Assert.That(reported, Is.TypeOf<InvalidOperationException>());
        Assert.That(reactor.PollerCount, Is.EqualTo(1));
    }

    [Test]
    public void FaultingMessage_IsReported_AndLaterMessagesRun()
    {
        var reactor = new Reactor(new ReactorOptions());
        Exception? reported = null;
        reactor.MessageFaulted += e => reported = e;
        bool ran = false;
        reactor.Post(_ => throw new ArgumentException("bad message"), null);
        reactor.Post(_ => ran = true, null);
        Assert.That(reactor.RunOnce(), Is.EqualTo(2));
        Assert.That(reported, Is.TypeOf<ArgumentException>());
        Assert.That(ran, Is.True);
    }

    [Test]
    public void Pollers_CanBeAddedAndRemovedFromTheReactorThread_Only()
    {
        var reactor = Wait.YieldingReactor();
        var added = new CountingPoller();
        Exception? fromOutside = null;
        try
        {
            reactor.Start();
            try { reactor.AddPoller(new CountingPoller()); } catch (Exception e) { fromOutside = e; }
            reactor.Post(_ => reactor.AddPoller(added), null);
            Assert.That(Wait.Until(() => added.Polls > 5), Is.True);

            bool removed = false;
            reactor.Post(_ => removed = reactor.RemovePoller(added), null);
            Assert.That(Wait.Until(() => Volatile.Read(ref removed)), Is.True);
            int polls = added.Polls;
            Thread.Sleep(10);
            Assert.That(added.Polls, Is.EqualTo(polls));
        }
        finally
        {
            reactor.Stop();
        }
        Assert.That(fromOutside, Is.InstanceOf<InvalidOperationException>());
    }

    [Test]
    public void PollerRemovingALaterPoller_StopsItRunningInTheSameIteration()
    {
        var reactor = new Reactor(new ReactorOptions());
        var victim = new CountingPoller();
        reactor.AddPoller(new FuncPoller(() => { reactor.RemovePoller(victim); return 0; }));
        reactor.AddPoller(victim);
        reactor.RunOnce();
        Assert.That(victim.Polls, Is.Zero);
        Assert.That(reactor.RemovePoller(victim), Is.False);
    }

    [Test]
    public void RunOnce_OnAStartedOrStoppedReactor_Throws()
    {
        var reactor = Wait.YieldingReactor();
        try
        {
            reactor.Start();
            Assert.That(() => reactor.RunOnce(), Throws.InvalidOperationException);
        }
        finally
        {
            reactor.Stop();
        }
        Assert.That(() => reactor.RunOnce(), Throws.InvalidOperationException);
    }
}
