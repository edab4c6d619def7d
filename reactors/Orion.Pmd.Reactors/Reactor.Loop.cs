using System.Diagnostics;

namespace Orion.Pmd.Reactors;

public sealed partial class Reactor
{
    /// <summary>
    /// Messages run per iteration before the pollers get their turn, so a flood of posts cannot starve
    /// completion polling (SPDK drains its event ring in batches for the same reason).
    /// </summary>
    public const int MessageBatch = 64;

    private LoopCounters _counters;

    /// <summary>
    /// Runs one loop iteration on the calling thread: a batch of messages, then each poller once. Returns the
    /// work done (messages count as work). Only for a reactor that was never started; <see cref="Current"/> is
    /// this reactor for the duration. The idle policy does not apply: RunOnce never yields or parks.
    /// </summary>
    public int RunOnce()
    {
        int state = Volatile.Read(ref _state);
        if (state != Created)
            throw new InvalidOperationException(state == Running
                ? $"{Name} runs on its own thread; RunOnce is for reactors that were not started"
                : $"{Name} is stopped");

        Reactor? previous = t_current;
        t_current = this;
        try
        {
            long start = Stopwatch.GetTimestamp();
            int work = RunIteration();
            Account(work, Stopwatch.GetTimestamp() - start);
            return work;
        }
        finally
        {
            t_current = previous;
        }
    }

    /// <summary>A snapshot of the loop counters, safe from any thread.</summary>
    public ReactorStats GetStats() => new(
        Volatile.Read(ref _counters.Iterations),
        Volatile.Read(ref _counters.BusyIterations),
        Volatile.Read(ref _counters.BusyTicks),
        Volatile.Read(ref _counters.IdleTicks),
        Volatile.Read(ref _counters.MessagesProcessed),
        Volatile.Read(ref _counters.Parks),
        Volatile.Read(ref _counters.ParkTicks),
        Volatile.Read(ref _counters.ParkAborts),
        Volatile.Read(ref _counters.ParkTimeouts),
        Volatile.Read(ref _counters.Wakeups),
        Volatile.Read(ref _counters.WakeLatencySamples),
        Volatile.Read(ref _counters.WakeLatencyTicks),
        Volatile.Read(ref _counters.MaxWakeLatencyTicks),
        Volatile.Read(ref _counters.KernelParks));

    private void RunLoop()
    {
        var backoff = new IdleBackoff();
        long idleSince = 0;   // start of the current idle streak (Park's budget runs from it); 0 while busy
        long start = Stopwatch.GetTimestamp();
        while (Volatile.Read(ref _state) == Running)
        {
            int work = RunIteration();
            long end = Stopwatch.GetTimestamp();
            Account(work, end - start);
            if (work > 0)
            {
                backoff.Reset();
                idleSince = 0;
                start = end;
                continue;
            }
            if (idleSince == 0) idleSince = start;
            start = end;

            // The policy is re-read every idle iteration: SetIdlePolicy's message changes it between iterations.
            switch ((IdlePolicy)_idlePolicy)
            {
                case IdlePolicy.Yield:
                    // Waiting on the kernel, a sleep that ends with the I/O beats a Sleep(1) that may outlast it by a millisecond.
                    if (WaitsOnKernel()) TryPark();
                    else backoff.Idle();
                    break;
                case IdlePolicy.Park when end - idleSince >= _parkAfterTicks:
                    // The streak goes on: if nothing turns up the next idle iteration parks again at once.
                    TryPark();
                    break;
                case IdlePolicy.Hybrid when end - idleSince >= _parkAfterTicks || WaitsOnKernel():
                    TryPark();
                    break;
                default:
                    continue;   // busy-polling, or still inside Park's budget
            }
            // Time given away is idle time too, so busy + idle covers the thread's whole life.
            start = Stopwatch.GetTimestamp();
            Volatile.Write(ref _counters.IdleTicks, _counters.IdleTicks + (start - end));
        }
    }

    private int RunIteration()
    {
        int work = DrainMessages(MessageBatch);
        PollerEntry[] pollers = _pollers;
        for (int i = 0; i < pollers.Length; i++)
        {
            PollerEntry entry = pollers[i];
            if (entry.Removed) continue;
            int done;
            try
            {
                done = entry.Poller.Poll();
            }
            catch (Exception e)
            {
                RemoveEntry(entry);
                Raise(PollerFaulted, e);
                continue;
            }
            if (done > 0) work += done;
        }
        return work;
    }

    /// <summary>Whether a poller waits on the kernel (Hybrid's reason to park); only idle iterations ask.</summary>
    private bool WaitsOnKernel()
    {
        PollerEntry[] pollers = _pollers;
        for (int i = 0; i < pollers.Length; i++)
        {
            if (QueryWaitsOnKernel(pollers[i])) return true;
        }
        return false;
    }

    /// <summary>
    /// Whether <paramref name="entry"/> waits on the kernel (<see cref="IKernelWaitPoller.WaitsOnKernel"/>); a poller
    /// whose answer throws is removed (<see cref="PollerFaulted"/>) and counts as not waiting.
    /// </summary>
    private bool QueryWaitsOnKernel(PollerEntry entry)
    {
        if (entry.KernelWait is null || entry.Removed) return false;
        try
        {
            return entry.KernelWait.WaitsOnKernel;
        }
        catch (Exception e)
        {
            RemoveEntry(entry);
            Raise(PollerFaulted, e);
            return false;
        }
    }

    private int DrainMessages(int max)
    {
        int count = 0;
        while (count < max && _messages.TryDequeue(out ReactorMessage message))
        {
            count++;
            try
            {
                message.Action(message.State);
            }
            catch (Exception e)
            {
                Raise(MessageFaulted, e);
            }
        }
        if (count > 0) Volatile.Write(ref _counters.MessagesProcessed, _counters.MessagesProcessed + count);
        return count;
    }

    // Single writer (the loop thread, or RunOnce's caller); Volatile.Write so GetStats on another thread sees whole values.
    private void Account(int work, long ticks)
    {
        Volatile.Write(ref _counters.Iterations, _counters.Iterations + 1);
        if (work > 0)
        {
            Volatile.Write(ref _counters.BusyIterations, _counters.BusyIterations + 1);
            Volatile.Write(ref _counters.BusyTicks, _counters.BusyTicks + ticks);
        }
        else
        {
            Volatile.Write(ref _counters.IdleTicks, _counters.IdleTicks + ticks);
        }
    }

    private static void Raise(Action<Exception>? handler, Exception error)
    {
        if (handler is null) return;
        try
        {
            handler(error);
        }
        catch
        {
            // A throwing fault handler must not end the loop thread: that would take the process with it.
        }
    }
}
