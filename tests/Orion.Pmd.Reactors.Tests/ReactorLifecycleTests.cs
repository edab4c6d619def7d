using System.Runtime.CompilerServices;
using Orion.Pmd.Linux;
using Orion.Pmd.Reactors;

namespace Orion.Pmd.Reactors.Tests;

/// <summary>Real-thread tests: every reactor yields when idle and is stopped in a finally block.</summary>
public class ReactorLifecycleTests
{
    [Test]
    public void StartThenStop_JoinsTheThread()
    {
        var poller = new CountingPoller();
        var reactor = Wait.YieldingReactor();
        reactor.AddPoller(poller);
        Thread? loopThread = null;
        bool background = false;
        string? name = null;
        try
        {
            reactor.Start();
            Assert.That(reactor.IsRunning, Is.True);
            reactor.Post(_ =>
            {
                background = Thread.CurrentThread.IsBackground;
                name = Thread.CurrentThread.Name;
                Volatile.Write(ref loopThread, Thread.CurrentThread);
            }, null);
            Assert.That(Wait.Until(() => poller.Polls > 10 && Volatile.Read(ref loopThread) is not null), Is.True);
        }
        finally
        {
            reactor.Stop();
        }
        Assert.That(reactor.IsRunning, Is.False);
        Assert.That(loopThread!.IsAlive, Is.False, "Stop joined the loop thread");
        Assert.That(background, Is.True);
        Assert.That(name, Is.EqualTo("reactor-0"));
        int polls = poller.Polls;
        Thread.Sleep(10);
        Assert.That(poller.Polls, Is.EqualTo(polls), "no polling after Stop");
    }

    [Test]
    public void Stop_IsIdempotent_AndWorksWithoutStart()
    {
        var started = Wait.YieldingReactor();
        started.Start();
        started.Stop();
        Assert.That(() => started.Stop(), Throws.Nothing);
        Assert.That(() => started.Dispose(), Throws.Nothing);

        var never = Wait.YieldingReactor();
        never.Stop();
        never.Stop();
        Assert.That(() => never.Start(), Throws.InvalidOperationException);
    }

    [Test]
    public void Start_Twice_Throws()
    {
        var reactor = Wait.YieldingReactor();
        try
        {
            reactor.Start();
            Assert.That(() => reactor.Start(), Throws.InvalidOperationException);
        }
        finally
        {
            reactor.Stop();
        }
    }

    [Test]
    public void PostedMessages_RunOnTheReactorThread_WithCurrentSet()
    {
        var reactor = Wait.YieldingReactor(id: 3);
        Reactor? seenCurrent = null;
        bool seenIsCurrent = false;
        int seenManagedId = 0, seenTid = 0;
        using var done = new ManualResetEventSlim();
        try
        {
            reactor.Start();
            reactor.Post(_ =>
            {
                seenCurrent = Reactor.Current;
                seenIsCurrent = reactor.IsCurrent;
                seenManagedId = Environment.CurrentManagedThreadId;
                seenTid = CpuAffinity.CurrentThreadId();
                done.Set();
            }, null);
            Assert.That(done.Wait(5000), Is.True);
        }
        finally
        {
            reactor.Stop();
        }
        Assert.That(seenCurrent, Is.SameAs(reactor));
        Assert.That(seenIsCurrent, Is.True);
        Assert.That(seenManagedId, Is.Not.EqualTo(Environment.CurrentManagedThreadId));
        Assert.That(seenTid, Is.Not.EqualTo(CpuAffinity.CurrentThreadId()));
        Assert.That(Reactor.Current, Is.Null);
        Assert.That(reactor.IsCurrent, Is.False);
    }

    [Test]
    public void MessageState_IsPassedThrough()
    {
        var reactor = Wait.YieldingReactor();
        var box = new StrongBox<int>(0);
        try
        {
            reactor.Start();
            reactor.Post(static s => ((StrongBox<int>)s!).Value = 42, box);
            Assert.That(Wait.Until(() => Volatile.Read(ref box.Value) == 42), Is.True);
        }
        finally
        {
            reactor.Stop();
        }
    }

    [Test]
    public void Stop_RunsMessagesStillQueued()
    {
        // A poller that is slow once gives the test time to queue messages behind it.
        using var gate = new ManualResetEventSlim();
        using var inPoller = new ManualResetEventSlim();
        var reactor = Wait.YieldingReactor();
        reactor.AddPoller(new FuncPoller(() =>
        {
            if (!gate.IsSet) { inPoller.Set(); gate.Wait(5000); }
            return 0;
        }));
        int ran = 0;
        try
        {
            reactor.Start();
            Assert.That(inPoller.Wait(5000), Is.True);
            for (int i = 0; i < 100; i++) reactor.Post(_ => Interlocked.Increment(ref ran), null);
            var stopper = new Thread(reactor.Stop) { IsBackground = true };
            stopper.Start();
            Thread.Sleep(10);   // let Stop request the end before the poller returns
            gate.Set();
            Assert.That(stopper.Join(5000), Is.True);
        }
        finally
        {
            gate.Set();
            reactor.Stop();
        }
        Assert.That(ran, Is.EqualTo(100));
    }

