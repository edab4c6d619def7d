using Orion.Pmd.Reactors;

namespace Orion.Pmd.Reactors.Tests;

/// <summary>The loop's steady state allocates nothing: messages, pollers, accounting.</summary>
public class ReactorAllocationTests
{
    private static readonly Action<object?> s_count = static s => ((Counter)s!).Value++;

    private sealed class Counter { public long Value; }

    [Test]
    public void RunOnce_WithMessagesAndPollers_AllocatesNothingAfterWarmUp()
    {
        var reactor = new Reactor(new ReactorOptions());
        var counter = new Counter();
        reactor.AddPoller(new CountingPoller(1));
        reactor.AddPoller(new CountingPoller(0));
        for (int i = 0; i < 2000; i++) { reactor.TryPost(s_count, counter); reactor.RunOnce(); reactor.GetStats(); }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20_000; i++)
        {
            reactor.TryPost(s_count, counter);
            reactor.RunOnce();
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.That(allocated, Is.Zero);
        Assert.That(counter.Value, Is.EqualTo(22_000));
    }

    [Test]
    public void TheLoopThread_AllocatesNothingAfterWarmUp()
    {
        // Measured on the reactor thread itself, as the architecture asks, across busy and idle iterations.
        const int WarmUp = 1000, Measured = 5000;
        int polls = 0;
        long start = -1, end = -1;
        var reactor = Wait.YieldingReactor();
        var counter = new Counter();
        reactor.AddPoller(new FuncPoller(() =>
        {
            polls++;
            if (polls == WarmUp) Volatile.Write(ref start, GC.GetAllocatedBytesForCurrentThread());
            else if (polls == WarmUp + Measured) Volatile.Write(ref end, GC.GetAllocatedBytesForCurrentThread());
            // Mostly busy, every 16th idle: idle iterations run the yield path too, but each yield can cost a
            // whole time slice on a loaded 2-core machine, so keep them few.
            return polls % 16 == 0 ? 0 : 1;
        }));
        try
        {
            reactor.Start();
            Assert.That(Wait.Until(() =>
            {
                reactor.TryPost(s_count, counter);   // keep messages flowing from another thread
                return Volatile.Read(ref end) >= 0;
            }, 10_000), Is.True);
        }
        finally
        {
            reactor.Stop();
        }
        Assert.That(end - start, Is.Zero);
        Assert.That(counter.Value, Is.GreaterThan(0));
    }
}
