using System.Diagnostics;
using System.Runtime.CompilerServices;
using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Engine.Transport;
using Orion.Pmd.Reactors;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Engine.Queues;

/// <summary>
/// The driver's half of one virtqueue, owned by one reactor and run as its poller. Each poll: take requests handed
/// over by other threads, reap and validate completions (recording latency), then place the requests gathered in
/// this iteration into the ring, publish the avail index once and kick at most once, only if the device asks.
/// No locks, no allocation, no syscall but the kick. This file is that hot path; <c>QueuePair.State.cs</c> holds the
/// primitives recovery is built from (suspend, take held, rebuild, resume, fail), which the engine's
/// <c>RecoveryCoordinator</c> drives; the held requests, latency and error log are types of their own.
/// </summary>
internal sealed unsafe partial class QueuePair : IParkablePoller
{
    private IDriverQueue _ring;
    private readonly RequestSlots _slots;
    private readonly IVirtioTransport _transport;
    private readonly QueuePairOptions _options;
    private readonly IQueueRecovery _recovery;
    private readonly MpscRing<BlockRequest> _submissions;
    private readonly bool _indirect;
    private readonly HeldRequests _held;
    private readonly LatencyRecorder _latency = new();
    private readonly BlockRequest[] _localFree;        // callback-form requests, reactor-local
    private int _localFreeCount;
    private readonly BufferSegment[] _chain;
    private readonly int _interruptCoalescing;

    private BlockRequest? _pendingHead, _pendingTail;
    private int _pendingCount;

    private long _completionTimestamp;
    private bool _reaping;              // inside Reap's completion loop: _completionTimestamp is this batch's

    private long _requests, _bytes, _withdrawn, _batches, _kicks, _kicksSuppressed, _polls, _idlePolls, _bounces, _interruptsArmed;

    public QueuePair(QueuePairOptions options, Reactor reactor, IDriverQueue ring, RequestSlots slots, IVirtioTransport transport, IQueueRecovery recovery)
    {
        _options = options;
        Index = options.Index;
        Reactor = reactor;
        _ring = ring;
        _slots = slots;
        _transport = transport;
        _recovery = recovery;
        _indirect = options.Indirect;
        _interruptCoalescing = Math.Max(1, options.InterruptCoalescing);
        _submissions = new MpscRing<BlockRequest>(options.SubmissionCapacity);
        _held = new HeldRequests(ring.Size, slots.Count);
        _chain = new BufferSegment[options.MaxSegments + 3];
        _localFree = new BlockRequest[options.LocalRequests];
        for (int i = 0; i < options.LocalRequests; i++) _localFree[i] = new BlockRequest(options.MaxSegments, null);
        _localFreeCount = options.LocalRequests;
        ErrorLog = new QueueErrorLog(options.Index, options.CallbackFaulted);
    }

    public int Index { get; }
    public Reactor Reactor { get; }
    public IDriverQueue Ring => _ring;

    /// <summary>What the queue was built with.</summary>
    public QueuePairOptions Options => _options;

    /// <summary>The latency recorded on this queue, handed to the monitor by swaps.</summary>
    public LatencyRecorder Latency => _latency;

    /// <summary>Failed requests and callback faults of this queue.</summary>
    public QueueErrorLog ErrorLog { get; }

    /// <summary>Reactor thread only: the Stopwatch timestamp of the completion being delivered (one read per reaped batch).</summary>
    public long CompletionTimestamp => _completionTimestamp;

    // ------------------------------------------------------------------ submission

    /// <summary>Hands a request to this queue from any thread; waits (spinning, then yielding) while the handoff ring is full.</summary>
    public void SubmitFromAnyThread(BlockRequest request)
    {
        request.StartTicks = Stopwatch.GetTimestamp();      // submit-to-complete latency counts the hand-off and the wait for ring space
        request.Queue = this;
        if (Reactor.IsCurrent)
        {
            Enqueue(request);
            return;
        }
        if (!_submissions.TryEnqueue(request))
        {
            var spin = new SpinWait();
            while (!_submissions.TryEnqueue(request))
            {
                if (request.CancelRequested)
                {
                    // Never handed over: withdraw it here (the reactor never saw it, so no counter moves).
                    request.Status = IoStatus.Canceled;
                    request.FailureDetail = "the caller's cancellation token fired while the submission ring was full";
                    request.CompleteAwaiter();
                    return;
                }
                spin.SpinOnce(sleep1Threshold: -1);
            }
        }
        // A reactor that may sleep must be told (Wake costs a fence); a busy-polling one will see the ring anyway.
        if (Reactor.MayPark) Reactor.Wake();
    }

