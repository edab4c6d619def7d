using Orion.Pmd.Device.Execution;
using Orion.Pmd.Linux;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Device;

/// <summary>
/// One request queue as the software device serves it: the device side of the ring, the request executor and
/// counters. Owned by exactly one device thread once the device is running.
/// </summary>
internal sealed class DeviceQueue
{
    private readonly DescriptorChain _chain;
    private readonly int _maxBatch;
    private long _requests, _batches, _kicks, _interrupts, _sleeps, _failedInterrupts;

    public DeviceQueue(int index, IDeviceQueue ring, BlkRequestExecutor executor, EventFd? kick, EventFd? call, int maxSegments, int maxBatch)
    {
        Index = index;
        Ring = ring;
        Executor = executor;
        Kick = kick;
        Call = call;
        _chain = new DescriptorChain(maxSegments);
        _maxBatch = maxBatch;
    }

    public int Index { get; }
    public IDeviceQueue Ring { get; private set; }
    public BlkRequestExecutor Executor { get; }
    public EventFd? Kick { get; }
    public EventFd? Call { get; }

    /// <summary>Set once the ring is broken and the device has flagged NEEDS_RESET; the queue is no longer served.</summary>
    public bool Stopped { get; private set; }

    private int _paused;
    private int _busy;

    /// <summary>
    /// Stops the device thread from touching the ring and waits until a pass in progress has finished (a Dekker
    /// handshake with <see cref="Process"/>), so the ring can be replaced safely from another thread.
    /// </summary>
    public void Pause()
    {
        Interlocked.Exchange(ref _paused, 1);
        var spin = new SpinWait();
        while (Volatile.Read(ref _busy) != 0) spin.SpinOnce(sleep1Threshold: -1);
    }

    /// <summary>Replaces a paused queue's ring (a queue reset: the driver re-initialized its side) and serves it again.</summary>
    public void ResumeWith(IDeviceQueue ring, bool suppressKicks)
    {
        Ring = ring;
        Stopped = false;
        if (suppressKicks) ring.SuppressKicks();
        Volatile.Write(ref _paused, 0);
    }

    /// <summary>
    /// One pass: pop up to a batch of chains, execute them, publish the used entries with one index store, and
    /// interrupt only if the driver asked. Returns the number of requests completed.
    /// </summary>
    public int Process()
    {
        Interlocked.Exchange(ref _busy, 1);
        try
        {
            return Volatile.Read(ref _paused) != 0 ? 0 : ProcessRing();
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>Asks the driver for kicks and re-checks the ring (true: work is there, do not sleep); false while paused.</summary>
    public bool EnableKicksAndRecheck() => Guarded(static r => r.EnableKicksAndRecheck());

    /// <summary>Tells the driver not to kick (the thread is about to poll).</summary>
    public void SuppressKicks() => Guarded(static r => { r.SuppressKicks(); return false; });

    /// <summary>Runs a ring operation unless the queue is paused, under the same handshake as <see cref="Process"/>.</summary>
    private bool Guarded(Func<IDeviceQueue, bool> action)
    {
        Interlocked.Exchange(ref _busy, 1);
        try
        {
            return Volatile.Read(ref _paused) == 0 && action(Ring);
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    private int ProcessRing()
    {
        if (Stopped) return 0;
        int done = 0, unpublished = 0;
        while (done < _maxBatch && Ring.TryPopAvail(_chain))
        {
            uint written = Executor.Execute(_chain);
            Ring.PushUsed(_chain.Head, written);
            done++;
            // Publish in slices so the driver can reap (and resubmit) the first completions while the device works
            // on the rest: a whole-batch publish makes the two cores take turns instead of overlapping.
            if (++unpublished == PublishSlice)
            {
                Publish();
                unpublished = 0;
            }
        }
        if (unpublished > 0) Publish();
        if (done > 0) Volatile.Write(ref _requests, _requests + done);
        if (Ring.IsBroken) Stopped = true;
        return done;
    }

    /// <summary>Completions published with one used-index store at most; 16 measured best across iodepth 32 and 128 (perf/RESULTS.md).</summary>
    internal const int PublishSlice = 16;

    private void Publish()
    {
        Volatile.Write(ref _batches, _batches + 1);
        if (Ring.PublishUsed() && Call is not null)
        {
            try
            {
                Call.Signal();
                Volatile.Write(ref _interrupts, _interrupts + 1);
            }
            catch (LinuxException)
            {
                // A call fd the driver handed over that cannot be written (a vhost-user front-end's choice): the
                // completion is in the ring all the same; a missed interrupt must not take the device thread down.
                Volatile.Write(ref _failedInterrupts, _failedInterrupts + 1);
            }
        }
    }

    /// <summary>Interrupts that could not be delivered (the call fd refused the write).</summary>
    public long FailedInterrupts => Volatile.Read(ref _failedInterrupts);

    public void CountKick() => Volatile.Write(ref _kicks, _kicks + 1);
    public void CountSleep() => Volatile.Write(ref _sleeps, _sleeps + 1);

    public DeviceQueueStats Stats => new(
        Volatile.Read(ref _requests), Volatile.Read(ref _batches), Volatile.Read(ref _kicks),
        Volatile.Read(ref _interrupts), Volatile.Read(ref _sleeps), Executor.MalformedRequests);
}
