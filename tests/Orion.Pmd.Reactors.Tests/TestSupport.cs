using System.Diagnostics;
using Orion.Pmd.Reactors;

namespace Orion.Pmd.Reactors.Tests;

/// <summary>A poller that returns a fixed amount of work and counts its calls.</summary>
internal sealed class CountingPoller(int workPerPoll = 0, Action? onPoll = null) : IPoller
{
    private int _polls;

    public int Polls => Volatile.Read(ref _polls);

    public int WorkPerPoll { get; set; } = workPerPoll;

    public int Poll()
    {
        Interlocked.Increment(ref _polls);
        onPoll?.Invoke();
        return WorkPerPoll;
    }
}

/// <summary>A poller whose body is a delegate.</summary>
internal sealed class FuncPoller(Func<int> poll) : IPoller
{
    public int Poll() => poll();
}

internal static class Wait
{
    /// <summary>Polls <paramref name="condition"/> every millisecond until true or the timeout; never spins the test thread.</summary>
    public static bool Until(Func<bool> condition, int timeoutMs = 5000)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.ElapsedMilliseconds > timeoutMs) return false;
            Thread.Sleep(1);
        }
        return true;
    }

    /// <summary>
    /// A reactor that parks when idle: as cheap on a 2-core machine as a yielding one. An infinite MaxPark by
    /// default, so that a lost wake-up shows as a message that never runs instead of one that runs late.
    /// </summary>
    public static Reactor ParkingReactor(TimeSpan? parkAfter = null, TimeSpan? maxPark = null, int messageCapacity = 1024) =>
        new(new ReactorOptions
        {
            IdlePolicy = IdlePolicy.Park,
            ParkAfter = parkAfter ?? TimeSpan.Zero,
            MaxPark = maxPark ?? Timeout.InfiniteTimeSpan,
            MessageCapacity = messageCapacity,
        });

    /// <summary>
    /// Waits until the reactor has slept at least once and is parked (or just about to park) now: best effort,
    /// since it may still find work and go on; the tests' assertions hold either way.
    /// </summary>
    public static bool UntilParked(Reactor reactor, int timeoutMs = 5000) =>
        Until(() => reactor.IsParking && reactor.GetStats().Parks > 0, timeoutMs);

    /// <summary>Starts a reactor that yields when idle, the only kind real-thread tests may run on 2 cores.</summary>
    public static Reactor YieldingReactor(int id = 0, int? core = null, int messageCapacity = 1024) =>
        new(new ReactorOptions { Id = id, Core = core, IdlePolicy = IdlePolicy.Yield, MessageCapacity = messageCapacity });
}