    /// <summary>Reactor thread only: a request from the local pool for the callback form, or null when all are in use.</summary>
    public BlockRequest? RentLocal() => _localFreeCount == 0 ? null : _localFree[--_localFreeCount];

    /// <summary>Reactor thread only: the caller, on this reactor, submits <paramref name="request"/> for the next batch (no handoff).</summary>
    public void SubmitLocal(BlockRequest request)
    {
        // From a completion callback the reap's own clock read serves (taken before the callback ran, so the latency
        // is never understated); a clock read per request is a tenth of the reactor's time at 3 M IOPS.
        request.StartTicks = _reaping ? _completionTimestamp : Stopwatch.GetTimestamp();
        Enqueue(request);
    }

    /// <summary>Reactor thread only: queue a request for the next batch (no handoff).</summary>
    public void Enqueue(BlockRequest request)
    {
        request.Next = null;
        if (_pendingTail is null) _pendingHead = request;
        else _pendingTail.Next = request;
        _pendingTail = request;
        _pendingCount++;
    }

    // ------------------------------------------------------------------ the poll

    public int Poll()
    {
        if (_state == QueueState.Faulted) return FailArrivals() + ReapGivenUp();
        if (_latency.SwapRequested) _latency.Swap();
        int work = 0;
        while (_submissions.TryDequeue(out var r))
        {
            Enqueue(r);
            work++;
        }
        if (_cancelsArrived != _cancelsSwept) work += SweepCancelled();
        if (!QueueStates.IsSuspended(_state))
        {
            int reaped = Reap();
            // A clock read every 256 busy polls, every 16 idle ones (an idle reactor may be yielding or sleeping
            // between polls, so counting polls alone would stretch the timeout), and before parking.
            MaybeCheckTimeouts(now: false, mask: reaped == 0 ? 15 : 255);
            work += reaped;
            if (!QueueStates.IsSuspended(_state)) work += SubmitPending();     // a recovery above may have suspended the queue
        }
        _polls++;
        if (work == 0) _idlePolls++;
        return work;
    }

    /// <summary>
    /// Before the reactor sleeps: with requests in flight, ask the device for an interrupt and re-check the ring (a
    /// completion published before the request became visible would otherwise be slept through). With nothing in
    /// flight there is nothing to wait for: a new submission wakes the reactor.
    /// </summary>
    public bool PrepareToPark()
    {
        if (!_submissions.IsEmpty) return false;
        if (QueueStates.IsSuspended(_state)) return true;          // nothing to poll until the recovery posts to this reactor
        MaybeCheckTimeouts(now: true);
        // Requests still pending after an idle poll are waiting for ring space: with requests in flight a completion
        // frees it (sleep with the interrupt armed); with none in flight they can go now, so do not sleep.
        if (_pendingHead is not null && _ring.InFlight == 0 && !_ring.IsBroken) return false;
        if (_ring.InFlight == 0 || _ring.IsBroken) return true;
        _interruptsArmed++;
        int n = Math.Min(_interruptCoalescing, _ring.InFlight);
        bool pending = n > 1 ? _ring.EnableInterruptsCoalesced(n) : _ring.EnableInterruptsAndRecheck();
        return !pending;
    }

    /// <summary>Awake again: back to busy polling with interrupts off.</summary>
    public void Unparked() => _ring.DisableInterrupts();

    // ------------------------------------------------------------------ placement

    private int SubmitPending()
    {
        if (_pendingHead is null) return 0;
        if ((_state != QueueState.Running || _ring.IsBroken) && !MayPlace()) return 0;
        int placed = 0;
        long now = Stopwatch.GetTimestamp();
        while (_pendingHead is { } r && _slots.TryTake(out int slot))
        {
            int head = Place(r, slot);
            if (head < 0)
            {
                _slots.Release(slot);            // ring full (direct chains): wait for completions
                break;
            }
            _held.Hold(head, slot, r);
            r.PlacedTicks = now;
            r.Placements++;
            _pendingHead = r.Next;
            if (_pendingHead is null) _pendingTail = null;
            r.Next = null;
            _pendingCount--;
            placed++;
        }
        if (placed == 0) return 0;
        _batches++;
        if (_ring.PublishAndCheckKick())
        {
            _transport.Notify(Index);
            _kicks++;
        }
        else _kicksSuppressed++;
        if (TestKickInjection.ExtraKicksPerBatch != 0) RingInjectedKicks();      // test-only; see TestKickInjection
        return placed;
    }

