namespace Orion.Pmd.Reactors;

/// <summary>How to build a <see cref="Reactor"/>.</summary>
public sealed class ReactorOptions
{
    /// <summary>The reactor's number, used in its thread name and by callers to pick their queue.</summary>
    public int Id { get; init; }

    /// <summary>The cpu to pin the reactor thread to (take it from <c>CpuAffinity.GetAllowedCpus()</c>); null = unpinned.</summary>
    public int? Core { get; init; }

    /// <summary>What the loop does after an idle iteration. Busy-polling is the production default.</summary>
    public IdlePolicy IdlePolicy { get; init; } = IdlePolicy.BusyPoll;

    /// <summary>
    /// Under <see cref="IdlePolicy.Park"/> and <see cref="IdlePolicy.Hybrid"/>: how long the loop keeps busy-polling without finding work before it
    /// parks. 50 µs (Seastar's <c>idle_poll_time_us</c> default is 200 µs) rides out the gaps inside a burst of
    /// requests at a cost of at most 50 µs of spinning per quiet spell. Zero parks at the first idle iteration.
    /// </summary>
    public TimeSpan ParkAfter { get; init; } = TimeSpan.FromMicroseconds(50);

    /// <summary>
    /// Under <see cref="IdlePolicy.Park"/>: the longest single sleep, a safety net should a wake-up ever be
    /// missed (such sleeps are counted in <see cref="ReactorStats.ParkTimeouts"/>). Rounded up to whole
    /// milliseconds (poll(2)'s unit); <see cref="Timeout.InfiniteTimeSpan"/> = no limit.
    /// </summary>
    public TimeSpan MaxPark { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The OS thread name; defaults to "reactor-{Id}". Linux shows the first 15 bytes.</summary>
    public string? Name { get; init; }

    /// <summary>Cross-thread message ring size, rounded up to a power of two.</summary>
    public int MessageCapacity { get; init; } = 1024;
}
