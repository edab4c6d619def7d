using Orion.Pmd.Linux;
using Orion.Pmd.Reactors;

namespace Orion.Pmd.Reactors.Tests;

/// <summary>
/// IdlePolicy.Hybrid on a real thread: it busy-polls while nothing waits on the kernel, parks as soon as a poller's
/// work is in the kernel, and the kernel's completion signal (a wake source) ends the park. MaxPark is infinite, so a
/// missed wake-up fails the test instead of hiding behind the safety net.
/// </summary>
public class ReactorHybridTests
{
    /// <summary>
    /// A stand-in for file I/O through io_uring: <see cref="Submit"/> puts a request "in the kernel"; another thread
    /// completes it by raising a flag and signalling the completion eventfd, as the kernel does for a registered eventfd.
    /// </summary>
    private sealed class KernelIoPoller(EventFd completions) : IKernelWaitPoller
    {
        private int _inFlight, _finished, _reaped;

        public int Reaped => Volatile.Read(ref _reaped);
        public int InFlight => Volatile.Read(ref _inFlight);

        public void Submit() => Interlocked.Increment(ref _inFlight);

        public void CompleteFromKernel()
        {
            Interlocked.Increment(ref _finished);
            completions.Signal();
        }

        public int Poll()
        {
            int done = Interlocked.Exchange(ref _finished, 0);
            if (done == 0) return 0;
            Interlocked.Add(ref _inFlight, -done);
            Interlocked.Add(ref _reaped, done);
            return done;
        }

        public bool PrepareToPark() => Volatile.Read(ref _finished) == 0;

        public void Unparked() { }

        public bool WaitsOnKernel => Volatile.Read(ref _inFlight) > 0;
    }

    /// <summary>A Hybrid reactor that never parks for idling alone (unless told otherwise), so every park is the kernel rule's.</summary>
    private static Reactor HybridReactor(TimeSpan? parkAfter = null) =>
        new(new ReactorOptions { IdlePolicy = IdlePolicy.Hybrid, ParkAfter = parkAfter ?? TimeSpan.FromHours(1), MaxPark = Timeout.InfiniteTimeSpan });

    [Test, CancelAfter(30_000)]
    public void Hybrid_ParksWhileWorkIsInTheKernel_AndTheCompletionWakesIt()
    {
        const int Requests = 20;
        using var completions = new EventFd();
        var io = new KernelIoPoller(completions);
        var reactor = HybridReactor();
        reactor.AddPoller(io);
        reactor.AddWakeSource(completions);
        try
        {
            reactor.Start();
            for (int i = 1; i <= Requests; i++)
            {
                long parksBefore = reactor.GetStats().Parks;
                io.Submit();
                // The reactor must go to sleep on its own while the request is "in the kernel".
                Assert.That(Wait.Until(() => reactor.GetStats().Parks > parksBefore && reactor.IsParking), Is.True,
                    $"request {i}: the reactor did not park while its only work was in the kernel");
                io.CompleteFromKernel();
                Assert.That(Wait.Until(() => io.Reaped == i), Is.True, $"request {i}: the completion signal did not wake the reactor");
            }
        }
        finally
        {
            reactor.Stop();
        }
        Assert.That(reactor.GetStats().Wakeups, Is.GreaterThanOrEqualTo(Requests), "every completion ended a park");
    }

    [Test, CancelAfter(30_000)]
    public void Hybrid_WithNothingInTheKernel_BusyPollsAndNeverParks()
    {
        using var completions = new EventFd();
        var io = new KernelIoPoller(completions);
        var reactor = HybridReactor();
        reactor.AddPoller(io);
        reactor.AddWakeSource(completions);
        ReactorStats stats;
        try
        {
            reactor.Start();
            Thread.Sleep(50);   // idle, nothing in flight: spins like BusyPoll (one core, briefly)
            stats = reactor.GetStats();
        }
        finally
        {
            reactor.Stop();
        }
        Assert.That(stats.Parks, Is.Zero, "no poller waited on the kernel and the idle budget is an hour: no reason to sleep");
        Assert.That(stats.Iterations, Is.GreaterThan(1000), "it polled instead");
    }

    [Test, CancelAfter(30_000)]
    public void Hybrid_WithNothingInTheKernel_ParksAfterItsIdleBudget_AsParkDoes()
    {
        var reactor = HybridReactor(parkAfter: TimeSpan.Zero);
        reactor.AddPoller(new CountingPoller());
        try
        {
            reactor.Start();
            Assert.That(Wait.UntilParked(reactor), Is.True, "an idle Hybrid reactor parks after ParkAfter, as under Park");
        }
        finally
        {
            reactor.Stop();
        }
    }

