namespace Orion.Pmd.Reactors;

/// <summary>
/// A snapshot of a reactor's loop counters. Ticks are <see cref="System.Diagnostics.Stopwatch"/> ticks
/// (nanoseconds on Linux). Fields are read one by one while the loop runs, so they may be one iteration apart.
/// </summary>
/// <param name="Iterations">Loop iterations run.</param>
/// <param name="BusyIterations">Iterations that processed a message or got non-zero work from a poller.</param>
/// <param name="BusyTicks">Time spent in busy iterations.</param>
/// <param name="IdleTicks">Time spent in idle iterations, including the idle policy's yields and sleeps.</param>
/// <param name="MessagesProcessed">Cross-thread messages run.</param>
public readonly record struct ReactorStats(long Iterations, long BusyIterations, long BusyTicks, long IdleTicks, long MessagesProcessed)
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

    /// <summary>The counters accumulated between two snapshots (<paramref name="later"/> minus <paramref name="earlier"/>).</summary>
    public static ReactorStats operator -(ReactorStats later, ReactorStats earlier) => new(
        later.Iterations - earlier.Iterations,
        later.BusyIterations - earlier.BusyIterations,
        later.BusyTicks - earlier.BusyTicks,
        later.IdleTicks - earlier.IdleTicks,
        later.MessagesProcessed - earlier.MessagesProcessed);
}