    private void RingInjectedKicks()
    {
        for (int i = 0; i < TestKickInjection.ExtraKicksPerBatch; i++)
        {
            _transport.Notify(Index);
            _kicks++;
        }
    }

    /// <summary>Writes the request's header, status byte and descriptors into its slot and adds it to the ring.</summary>
    private int Place(BlockRequest r, int slot)
    {
        _slots.Header(slot) = new BlkRequestHeader(r.Type, r.Sector);
        _slots.StatusByte(slot) = 0xFF;          // not a valid status: a device that never writes it is caught
        int n = 0;
        _chain[n++] = new BufferSegment(_slots.Guest(slot, RequestSlots.HeaderOffset), BlkRequestHeader.Size, false);
        bool dataWritable = r.IsDeviceWritable;
        for (int i = 0; i < r.SegmentCount; i++)
        {
            _chain[n++] = new BufferSegment(r.SegmentAddress[i], r.SegmentLength[i], dataWritable);
        }
        if (r.Type is BlkRequestType.Discard or BlkRequestType.WriteZeroes)
        {
            *(BlkDiscardWriteZeroes*)_slots.Host(slot, RequestSlots.PayloadOffset) = r.Range;
            _chain[n++] = new BufferSegment(_slots.Guest(slot, RequestSlots.PayloadOffset), BlkDiscardWriteZeroes.Size, false);
        }
        else if (r.Type == BlkRequestType.GetId)
        {
            _chain[n++] = new BufferSegment(_slots.Guest(slot, RequestSlots.PayloadOffset), BlkConstants.IdBytes, true);
        }
        _chain[n++] = new BufferSegment(_slots.Guest(slot, RequestSlots.StatusOffset), BlkConstants.StatusBytes, true);

        if (!_indirect) return _ring.AddChain(_chain.AsSpan(0, n));
        // The ring writes the table: split and packed tables differ inside each entry.
        var table = new Span<byte>(_slots.Table(slot), n * VirtqDescriptor.Size);
        uint tableWritable = _ring.WriteIndirectTable(table, _chain.AsSpan(0, n));
        return _ring.AddIndirect(_slots.Guest(slot, RequestSlots.TableOffset), n, tableWritable);
    }

    // ------------------------------------------------------------------ completion

    private int Reap(bool handleBroken = true)
    {
        int reaped = 0;
        long now = 0;
        _reaping = false;
        while (_ring.TryPopUsed(out ushort head, out uint length))
        {
            if (now == 0)
            {
                _completionTimestamp = now = Stopwatch.GetTimestamp();
                _reaping = true;
            }
            if (_held.Take(head, out int slot) is not { } r)
            {
                // A request already failed (its queue or device was given up on) that the device completed after all:
                // its memory is free now, and a withheld one reaches its owner with the failure decided then.
                var withheld = _held.Release(slot);
                _slots.Release(slot);
                if (withheld is not null) DeliverWithheld(withheld);
                continue;
            }
            byte status = _slots.StatusByte(slot);
            if (r.Type == BlkRequestType.GetId && r.IdDestination is { } id)
                new ReadOnlySpan<byte>(_slots.Host(slot, RequestSlots.PayloadOffset), BlkConstants.IdBytes).CopyTo(id);
            _slots.Release(slot);

            _latency.Record(now - r.StartTicks);     // Stopwatch ticks are nanoseconds on Linux
            r.Status = status switch
            {
                (byte)BlkStatus.Ok => length >= 1 ? IoStatus.Ok : IoStatus.BadStatus,
                (byte)BlkStatus.IoError => IoStatus.IoError,
                (byte)BlkStatus.Unsupported => IoStatus.Unsupported,
                _ => IoStatus.BadStatus,
            };
            if (r.Status == IoStatus.BadStatus) r.FailureDetail = $"status byte 0x{status:x2}, used length {length}";
            _requests++;
            if (r.Status == IoStatus.Ok) _bytes += r.DataBytes;      // a failed request moved nothing that counts
            Complete(r);
            reaped++;
        }
        _reaping = false;
        if (handleBroken && _ring.IsBroken) HandleBroken();
        return reaped;
    }

