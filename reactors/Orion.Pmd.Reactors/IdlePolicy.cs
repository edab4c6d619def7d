namespace Orion.Pmd.Reactors;

/// <summary>What a reactor thread does after an iteration that found no work.</summary>
public enum IdlePolicy
{
    /// <summary>Loop again at once: lowest latency, one core at 100 %. For pinned production reactors.</summary>
    BusyPoll,

    /// <summary>
    /// Give the core away: <see cref="Thread.Yield"/> first, then Sleep(0) and finally Sleep(1) as the idle
    /// streak grows. For unpinned reactors and tests on machines with fewer cores than spinning threads.
    /// </summary>
    Yield,
}
