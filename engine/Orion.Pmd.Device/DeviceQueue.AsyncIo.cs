using Orion.Pmd.Device.Backends.Async;
using Orion.Pmd.Device.Execution;

namespace Orion.Pmd.Device;

// The asynchronous path: a pass reaps what the kernel finished, pops new chains into free slots and starts them, and
// hands them to the kernel with one submission. Requests that cannot go asynchronously (errors, GET_ID, discard,
// write-zeroes, unaligned direct I/O) are executed on the spot, as on the synchronous path.
internal sealed partial class DeviceQueue
{
    /// <summary>How long a drain waits for the kernel before it asks it to cancel what is left.</summary>
    internal static readonly TimeSpan DrainCancelAfter = TimeSpan.FromSeconds(5);

    private readonly IBackendQueueIo? _io;

    /// <summary>The asynchronous channel to the backend, when the backend has one (null: every request is served synchronously).</summary>
    public IBackendQueueIo? Io => _io;

    /// <summary>Requests the backend is still working on.</summary>
    public int InFlightIo => _io?.InFlight ?? 0;

    /// <summary>
    /// Whether a pass would find work: chains the driver made available, or requests the backend finished. For a
    /// thread that serves this queue beside other work and wants to sleep (cheap, no validation, no system call).
    /// </summary>
    public bool HasWork => Volatile.Read(ref _paused) == 0 && !Stopped && (Ring.HasAvailable || _io is { HasCompletions: true });

    private int ProcessWithIo(IBackendQueueIo io)
    {
        int completed = io.Reap(Ring);
        if (completed > 0) Publish();           // the driver may reap and resubmit while the kernel works on the rest
        int started = 0, served = 0;
        while (started + served < _maxBatch && io.HasFreeSlot)
        {
            var chain = io.NextChain;
            if (!Ring.TryPopAvail(chain)) break;
            if (Executor.TryPlan(chain, out var plan, io.CarriesRanges) && io.TryStart(plan))
            {
                started++;
                continue;
            }
            uint written = ExecuteOrFail(chain);
            Ring.PushUsed(chain.Head, written);
            served++;
        }
        io.Submit();        // what was started and what the reap sent back for the rest; no system call when nothing is due
        if (served > 0) Publish();
        completed += served;
        if (completed > 0) Volatile.Write(ref _requests, _requests + completed);
        if (Ring.IsBroken) Stopped = true;
        return completed + started;
    }

    /// <summary>
    /// Waits until the backend holds no request of this queue (the caller has made sure the device thread is not in a
    /// pass). What finished is completed into the ring and published unless the ring is broken, in which case it is
    /// dropped: the driver resets the ring and places those requests again.
    /// </summary>
    private void DrainIo()
    {
        if (_io is not { InFlight: > 0 } io) return;
        var ring = Ring.IsBroken ? null : Ring;
        io.Drain(ring, DrainCancelAfter);
        if (ring is not null) Publish();
    }

    /// <summary>
    /// Called once the device thread has stopped for good (joined): lets every request in the kernel finish, so the
    /// memory can be unmapped and the ring handed back.
    /// </summary>
    public void Quiesce() => DrainIo();

    /// <summary>Drains and closes the backend channel. The queue is not served afterwards.</summary>
    public void Dispose()
    {
        DrainIo();
        _io?.Dispose();
    }
}
