namespace Orion.Pmd.Reactors;

/// <summary>
/// Drives several pollers, and un-started reactors, round-robin on one thread: deterministic multi-"thread"
/// tests in the spirit of SPDK's ut_multithread. Nothing spins in the background, so tests are repeatable and
/// cheap on a 2-core machine.
/// </summary>
public sealed class PollerHarness
{
    private readonly List<IPoller> _pollers = [];

    /// <summary>Iterations run so far.</summary>
    public long Iterations { get; private set; }

    /// <summary>Adds a poller, run after those already added.</summary>
    public PollerHarness Add(IPoller poller)
    {
        ArgumentNullException.ThrowIfNull(poller);
        _pollers.Add(poller);
        return this;
    }

    /// <summary>Adds an un-started reactor; each harness iteration runs one <see cref="Reactor.RunOnce"/> of it.</summary>
    public PollerHarness Add(Reactor reactor)
    {
        ArgumentNullException.ThrowIfNull(reactor);
        _pollers.Add(new ReactorPoller(reactor));
        return this;
    }

    /// <summary>Runs everything once, in the order added; returns the total work.</summary>
    public int RunOnce()
    {
        int work = 0;
        foreach (IPoller poller in _pollers)
        {
            int done = poller.Poll();
            if (done > 0) work += done;
        }
        Iterations++;
        return work;
    }

    /// <summary>
    /// Runs iterations until <paramref name="condition"/> holds (checked before each); true if it did within
    /// <paramref name="maxIterations"/>.
    /// </summary>
    public bool RunUntil(Func<bool> condition, int maxIterations = 1_000_000)
    {
        ArgumentNullException.ThrowIfNull(condition);
        for (int i = 0; i < maxIterations; i++)
        {
            if (condition()) return true;
            RunOnce();
        }
        return condition();
    }

    /// <summary>
    /// Runs until an iteration does no work; returns the iterations run, the idle one included.
    /// </summary>
    /// <exception cref="InvalidOperationException">Still busy after <paramref name="maxIterations"/>.</exception>
    public int RunUntilIdle(int maxIterations = 1_000_000)
    {
        for (int i = 1; i <= maxIterations; i++)
        {
            if (RunOnce() == 0) return i;
        }
        throw new InvalidOperationException($"the pollers were still busy after {maxIterations} iterations");
    }

    private sealed class ReactorPoller(Reactor reactor) : IPoller
    {
        public int Poll() => reactor.RunOnce();
    }
}
