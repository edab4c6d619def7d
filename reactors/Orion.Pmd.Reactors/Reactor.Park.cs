using System.Diagnostics;
using Orion.Pmd.Linux;

namespace Orion.Pmd.Reactors;

// Parking is lost-wakeup-safe by a Dekker handshake (Garnet's SpscRing park protocol, SPDK's interrupt-mode
// notify): the reactor raises ParkState.Parking with a full fence and only then looks for work one last time; a
// producer publishes its work, fences, and only then reads the flag. With both fences at least one side sees the
// other's write: either the reactor finds the work and does not sleep, or the producer sees the flag and signals
// the wake eventfd, which ends the poll(2).
public sealed partial class Reactor
{
    // Entry 0 of the poll set is the reactor's own wake eventfd; wake source i sits at entry i + 1.
    private const int WakeFdIndex = 0;

    private readonly PollSet _pollSet = CreatePollSet();
    private readonly List<EventFd> _wakeSources = [];
    private EventFd? _wakeFd;
    private ParkState _park;

    // Written by the loop thread (SetIdlePolicy's message) or before Start; read each idle iteration.
    private int _idlePolicy;
    private long _parkAfterTicks;
    private readonly int _maxParkMs;

    /// <summary>True while the loop is parked or getting ready to (a racy snapshot, for tests).</summary>
    internal bool IsParking => Volatile.Read(ref _park.Parking) != 0;

    private static PollSet CreatePollSet()
    {
        var set = new PollSet();
        set.Add(-1);   // the wake eventfd's place, filled by Start: poll(2) skips a negative fd until then
        return set;
    }

    /// <summary>
    /// One park attempt: raise the flag, look for work once more, let parkable pollers re-arm their
    /// notifications, and sleep only if nobody found work in the meantime.
    /// </summary>
    private void TryPark()
    {
        PollerEntry[] pollers = _pollers;
        Interlocked.Exchange(ref _park.Parking, 1);   // full fence: the flag is visible before the checks below
        bool sleep = !_messages.IsNextReady && Volatile.Read(ref _state) == Running;

        int asked = 0;   // pollers[0..asked) had PrepareToPark called (skipping those that are not parkable)
        while (sleep && asked < pollers.Length)
        {
            PollerEntry entry = pollers[asked++];
            if (entry.Parkable is not null && !entry.Removed) sleep = PrepareToPark(entry);
        }

        long sleptFrom = 0, wokeAt = 0;
        if (sleep)
        {
            sleptFrom = Stopwatch.GetTimestamp();
            PollerEntry? host = SleepHost(pollers);
            if (host is null || !SleepInHost(host, sleptFrom, out wokeAt))
            {
                SubmitDeferred(pollers);
                Sleep(sleptFrom, out wokeAt);
            }
        }
        else
        {
            Volatile.Write(ref _counters.ParkAborts, _counters.ParkAborts + 1);
        }

        // Producers that still read 1 after this merely signal once too often: the next park returns at once.
        Volatile.Write(ref _park.Parking, 0);
        long requestedAt = Interlocked.Exchange(ref _park.WakeRequestedAt, 0);
        if (sleep && requestedAt != 0 && requestedAt <= wokeAt)
        {
            // A request made before the sleep began (the pending eventfd made poll return at once) is timed
            // from the sleep's start: the reactor cannot have been slower to react than that.
            RecordWakeLatency(wokeAt - Math.Max(requestedAt, sleptFrom));
        }

        for (int i = 0; i < asked; i++)
        {
            PollerEntry entry = pollers[i];
            if (entry.Parkable is not null && !entry.Removed) Unparked(entry);
        }
    }

    /// <summary>
    /// The poller that may host this sleep inside the kernel: the only one waiting on the kernel, with the reactor's
    /// wake sources none or just its own completion eventfd (nothing else could wake a sleep in its ring). Else null.
    /// </summary>
    private PollerEntry? SleepHost(PollerEntry[] pollers)
    {
        PollerEntry? host = null;
        for (int i = 0; i < pollers.Length; i++)
        {
            PollerEntry entry = pollers[i];
            if (!QueryWaitsOnKernel(entry)) continue;
            if (host is not null || entry.SleepHost is null) return null;
            host = entry;
        }
        if (host is null || _wakeSources.Count > 1) return null;
        return _wakeSources.Count == 0 || ReferenceEquals(_wakeSources[0], host.SleepHost!.CompletionSignal) ? host : null;
    }

