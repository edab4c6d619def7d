using System.Diagnostics;
using Orion.Pmd.Device.Backends.Async;
using Orion.Pmd.Device.Execution;
using Orion.Pmd.Device.Faults;
using Orion.Pmd.Virtio.Blk;
using Orion.Pmd.Linux;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Device;

/// <summary>
/// One request queue as the software device serves it: the device side of the ring, the request executor and
/// counters. Owned by exactly one device thread once the device is running. With an asynchronous backend
/// (<see cref="IBackendQueueIo"/>) requests stay in flight across passes (<c>DeviceQueue.AsyncIo.cs</c>).
/// </summary>
internal sealed partial class DeviceQueue : IDisposable
{
    private readonly DescriptorChain _chain;
    private readonly int _maxBatch;
    private long _requests, _batches, _kicks, _interrupts, _sleeps, _failedInterrupts;

    /// <summary>
    /// A queue over <paramref name="ring"/>. <paramref name="injector"/> carries fault-plan state over from an earlier
    /// start of the same queue (a device reset keeps schedules and counters); null builds one from the plan.
    /// </summary>
    public DeviceQueue(int index, IDeviceQueue ring, BlkRequestExecutor executor, EventFd? kick, EventFd? call, int maxSegments, int maxBatch,
                       FaultInjector? injector = null, bool serveInline = false, ReadOnlySpan<(nint Address, nuint Length)> memory = default)
    {
        Index = index;
        Ring = ring;
        Executor = executor;
        Kick = kick;
        Call = call;
        _chain = new DescriptorChain(maxSegments);
        _maxBatch = maxBatch;
        if (executor.Settings.Faults is { } plan)
        {
            injector ??= new FaultInjector(plan, index, ring is PackedQueueDevice);
            if (!injector.IsEmpty)
            {
                _faults = injector;
                if (injector.HasGarbage) _popped = new bool[ring.Size];
            }
        }
        // Faults are injected on the synchronous path only: their schedules count requests as the device serves them.
        if (_faults is null && executor.Backend is IAsyncBlockBackend asyncBackend)
            _io = asyncBackend.OpenQueueIo(ring.Size, maxSegments, executor, memory);
        // A queue served without a thread of its own (on the driver's reactor) is woken through its call eventfd.
        if (_io is not null && serveInline && call is not null) _io.SignalCompletionsTo(call);
    }

    // Fault injection (null without a plan: the normal path then pays one null check per request).
    private readonly FaultInjector? _faults;
    private readonly bool[]? _popped;       // garbage rules: ids popped and not completed (dropped ones stay set)
    private int _lastCompleted = -1;        // garbage rules: the id completed last
    private bool _holding;                  // a stall holds the popped request in _chain until _stallUntil
    private long _stallUntil;

    /// <summary>Faults injected on this queue so far.</summary>
    public FaultCounters FaultCounters => _faults?.Counters ?? default;

    /// <summary>Why the queue stopped when its ring is not broken (an injected needs-reset fault).</summary>
    public string? StopReason { get; private set; }

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
    /// handshake with <see cref="Process"/>), so the ring can be replaced safely from another thread. A pass still
    /// running after <paramref name="timeout"/> (a backend request hangs) throws <see cref="TimeoutException"/>: the
    /// queue stays paused (unserved once that pass ends), and a later pause that finds the pass over succeeds. Requests
    /// the kernel neither completes nor ends when cancelled throw <see cref="IOException"/> (<see cref="IoStuck"/>).
    /// </summary>
    public void Pause(TimeSpan timeout)
    {
        Interlocked.Exchange(ref _paused, 1);
        long deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        var spin = new SpinWait();
        while (Volatile.Read(ref _busy) != 0)
        {
            if (Stopwatch.GetTimestamp() > deadline)
                throw new TimeoutException($"queue {Index}: the device is still in a pass after {timeout.TotalMilliseconds:0} ms (a backend request hangs); " +
                                           "the queue was not reset and is not served until a reset finds that pass over");
            spin.SpinOnce(sleep1Threshold: -1);
        }
        // The device thread is out; requests still in the kernel may write guest memory until they complete.
        if (!DrainIo()) throw new IOException($"the queue was not reset: {StopReason}");
    }