    private void Complete(BlockRequest r)
    {
        // A withdrawn request is the caller's choice, not an error.
        if (r.Status is not (IoStatus.Ok or IoStatus.Canceled)) ErrorLog.Record(r);
        if (r.Bounce is { } bounce)
        {
            _bounces++;
            if (r.Status == IoStatus.Ok && r.Type == BlkRequestType.In)
                bounce.Span[..r.BounceReadTarget.Length].CopyTo(r.BounceReadTarget.Span);
        }
        if (r.Handler is { } handler)
        {
            long tag = r.Tag;
            var status = r.Status;
            r.Handler = null;
            _localFree[_localFreeCount++] = r;     // back first, so the handler can submit again at once
            // The user's exception is the user's bug, not the queue's: escaping, it would end this poller (the reactor
            // removes a throwing poller) and strand every later request, so it is caught per completion and the batch
            // goes on. The handler sits here, not in a helper: a method with a handler is not inlined.
            try
            {
                handler.OnCompleted(tag, status);
            }
            catch (Exception e)
            {
                ErrorLog.RecordCallbackFault(tag, e);
            }
        }
        else r.CompleteAwaiter();
    }

    // ------------------------------------------------------------------ cancellation

    private volatile int _cancelsArrived;
    private int _cancelsSwept;

    /// <summary>Any thread: a caller cancelled a request handed to this queue; the reactor sweeps on its next poll.</summary>
    public void CancelArrived()
    {
        Interlocked.Increment(ref _cancelsArrived);
        if (Reactor.MayPark) Reactor.Wake();
    }

    /// <summary>
    /// Withdraws cancelled requests that have never been placed in a ring: they fail with
    /// <see cref="IoStatus.Canceled"/> and nothing reaches the device. A request the device has (or had, before a
    /// reset requeued it) runs to its end: VirtIO has no way to take it back.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int SweepCancelled()
    {
        _cancelsSwept = _cancelsArrived;
        int withdrawn = 0;
        BlockRequest? previous = null;
        var r = _pendingHead;
        while (r is not null)
        {
            var next = r.Next;
            if (r.CancelRequested && r.Placements == 0)
            {
                if (previous is null) _pendingHead = next;
                else previous.Next = next;
                if (ReferenceEquals(_pendingTail, r)) _pendingTail = previous;
                _pendingCount--;
                Fail(r, IoStatus.Canceled, "the caller's cancellation token fired");
                withdrawn++;
            }
            else previous = r;
            r = next;
        }
        return withdrawn;
    }

    // ------------------------------------------------------------------ counters

    /// <summary>Requests in flight at the device plus those waiting for the ring.</summary>
    public int Outstanding => (QueueStates.IsTerminal(_state) ? 0 : _ring.InFlight) + Volatile.Read(ref _pendingCount) + _submissions.Count;

    public QueueCounters Counters => new()
    {
        Requests = Volatile.Read(ref _requests),
        Bytes = Volatile.Read(ref _bytes),
        Withdrawn = Volatile.Read(ref _withdrawn),
        Batches = Volatile.Read(ref _batches),
        Kicks = Volatile.Read(ref _kicks),
        KicksSuppressed = Volatile.Read(ref _kicksSuppressed),
        Polls = Volatile.Read(ref _polls),
        IdlePolls = Volatile.Read(ref _idlePolls),
        Errors = ErrorLog.Errors,
        Bounces = Volatile.Read(ref _bounces),
        InterruptsArmed = Volatile.Read(ref _interruptsArmed),
        Resubmitted = Volatile.Read(ref _resubmitted),
        Timeouts = Volatile.Read(ref _timeouts),
        QueueResets = Volatile.Read(ref _queueResets),
        DeviceResets = Volatile.Read(ref _deviceResets),
        CallbackFaults = ErrorLog.CallbackFaults,
        InFlight = _ring.InFlight,
        Pending = Volatile.Read(ref _pendingCount),
    };
}
