using Orion.Pmd.Device.Backends.Async;
using Orion.Pmd.Device.Execution;

namespace Orion.Pmd.Device;

// The asynchronous path: a pass reaps what the kernel finished, pops new chains into free slots and starts them, and
// hands them to the kernel with one submission. Requests that cannot go asynchronously (errors, GET_ID, discard,
// write-zeroes, unaligned direct I/O) are executed on the spot, as on the synchronous path.
internal sealed partial class DeviceQueue
{
    /// <summary>How long a drain waits for the kernel before it asks it to cancel what is left (<see cref="SoftBlkDeviceOptions.IoCancelAfter"/>).</summary>
    public TimeSpan IoCancelAfter { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a drain then waits for what it cancelled (<see cref="SoftBlkDeviceOptions.IoCancelGrace"/>).</summary>
    public TimeSpan IoCancelGrace { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Set when a drain found requests the kernel neither completed nor ended when cancelled: the queue is latched
    /// (<see cref="Stopped"/>, <see cref="StopReason"/> names it), its backend channel is never disposed and the guest
    /// memory is never unmapped, since the kernel may still write it. A later drain that finds them ended clears it.
    /// </summary>
    public bool IoStuck { get; private set; }

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

    /// <summary>
    /// <see cref="HasWork"/> before the owner sleeps, arming the backend's wake-up when there is none: from then on its
    /// next completion signals the eventfd the owner sleeps on (<see cref="IBackendQueueIo.PrepareToSleep"/>).
    /// </summary>
    public bool PrepareToPark() => !HasWork && (_io is null || _io.PrepareToSleep());

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
        SubmitOrDefer(io, completed + started + served > 0);
        if (served > 0) Publish();
        completed += served;
        if (completed > 0) Volatile.Write(ref _requests, _requests + completed);
        if (Ring.IsBroken) Stopped = true;
        return completed + started;
    }

    // Set while the owner sleeps inside the ring (SleepInKernel): a pass may then leave what it started for that sleep's
    // io_uring_enter, submit and wait in one call as fio does at depth 1. Cleared as soon as the owner shows it does
    // not (it sleeps elsewhere, switched to busy polling, or let a deferral run out), until its next sleep in the ring.
    private bool _deferSubmit;
    private int _deferredPasses;

    /// <summary>
    /// Hands what was started (and what the reap sent back for the rest) to the kernel, or keeps it for the owner's
    /// sleep inside the ring: the pass that started it and one idle pass after it may defer, then it goes, and the
    /// queue stops deferring until the owner sleeps in the ring again (an owner that stopped sleeping there delays one
    /// submission by two passes at most; a pass that found more work submits at once).
    /// </summary>
    private void SubmitOrDefer(IBackendQueueIo io, bool didWork)
    {
        if (!_deferSubmit)
        {
            io.Submit();    // no system call when nothing is due
            return;
        }
        if (io.Unsubmitted == 0)
        {
            _deferredPasses = 0;
            return;
        }
        _deferredPasses++;
        if ((didWork && _deferredPasses > 1) || _deferredPasses > 2) SubmitDeferred();
    }

    /// <summary>
    /// Hands over what a pass kept for a sleep inside the ring (the owner sleeps elsewhere, switched to busy polling, or
    /// waited long enough), and defers nothing more until the owner's next sleep in the ring (<see cref="SleepInKernel"/>).
    /// </summary>
    public void SubmitDeferred()
    {
        _deferSubmit = false;
        _deferredPasses = 0;
        if (_io is not { Unsubmitted: > 0 } io) return;
        // From the owner outside a pass: under the pass handshake, so a reset on another thread never disposes the
        // ring under it (a paused queue's drain submits what is left).
        Interlocked.Exchange(ref _busy, 1);
        try
        {
            if (Volatile.Read(ref _paused) == 0) io.Submit();
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>
    /// The owner's sleep inside this queue's io_uring: submits what is kept and waits until a request completes,
    /// <paramref name="wakeFd"/> polls readable or <paramref name="timeoutMs"/> passes. False when the queue cannot host
    /// it (no io_uring, or its wake poll is being cancelled): the owner sleeps elsewhere, after <see cref="SubmitDeferred"/>.
    /// </summary>
    public bool SleepInKernel(int wakeFd, int timeoutMs, out bool wakeFdReady)
    {
        wakeFdReady = false;
        if (_io is not { } io) return false;
        // The sleep counts as a pass: a pause (queue or device reset on another thread) waits until it ends — a
        // completion, the owner's wake-up or its park bound — and a paused queue refuses to host the next one.
        Interlocked.Exchange(ref _busy, 1);
        try
        {
            if (Volatile.Read(ref _paused) != 0 || Stopped) return false;
            _deferSubmit = true;
            _deferredPasses = 0;
            return io.SleepInKernel(wakeFd, timeoutMs, out wakeFdReady);
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>
    /// Waits until the backend holds no request of this queue (the caller has made sure the device thread is not in a
    /// pass). What finished is completed into the ring and published unless the ring is broken, in which case it is
    /// dropped: the driver resets the ring and places those requests again.
    /// </summary>
    private bool DrainIo()
    {
        if (_io is not { InFlight: > 0 } io) return !IoStuck;
        var ring = Ring.IsBroken || IoStuck ? null : Ring;
        // Already found stuck (and cancelled): a quick look whether they ended since, not another full wait.
        bool drained = IoStuck ? io.Drain(null, TimeSpan.Zero, TimeSpan.Zero) : io.Drain(ring, IoCancelAfter, IoCancelGrace);
        if (ring is not null) Publish();
        if (drained)
        {
            IoStuck = false;
            return true;
        }
        if (!IoStuck)
        {
            IoStuck = true;
            StopReason = $"queue {Index}: {io.InFlight} request(s) still in the kernel {(IoCancelAfter + IoCancelGrace).TotalSeconds:0.#} s after the drain " +
                         $"began, {IoCancelGrace.TotalSeconds:0.#} s after they were cancelled (I/O stuck below the file system); the queue is latched faulted " +
                         "and the guest memory they name stays mapped and is never handed back (quarantined for the life of the process)";
            Stopped = true;
        }
        return false;
    }

    /// <summary>
    /// Called once the device thread has stopped for good (joined): lets every request in the kernel finish, so the
    /// memory can be unmapped and the ring handed back. False when some never ended (<see cref="IoStuck"/>).
    /// </summary>
    public bool Quiesce() => DrainIo();

    /// <summary>
    /// Drains and closes the backend channel; the queue is not served afterwards. False, closing nothing, when requests
    /// are stuck in the kernel (<see cref="IoStuck"/>): the channel and the memory must outlive them.
    /// </summary>
    public bool TryDispose()
    {
        if (!DrainIo()) return false;
        _io?.Dispose();
        return true;
    }

    /// <summary>Drains and closes the backend channel, unless requests are stuck in the kernel (<see cref="TryDispose"/>).</summary>
    public void Dispose() => TryDispose();
}