    /// <summary>Replaces a paused queue's ring (a queue reset: the driver re-initialized its side) and serves it again.</summary>
    public void ResumeWith(IDeviceQueue ring, bool suppressKicks)
    {
        Ring = ring;
        Stopped = false;
        StopReason = null;
        _holding = false;
        _lastCompleted = -1;
        if (_popped is not null) Array.Clear(_popped);
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
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Whatever else goes wrong on the ring latches this queue (NEEDS_RESET, the connection ends), never the thread
            // or the process: an exception escaping a device thread would end orion-vhost for every client.
            StopReason = $"queue {Index} stopped: the device failed while serving it ({e.GetType().Name}: {e.Message})";
            Stopped = true;
            return 0;
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
        if (_io is not null) return ProcessWithIo(_io);
        int done = 0, unpublished = 0;
        if (_holding)
        {
            // A stalled queue serves nothing until the stall is over, then the held request first.
            if (Stopwatch.GetTimestamp() < _stallUntil) return 0;
            _holding = false;
            CompleteNormally();
            done++;
            unpublished++;
        }
        while (done < _maxBatch && Ring.TryPopAvail(_chain))
        {
            if (_faults is null)
            {
                // The try sits in the loop rather than in a helper: a method with a handler is not inlined, and this is
                // the hottest path of a null or mem: device.
                uint written;
                try
                {
                    written = Executor.Execute(_chain);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    written = Fail(_chain, e);
                }
                Ring.PushUsed(_chain.Head, written);
            }
            else if (!ServeWithFaults(_faults))
            {
                done++;
                break;                      // stalled or stopped: nothing more this pass
            }
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

    private void CompleteNormally()
    {
        uint written = ExecuteOrFail(_chain);
        Ring.PushUsed(_chain.Head, written);
        Completed(_chain.Head);
    }

    /// <summary>
    /// Executes the popped request; an unexpected exception (a backend's bug, not the media errors the executor answers
    /// itself) fails this request with IOERR, and the queue goes on serving.
    /// </summary>
    private uint ExecuteOrFail(DescriptorChain chain)
    {
        try
        {
            return Executor.Execute(chain);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return Fail(chain, e);
        }
    }

    private uint Fail(DescriptorChain chain, Exception e)
    {
        Volatile.Write(ref _failedRequests, _failedRequests + 1);
        LastFailure = $"{e.GetType().Name}: {e.Message}";
        return BlkRequestExecutor.CompleteWithStatus(chain, BlkStatus.IoError);
    }

    private long _failedRequests;

    /// <summary>Requests failed with IOERR because executing them threw.</summary>
    public long FailedRequests => Volatile.Read(ref _failedRequests);

    /// <summary>The last exception that failed a request here, for diagnostics.</summary>
    public string? LastFailure { get; private set; }

    private void Completed(ushort id)
    {
        if (_popped is null) return;
        _popped[id] = false;
        _lastCompleted = id;
    }

    /// <summary>
    /// Serves the popped request under the fault plan; false when the queue must stop this pass (a stall holding the
    /// request, or an injected needs-reset).
    /// </summary>
    private bool ServeWithFaults(FaultInjector faults)
    {
        ushort head = _chain.Head;
        if (_popped is not null && head < _popped.Length) _popped[head] = true;
        var decision = faults.Decide(BlkRequestExecutor.PeekType(_chain));
        if (decision.Rule is not { } rule)
        {
            CompleteNormally();
            return true;
        }
        var raw = Ring as IDeviceQueueFaults;
        switch (rule.Kind)
        {
            case FaultKind.IoError or FaultKind.Unsupported:
                Ring.PushUsed(head, BlkRequestExecutor.CompleteWithStatus(_chain, rule.Kind == FaultKind.IoError ? BlkStatus.IoError : BlkStatus.Unsupported));
                Completed(head);
                break;
            case FaultKind.Delay:
                BlkRequestExecutor.SpinFor(decision.DurationTicks);
                CompleteNormally();
                break;
            case FaultKind.Drop:
                // Consumed, never answered: the driver keeps the request in flight until it gives up on it.
                raw?.AbandonChain(head);
                break;
            case FaultKind.Stall:
                faults.Count(rule);
                _stallUntil = Stopwatch.GetTimestamp() + decision.DurationTicks;
                _holding = true;
                return false;
            case FaultKind.NeedsReset:
                faults.Count(rule);
                StopReason = $"injected fault: the device needs a reset (rule '{rule}'); queue {Index} is no longer served until it is reset";
                Stopped = true;
                return false;
            case FaultKind.Garbage:
                if (raw is null)
                {
                    CompleteNormally();
                    return true;                // a ring that cannot misbehave: nothing injected
                }
                ServeGarbage(raw, rule.Garbage, head);
                break;
        }
        faults.Count(rule);
        return true;
    }

    private void ServeGarbage(IDeviceQueueFaults raw, GarbageKind kind, ushort head)
    {
        uint written = ExecuteOrFail(_chain);
        switch (kind)
        {
            case GarbageKind.IdRange:
                raw.PushUsedRaw(head, Ring.Size, written);
                break;
            case GarbageKind.IdUnused:
                raw.PushUsedRaw(head, UnusedId(head), written);
                break;
            case GarbageKind.IdDuplicate:
                int last = _lastCompleted;
                if (last >= 0 && last != head && !InFlight((ushort)last)) raw.PushUsedRaw(head, (uint)last, written);
                else
                {
                    // Nothing completed before that is free to repeat: complete this request, then once more.
                    Ring.PushUsed(head, written);
                    raw.PushUsedRaw(head, head, written);
                }
                break;
            case GarbageKind.Length:
                raw.PushUsedRaw(head, head, (uint)Math.Min((ulong)_chain.WritableBytes + 1, uint.MaxValue));
                break;
            case GarbageKind.Wrap:
                raw.PushUsedRaw(head, head, written, backwardsWrap: true);
                break;
        }
    }

    /// <summary>Whether the driver may have <paramref name="id"/> in flight: popped and not completed, or made available and not popped.</summary>
    private bool InFlight(ushort id)
    {
        if (_popped![id]) return true;
        Span<bool> available = stackalloc bool[Ring.Size];
        ((IDeviceQueueFaults)Ring).MarkAvailableIds(available);
        return available[id];
    }

    /// <summary>The lowest id the driver cannot have in flight; the queue size (out of range) when every id is in flight.</summary>
    private uint UnusedId(ushort head)
    {
        Span<bool> busy = stackalloc bool[Ring.Size];
        _popped.AsSpan().CopyTo(busy);
        ((IDeviceQueueFaults)Ring).MarkAvailableIds(busy);
        busy[head] = true;
        int free = busy.IndexOf(false);
        return free < 0 ? Ring.Size : (uint)free;
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
