namespace Orion.Pmd.Reactors;

/// <summary>
/// A snapshot of a reactor's loop counters. Ticks are <see cref="System.Diagnostics.Stopwatch"/> ticks
/// (nanoseconds on Linux). Fields are read one by one while the loop runs, so they may be one iteration apart.
/// </summary>
/// <param name="Iterations">Loop iterations run.</param>
/// <param name="BusyIterations">Iterations that processed a message or got non-zero work from a poller.</param>
/// <param name="BusyTicks">Time spent in busy iterations.</param>
/// <param name="IdleTicks">Time spent in idle iterations, including the idle policy's yields, sleeps and parks.</param>
/// <param name="MessagesProcessed">Cross-thread messages run.</param>
/// <param name="Parks">Times the reactor actually slept under <see cref="IdlePolicy.Park"/> (counted as it goes to sleep).</param>
/// <param name="ParkTicks">Time spent asleep in those parks; part of <paramref name="IdleTicks"/>.</param>
/// <param name="ParkAborts">
/// Park attempts abandoned before sleeping: an <see cref="IParkablePoller.PrepareToPark"/> said work was
/// pending, or a message or a stop arrived while the reactor was getting ready to sleep.
/// </param>
/// <param name="ParkTimeouts">Parks that ended because <see cref="ReactorOptions.MaxPark"/> passed with nothing to wake them.</param>
/// <param name="Wakeups">Parks ended by something to do: a message, <see cref="Reactor.Wake"/> or a wake source.</param>
/// <param name="WakeLatencySamples">Wake-ups whose latency was measured (those requested by a post or <see cref="Reactor.Wake"/>).</param>
/// <param name="WakeLatencyTicks">
/// Sum of those latencies: from the first wake request of a park (or the start of the sleep, if the request came
/// before it) to the reactor running again.
/// </param>
/// <param name="MaxWakeLatencyTicks">The largest such latency since the reactor started (a difference of snapshots keeps the later one's).</param>
/// <param name="KernelParks">Parks slept inside a poller's io_uring (<see cref="IKernelSleepHost"/>) instead of poll(2); part of <paramref name="Parks"/>.</param>
public readonly record struct ReactorStats(
    long Iterations,
    long BusyIterations,
    long BusyTicks,
    long IdleTicks,
    long MessagesProcessed,
    long Parks = 0,
    long ParkTicks = 0,
    long ParkAborts = 0,
    long ParkTimeouts = 0,
    long Wakeups = 0,
    long WakeLatencySamples = 0,
    long WakeLatencyTicks = 0,
    long MaxWakeLatencyTicks = 0,
    long KernelParks = 0)
{
    /// <summary>Idle share of the accounted time, 0 to 1 (0 before any iteration).</summary>
    public double IdleFraction
    {
        get
        {
            long total = BusyTicks + IdleTicks;
            return total == 0 ? 0 : (double)IdleTicks / total;
        }
    }

    /// <summary>Mean wake-up latency in ticks (0 before the first sample).</summary>
    public double MeanWakeLatencyTicks => WakeLatencySamples == 0 ? 0 : (double)WakeLatencyTicks / WakeLatencySamples;

    /// <summary>The counters accumulated between two snapshots (<paramref name="later"/> minus <paramref name="earlier"/>).</summary>
    public static ReactorStats operator -(ReactorStats later, ReactorStats earlier) => new(
        later.Iterations - earlier.Iterations,
        later.BusyIterations - earlier.BusyIterations,
        later.BusyTicks - earlier.BusyTicks,
        later.IdleTicks - earlier.IdleTicks,
        later.MessagesProcessed - earlier.MessagesProcessed,
        later.Parks - earlier.Parks,
        later.ParkTicks - earlier.ParkTicks,
        later.ParkAborts - earlier.ParkAborts,
        later.ParkTimeouts - earlier.ParkTimeouts,
        later.Wakeups - earlier.Wakeups,
        later.WakeLatencySamples - earlier.WakeLatencySamples,
        later.WakeLatencyTicks - earlier.WakeLatencyTicks,
        later.MaxWakeLatencyTicks,
        later.KernelParks - earlier.KernelParks);
}