    [Test]
    public void Stop_OfANeverStartedReactor_RunsQueuedMessagesOnTheCaller()
    {
        var reactor = Wait.YieldingReactor();
        Reactor? current = null;
        reactor.Post(_ => current = Reactor.Current, null);
        reactor.Stop();
        Assert.That(current, Is.SameAs(reactor));
        Assert.That(Reactor.Current, Is.Null);
    }

    [Test]
    public void Posting_AfterStopThrows_AndAfterDisposeThrowsObjectDisposed()
    {
        var stopped = Wait.YieldingReactor();
        stopped.Stop();
        Assert.That(() => stopped.TryPost(_ => { }, null), Throws.InvalidOperationException);
        Assert.That(() => stopped.Post(_ => { }, null), Throws.InvalidOperationException);

        var disposed = Wait.YieldingReactor();
        disposed.Start();
        disposed.Dispose();
        Assert.That(() => disposed.Post(_ => { }, null), Throws.TypeOf<ObjectDisposedException>());
        Assert.That(() => disposed.Start(), Throws.TypeOf<ObjectDisposedException>());
    }

    [Test]
    public void Stop_FromTheReactorThread_Throws()
    {
        var reactor = Wait.YieldingReactor();
        Exception? caught = null;
        using var done = new ManualResetEventSlim();
        try
        {
            reactor.Start();
            reactor.Post(_ =>
            {
                try { reactor.Stop(); } catch (Exception e) { caught = e; }
                done.Set();
            }, null);
            Assert.That(done.Wait(5000), Is.True);
        }
        finally
        {
            reactor.Stop();
        }
        Assert.That(caught, Is.InstanceOf<InvalidOperationException>());
    }

    [Test]
    public void PinnedReactor_RunsOnItsCoreOnly()
    {
        int core = CpuAffinity.GetAllowedCpus()[^1];
        var reactor = new Reactor(new ReactorOptions { Id = 1, Core = core, IdlePolicy = IdlePolicy.Yield, Name = "pinned" });
        int[]? allowed = null;
        var cpus = new HashSet<int>();
        using var done = new ManualResetEventSlim();
        int remaining = 20;
        reactor.AddPoller(new FuncPoller(() =>
        {
            if (remaining > 0)
            {
                cpus.Add(CpuAffinity.CurrentCpu());
                if (--remaining == 0) { allowed = CpuAffinity.GetAllowedCpus(); done.Set(); }
            }
            return 0;
        }));
        try
        {
            reactor.Start();
            Assert.That(done.Wait(5000), Is.True);
        }
        finally
        {
            reactor.Stop();
        }
        Assert.That(reactor.Core, Is.EqualTo(core));
        Assert.That(allowed, Is.EqualTo(new[] { core }));
        Assert.That(cpus, Is.EquivalentTo(new[] { core }));
        Assert.That(CpuAffinity.GetAllowedCpus(), Has.Length.GreaterThanOrEqualTo(1), "the test thread is not narrowed");
    }

    [Test]
    public void Start_WithAnUnusableCore_ThrowsAndLeavesTheReactorStopped()
    {
        int bad = CpuAffinity.MaxCpus - 1;
        Assume.That(CpuAffinity.GetAllowedCpus(), Does.Not.Contain(bad));
        var reactor = new Reactor(new ReactorOptions { Core = bad, IdlePolicy = IdlePolicy.Yield });
        var ex = Assert.Throws<InvalidOperationException>(reactor.Start);
        Assert.That(ex.InnerException, Is.InstanceOf<LinuxException>());
        Assert.That(reactor.IsRunning, Is.False);
        Assert.That(() => reactor.Stop(), Throws.Nothing);
    }

    [Test]
    public void Options_AreValidated()
    {
        Assert.That(() => new Reactor(new ReactorOptions { Core = -1 }), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => new Reactor(new ReactorOptions { MessageCapacity = 0 }), Throws.TypeOf<ArgumentOutOfRangeException>());
        var reactor = new Reactor(new ReactorOptions { Id = 7, Name = "custom" });
        Assert.That(reactor.Id, Is.EqualTo(7));
        Assert.That(reactor.Name, Is.EqualTo("custom"));
        Assert.That(reactor.Core, Is.Null);
        Assert.That(reactor.IdlePolicy, Is.EqualTo(IdlePolicy.BusyPoll));
    }
}