    /// <summary>Sleeps inside <paramref name="host"/>'s ring; false when it could not (nothing was waited for).</summary>
    private bool SleepInHost(PollerEntry host, long sleptFrom, out long wokeAt)
    {
        wokeAt = sleptFrom;
        bool slept, wakeFdReady;
        try
        {
            slept = host.SleepHost!.SleepInKernel(_wakeFd!, _maxParkMs, out wakeFdReady);
        }
        catch (Exception e)
        {
            RemoveEntry(host);
            Raise(PollerFaulted, e);
            return false;
        }
        if (!slept) return false;
        wokeAt = Stopwatch.GetTimestamp();
        Volatile.Write(ref _counters.Parks, _counters.Parks + 1);
        Volatile.Write(ref _counters.KernelParks, _counters.KernelParks + 1);
        Volatile.Write(ref _counters.ParkTicks, _counters.ParkTicks + (wokeAt - sleptFrom));
        Volatile.Write(ref _counters.Wakeups, _counters.Wakeups + 1);
        if (wakeFdReady) _wakeFd!.TryConsume(out _);
        return true;
    }

    /// <summary>Before a poll(2) sleep: every sleep host hands over what it kept for a sleep inside its ring.</summary>
    private void SubmitDeferred(PollerEntry[] pollers)
    {
        for (int i = 0; i < pollers.Length; i++)
        {
            PollerEntry entry = pollers[i];
            if (entry.SleepHost is null || entry.Removed) continue;
            try
            {
                entry.SleepHost.SubmitDeferred();
            }
            catch (Exception e)
            {
                RemoveEntry(entry);
                Raise(PollerFaulted, e);
            }
        }
    }

    private void Sleep(long sleptFrom, out long wokeAt)
    {
        Volatile.Write(ref _counters.Parks, _counters.Parks + 1);
        int ready;
        try
        {
            ready = _pollSet.Wait(_maxParkMs);
        }
        catch (LinuxException e)
        {
            // poll(2) itself failed (ENOMEM, say). Retrying would spin on the same error and letting it escape
            // would end the thread, so report it and fall back to yielding, which needs no syscall.
            Volatile.Write(ref _idlePolicy, (int)IdlePolicy.Yield);
            Raise(PollerFaulted, e);
            ready = 0;
        }
        wokeAt = Stopwatch.GetTimestamp();
        Volatile.Write(ref _counters.ParkTicks, _counters.ParkTicks + (wokeAt - sleptFrom));
        if (ready == 0)
        {
            Volatile.Write(ref _counters.ParkTimeouts, _counters.ParkTimeouts + 1);
            return;
        }
        Volatile.Write(ref _counters.Wakeups, _counters.Wakeups + 1);
        DrainWakeFds();
    }

    /// <summary>
    /// Resets every eventfd that woke us, so the next park sleeps until a new signal. Wake sources first,
    /// backwards, so that removing a broken one does not shift those still to visit.
    /// </summary>
    private void DrainWakeFds()
    {
        for (int i = _pollSet.Count - 1; i > WakeFdIndex; i--)
        {
            EventFd source = _wakeSources[i - 1];
            try
            {
                if (_pollSet.HasError(i))
                    throw new InvalidOperationException($"wake source fd {source.Fd} reported an error or was closed while registered; removed");
                if (_pollSet.IsReadable(i)) source.TryConsume(out _);
            }
            catch (Exception e)
            {
                // Left in the set, a broken fd would end every later park at once: the core would spin.
                RemoveWakeSourceAt(i - 1);
                Raise(PollerFaulted, e);
            }
        }
        if (_pollSet.IsReadable(WakeFdIndex)) _wakeFd!.TryConsume(out _);
    }

    private void RecordWakeLatency(long ticks)
    {
        Volatile.Write(ref _counters.WakeLatencySamples, _counters.WakeLatencySamples + 1);
        Volatile.Write(ref _counters.WakeLatencyTicks, _counters.WakeLatencyTicks + ticks);
        if (ticks > _counters.MaxWakeLatencyTicks) Volatile.Write(ref _counters.MaxWakeLatencyTicks, ticks);
    }

    // A parkable poller that throws is faulted like one whose Poll throws: removed (so it is not Unparked) and reported.
    private bool PrepareToPark(PollerEntry entry)
    {
        try
        {
            return entry.Parkable!.PrepareToPark();
        }
        catch (Exception e)
        {
            RemoveEntry(entry);
            Raise(PollerFaulted, e);
            return false;
        }
    }

    private void Unparked(PollerEntry entry)
    {
        try
        {
            entry.Parkable!.Unparked();
        }
        catch (Exception e)
        {
            RemoveEntry(entry);
            Raise(PollerFaulted, e);
        }
    }
}
