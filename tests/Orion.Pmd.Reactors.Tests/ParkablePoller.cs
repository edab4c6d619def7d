using Orion.Pmd.Reactors;

namespace Orion.Pmd.Reactors.Tests;

/// <summary>
/// A poller fed by other threads through <see cref="Hand"/> (work units, the "other means" than a post), that
/// takes part in parking and checks the IParkablePoller contract: both calls on the reactor thread, in pairs.
/// </summary>
internal sealed class ParkablePoller : IParkablePoller
{
    private int _pending;
    private bool _armed;
    private int _prepares, _unparks, _violations, _polled;

    /// <summary>Decides what PrepareToPark answers when no work is pending (by call number, from 1); null = yes.</summary>
    public Func<int, bool>? Consent { get; set; }

    /// <summary>The reactor it is registered with: calls on any other thread count as violations.</summary>
    public Reactor? Owner { get; set; }

    /// <summary>Runs inside PrepareToPark, e.g. to throw.</summary>
    public Action? OnPrepare { get; set; }

    public int Prepares => Volatile.Read(ref _prepares);
    public int Unparks => Volatile.Read(ref _unparks);
    public int Violations => Volatile.Read(ref _violations);
    public int Polled => Volatile.Read(ref _polled);

    /// <summary>Adds work from any thread; the caller then wakes the reactor itself.</summary>
    public void Hand(int units = 1) => Interlocked.Add(ref _pending, units);

    public int Poll()
    {
        Check();
        if (_armed) Interlocked.Increment(ref _violations);   // polled between PrepareToPark and Unparked
        int work = Interlocked.Exchange(ref _pending, 0);
        if (work > 0) Interlocked.Add(ref _polled, work);
        return work;
    }

    public bool PrepareToPark()
    {
        Check();
        if (_armed) Interlocked.Increment(ref _violations);
        _armed = true;
        int call = Interlocked.Increment(ref _prepares);
        OnPrepare?.Invoke();
        // "Re-enable notifications, then re-check": work handed over before this point keeps the reactor up.
        return Volatile.Read(ref _pending) == 0 && (Consent?.Invoke(call) ?? true);
    }

    public void Unparked()
    {
        Check();
        if (!_armed) Interlocked.Increment(ref _violations);
        _armed = false;
        Interlocked.Increment(ref _unparks);
    }

    private void Check()
    {
        bool onReactor = Owner is null ? Reactor.Current is not null : Owner.IsCurrent;
        if (!onReactor) Interlocked.Increment(ref _violations);
    }
}
