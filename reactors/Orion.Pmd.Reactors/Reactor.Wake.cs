using System.Diagnostics;
using System.Runtime.CompilerServices;
using Orion.Pmd.Linux;

namespace Orion.Pmd.Reactors;

public sealed partial class Reactor
{
    private static readonly Action<object?> s_applyPolicy = static s => ((PolicyChange)s!).Apply();

    /// <summary>
    /// Wakes the reactor if it is parked or about to park, for code that hands it work by other means than
    /// <see cref="Post"/> (an engine's submission ring, a flag a poller reads). Call it after publishing the
    /// work. Any thread; when the reactor is not parking it costs one full fence and one read, no syscall
    /// (the fence is what makes the hand-over lost-wakeup-safe). A no-op on a reactor that is not running.
    /// </summary>
    public void Wake()
    {
        Interlocked.MemoryBarrier();   // the caller's work is visible before we read the flag (Dekker with TryPark)
        if (Volatile.Read(ref _park.Parking) != 0) SignalParked();
    }

    /// <summary>
    /// The slow half of a wake: the first requester of this park stamps the time and writes the eventfd; later
    /// ones see the stamp and return, since the reactor is already being woken.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void SignalParked()
    {
        if (Interlocked.CompareExchange(ref _park.WakeRequestedAt, Stopwatch.GetTimestamp(), 0) != 0) return;
        // Counted in like a poster, so Stop cannot close the eventfd under us; once stopping, Stop wakes the loop.
        Interlocked.Increment(ref _posters.Value);
        try
        {
            if (Volatile.Read(ref _state) == Running) _wakeFd?.Signal();
        }
        finally
        {
            Interlocked.Decrement(ref _posters.Value);
        }
    }

    /// <summary>
    /// Adds an eventfd the reactor waits on while parked, e.g. a device's call (used-buffer interrupt) eventfd;
    /// when it is signalled the reactor wakes, resets it and resumes polling. Pair it with an
    /// <see cref="IParkablePoller"/> that switches the device's notifications on to park. Same thread rules as
    /// <see cref="AddPoller"/>. The reactor does not own the fd: remove it before disposing it (one that breaks
    /// while registered is removed and reported through <see cref="PollerFaulted"/>).
    /// </summary>
    public void AddWakeSource(EventFd fd)
    {
        ArgumentNullException.ThrowIfNull(fd);
        ThrowIfPollersLocked();
        if (_wakeSources.Contains(fd)) throw new ArgumentException($"fd {fd.Fd} is already a wake source of {Name}", nameof(fd));
        _wakeSources.Add(fd);
        _pollSet.Add(fd.Fd);
    }

    /// <summary>Removes a wake source; false if it was not registered. Same thread rules as <see cref="AddPoller"/>.</summary>
    public bool RemoveWakeSource(EventFd fd)
    {
        ArgumentNullException.ThrowIfNull(fd);
        ThrowIfPollersLocked();
        int index = _wakeSources.IndexOf(fd);
        if (index < 0) return false;
        RemoveWakeSourceAt(index);
        return true;
    }

    /// <summary>How many wake sources are registered (racy when read from another thread while running).</summary>
    public int WakeSourceCount => _wakeSources.Count;

    private void RemoveWakeSourceAt(int index)
    {
        _wakeSources.RemoveAt(index);
        _pollSet.RemoveAt(index + 1);   // entry 0 is the reactor's own wake eventfd
    }

    /// <summary>
    /// Switches the idle policy (and, if given, <see cref="ReactorOptions.ParkAfter"/>) at run time, e.g. to
    /// park reactors while the system is quiet and busy-poll again under load. Any thread: the change travels
    /// as a message (waking a parked reactor) and applies from the next iteration; on the reactor's own
    /// thread it applies at once.
    /// </summary>
    /// <exception cref="InvalidOperationException">The reactor is stopped.</exception>
    public void SetIdlePolicy(IdlePolicy policy, TimeSpan? parkAfter = null)
    {
        ValidatePolicy(policy, parkAfter ?? TimeSpan.Zero, nameof(policy), nameof(parkAfter));
        var change = new PolicyChange(this, policy, parkAfter);
        if (IsCurrent) change.Apply();
        else Post(s_applyPolicy, change);
    }

    private static void ValidatePolicy(IdlePolicy policy, TimeSpan parkAfter, string policyName, string parkAfterName)
    {
        if (!Enum.IsDefined(policy)) throw new ArgumentOutOfRangeException(policyName, policy, "not an IdlePolicy");
        ArgumentOutOfRangeException.ThrowIfLessThan(parkAfter, TimeSpan.Zero, parkAfterName);
    }

    private static long ToStopwatchTicks(TimeSpan span) =>
        (long)Math.Min(span.TotalSeconds * Stopwatch.Frequency, long.MaxValue / 2);

    private static TimeSpan FromStopwatchTicks(long ticks) => TimeSpan.FromSeconds((double)ticks / Stopwatch.Frequency);

    /// <summary>poll(2) wants whole milliseconds: round up, so a short MaxPark never becomes "do not sleep".</summary>
    private static int ToPollTimeout(TimeSpan maxPark)
    {
        if (maxPark == Timeout.InfiniteTimeSpan) return -1;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(maxPark, TimeSpan.Zero, nameof(ReactorOptions.MaxPark));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxPark, TimeSpan.FromMilliseconds(int.MaxValue), nameof(ReactorOptions.MaxPark));
        return (int)Math.Ceiling(maxPark.TotalMilliseconds);
    }

    private sealed class PolicyChange(Reactor reactor, IdlePolicy policy, TimeSpan? parkAfter)
    {
        public void Apply()
        {
            if (parkAfter is TimeSpan budget) Volatile.Write(ref reactor._parkAfterTicks, ToStopwatchTicks(budget));
            Volatile.Write(ref reactor._idlePolicy, (int)policy);
            // A busy-polling reactor never sleeps inside a poller's ring: what a host keeps for that sleep goes now,
            // and it keeps nothing more (on the loop thread: the message runs between iterations).
            if (policy == IdlePolicy.BusyPoll) reactor.SubmitDeferred(reactor._pollers);
        }
    }
}