    [Test, CancelAfter(30_000)]
    public void Hybrid_ParkedOnTheKernel_StillRunsAPostedMessage()
    {
        using var completions = new EventFd();
        var io = new KernelIoPoller(completions);
        var reactor = HybridReactor();
        reactor.AddPoller(io);
        reactor.AddWakeSource(completions);
        using var ran = new ManualResetEventSlim();
        try
        {
            reactor.Start();
            io.Submit();   // never completed: only the message can end this park
            Assert.That(Wait.UntilParked(reactor), Is.True);
            reactor.Post(static s => ((ManualResetEventSlim)s!).Set(), ran);
            Assert.That(ran.Wait(5000), Is.True, "a message posted to a reactor parked on kernel I/O waited for the I/O");
            Assert.That(reactor.MayPark, Is.True);
        }
        finally
        {
            io.CompleteFromKernel();
            reactor.Stop();
        }
    }

    [Test]
    public void MayPark_IsTrueForEveryPolicyButBusyPoll()
    {
        foreach (IdlePolicy policy in Enum.GetValues<IdlePolicy>())
        {
            var reactor = new Reactor(new ReactorOptions { IdlePolicy = policy });
            Assert.That(reactor.MayPark, Is.EqualTo(policy != IdlePolicy.BusyPoll), policy.ToString());
            reactor.Stop();
        }
    }

    [Test, CancelAfter(30_000)]
    public void AYieldingReactor_ParksWhileWorkIsInTheKernel_AndTheCompletionWakesIt()
    {
        using var completions = new EventFd();
        var io = new KernelIoPoller(completions);
        var reactor = new Reactor(new ReactorOptions { IdlePolicy = IdlePolicy.Yield, MaxPark = Timeout.InfiniteTimeSpan });
        reactor.AddPoller(io);
        reactor.AddWakeSource(completions);
        try
        {
            reactor.Start();
            for (int i = 1; i <= 5; i++)
            {
                long parksBefore = reactor.GetStats().Parks;
                io.Submit();
                Assert.That(Wait.Until(() => reactor.GetStats().Parks > parksBefore && reactor.IsParking), Is.True,
                    $"request {i}: a yielding reactor waiting on the kernel did not park (it would Sleep(1) instead)");
                io.CompleteFromKernel();
                Assert.That(Wait.Until(() => io.Reaped == i), Is.True, $"request {i}: the completion did not wake the reactor");
            }
        }
        finally
        {
            reactor.Stop();
        }
    }

    /// <summary>A sleep host that records what the reactor tells it; it never waits on the kernel, so the reactor never parks.</summary>
    private sealed class RecordingSleepHost : IKernelSleepHost
    {
        private int _submitDeferred;

        public int SubmitDeferredCalls => Volatile.Read(ref _submitDeferred);
        public int Poll() => 0;
        public bool PrepareToPark() => true;
        public void Unparked() { }
        public bool WaitsOnKernel => false;
        public EventFd? CompletionSignal => null;

        public bool SleepInKernel(EventFd wakeFd, int timeoutMs, out bool wakeFdReady)
        {
            wakeFdReady = false;
            return false;
        }

        public void SubmitDeferred() => Interlocked.Increment(ref _submitDeferred);
    }

    /// <summary>
    /// A sleep host may keep submissions back for a sleep inside its ring; a reactor switched to busy polling never
    /// sleeps there, so it must tell the host at once (hand over, keep nothing more) instead of letting every later
    /// submission wait out the host's deferral.
    /// </summary>
    [Test, CancelAfter(30_000)]
    public void SwitchingToBusyPolling_TellsEverySleepHostToKeepNothingBack()
    {
        var host = new RecordingSleepHost();
        var reactor = HybridReactor();
        reactor.AddPoller(host);
        try
        {
            reactor.Start();
            Assert.That(Wait.Until(() => reactor.GetStats().Iterations > 100), Is.True);
            Assert.That(host.SubmitDeferredCalls, Is.Zero, "the reactor never slept: nothing to hand over yet");
            reactor.SetIdlePolicy(IdlePolicy.BusyPoll);
            Assert.That(Wait.Until(() => host.SubmitDeferredCalls == 1), Is.True, "the switch to busy polling reached the sleep host");
        }
        finally
        {
            reactor.Stop();
        }
    }
}
