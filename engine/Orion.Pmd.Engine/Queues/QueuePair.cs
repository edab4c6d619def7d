using System.Diagnostics;
using HdrHistogram;
using Orion.Pmd.Engine.Memory;
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
/// No locks, no allocation, no syscall but the kick.
/// </summary>
internal sealed unsafe class QueuePair : IParkablePoller
{
    private IDriverQueue _ring;
    private readonly RequestSlots _slots;
    private readonly IVirtioTransport _transport;
    private readonly MpscRing<BlockRequest> _submissions;
    private readonly bool _indirect;
    private readonly int[] _headToSlot;
    private readonly BlockRequest?[] _slotRequest;
    private readonly DmaBuffer?[] _quarantine;         // per slot: bounce buffers of failed requests the device may still write
    private readonly BlockRequest[] _localFree;        // callback-form requests, reactor-local
    private int _localFreeCount;
    private readonly BufferSegment[] _chain;

    private BlockRequest? _pendingHead, _pendingTail;
    private int _pendingCount;
    private bool _brokenHandled;

    private LongHistogram _latency;
    private LongHistogram _spare;
    private volatile bool _swapRequested;
    private volatile bool _swapDone;

    private long _requests, _bytes, _withdrawn, _batches, _kicks, _kicksSuppressed, _polls, _idlePolls, _errors, _bounces;

    /// <summary>Highest latency the histograms track: one minute in nanoseconds; slower completions are clamped to it.</summary>
    internal const long MaxTrackedLatencyNs = 60_000_000_000L;

    public QueuePair(int index, Reactor reactor, IDriverQueue ring, RequestSlots slots, IVirtioTransport transport, bool indirect,
                     int maxSegments, int submissionCapacity, int localRequests)
    {
        Index = index;
        Reactor = reactor;
        _ring = ring;
        _slots = slots;
        _transport = transport;
        _indirect = indirect;
        _submissions = new MpscRing<BlockRequest>(submissionCapacity);
        _headToSlot = new int[ring.Size];
        _slotRequest = new BlockRequest?[slots.Count];
        _quarantine = new DmaBuffer?[slots.Count];
        _chain = new BufferSegment[maxSegments + 3];
        _localFree = new BlockRequest[localRequests];
        for (int i = 0; i < localRequests; i++) _localFree[i] = new BlockRequest(maxSegments, null);
        _localFreeCount = localRequests;
        _latency = NewHistogram();
        _spare = NewHistogram();
    }

    internal static LongHistogram NewHistogram() => new(1, MaxTrackedLatencyNs, 3);

    public int Index { get; }

    private long _completionTimestamp;

    /// <summary>Reactor thread only: the Stopwatch timestamp of the completion being delivered (one read per reaped batch).</summary>
    public long CompletionTimestamp => _completionTimestamp;
    public Reactor Reactor { get; }
    public IDriverQueue Ring => _ring;

    /// <summary>Set when the engine is stopping: further submissions are refused.</summary>
    public volatile bool Closed;

    /// <summary>Set while the queue is disabled: new work goes to other queues; what is in flight finishes.</summary>
    public volatile bool Disabled;

    /// <summary>
    /// Reactor thread only: after the device side of the queue was paused, replace the ring with a freshly
    /// initialized one at the same memory. Every slot comes back (the device holds none now), including those of
    /// requests that were failed when the old ring broke.
    /// </summary>
    public void ReplaceRing(IDriverQueue ring)
    {
        _ring = ring;
        Array.Clear(_slotRequest);
        ReleaseQuarantine();                     // the device let go of the old ring: nothing can write them now
        _slots.ReleaseAll();
        _brokenHandled = false;
    }

    // ------------------------------------------------------------------ reconnect (vhost-user back-end restarts)

    /// <summary>How often a queue the device did not take back after a reset tries that reset again (while requests arrive).</summary>
    public static readonly TimeSpan ReenableRetryInterval = TimeSpan.FromMilliseconds(100);

    private bool _suspended;
    private bool _linkLost;                                  // the transport is gone for good: every request fails
    private string _linkLostDetail = "";
    private string? _reenableFailure;                        // the device did not take this queue back after a reset
    private long _reenableTriedAt;
    private long _resubmitted;

    /// <summary>
    /// Reactor thread only: the back-end went away. Deliver the completions it published before dying, then stop
    /// touching the ring; new requests wait in the pending FIFO until <see cref="ResumeAfterReconnect"/>.
    /// </summary>
    public void SuspendForReconnect()
    {
        if (!_ring.IsBroken) Reap();
        _suspended = true;
    }

    /// <summary>
    /// Reactor thread only: the connection is back and the back-end forgot the old ring. Take
    /// <paramref name="fresh"/> (re-initialized in the same memory) and move every request the old ring still held
    /// to the front of the pending FIFO, oldest first, so that each is placed again exactly once. Requests keep their
    /// first submission time: their latency includes the outage.
    /// </summary>
    public void RebuildAfterReconnect(IDriverQueue fresh)
    {
        RequeueOrFail(TakeHeld(), IoStatus.TransportLost, "the back-end was reconnected", capPlacements: false);
        FlushRequeued();
        ReplaceRing(fresh);
    }

    private BlockRequest? _requeueHead, _requeueTail;
    private int _requeueCount;

    /// <summary>Every request the ring holds, oldest first, taken out of its slot (the ring is about to be replaced).</summary>
    private List<BlockRequest> TakeHeld()
    {
        var held = new List<BlockRequest>();                 // recovery path only: allocation is fine here
        for (int s = 0; s < _slotRequest.Length; s++)
        {
            if (_slotRequest[s] is not { } r) continue;
            _slotRequest[s] = null;
            held.Add(r);
        }
        held.Sort(static (a, b) => a.StartTicks.CompareTo(b.StartTicks));
        return held;
    }

    /// <summary>Queues <paramref name="r"/> to be placed again, keeping its submission time.</summary>
    private void Requeue(BlockRequest r)
    {
        r.Next = null;
        if (_requeueTail is null) _requeueHead = r;
        else _requeueTail.Next = r;
        _requeueTail = r;
        _requeueCount++;
    }

    /// <summary>Puts the requeued requests in front of the pending FIFO, in their order.</summary>
    private void FlushRequeued()
    {
        if (_requeueTail is null) return;
        _requeueTail.Next = _pendingHead;
        _pendingHead = _requeueHead;
        if (_pendingTail is null) _pendingTail = _requeueTail;
        _pendingCount += _requeueCount;
        _resubmitted += _requeueCount;
        _requeueHead = _requeueTail = null;
        _requeueCount = 0;
    }

    // ------------------------------------------------------------------ recovery (request timeouts, broken rings)

    /// <summary>Request timeout in Stopwatch ticks; 0 = off.</summary>
    public long RequestTimeoutTicks { get; set; }

    /// <summary>What a timed-out request gets.</summary>
    public TimeoutPolicy TimeoutPolicy { get; set; }

    /// <summary>Whether a broken ring is reset at once (with <see cref="FreshRing"/>) instead of failing its requests.</summary>
    public bool RecoverBroken { get; set; }

    /// <summary>Re-initializes this queue's ring in its memory and returns the driver side (set by the engine).</summary>
    public Func<IDriverQueue>? FreshRing { get; set; }

    private long _timeouts, _queueResets;
    private int _pollsSinceTimeoutCheck;
    private string? _lastRecovery;

    /// <summary>Called on the reactor after the engine reset this queue by itself, with the reason (the audit log listens).</summary>
    public Action<int, string>? Recovered { get; set; }

    /// <summary>Why the queue was last reset by the engine itself, for diagnostics.</summary>
    public string? LastRecovery => Volatile.Read(ref _lastRecovery);

    private void MaybeCheckTimeouts(bool now, int mask = 255)
    {
        if (_ring.InFlight == 0) return;
        if (!now && (++_pollsSinceTimeoutCheck & mask) != 0) return;
        CheckDeviceNeedsReset();
        if (RequestTimeoutTicks <= 0 || _suspended) return;
        long clock = Stopwatch.GetTimestamp();
        int expired = 0;
        for (int s = 0; s < _slotRequest.Length; s++)
        {
            if (_slotRequest[s] is { } r && clock - r.PlacedTicks > RequestTimeoutTicks)
            {
                r.Expired = true;
                expired++;
            }
        }
        if (expired > 0)
            RecoverQueue(IoStatus.TimedOut, $"{expired} request(s) not completed within {RequestTimeoutTicks * 1000.0 / Stopwatch.Frequency:0.#} ms");
    }

    /// <summary>
    /// Reactor thread only: resets this queue (the device forgets the ring), re-initializes the ring in place, and
    /// places every request it held once more, except those already placed twice and, per policy, those that timed
    /// out: they fail with <paramref name="status"/>. Nothing from the old ring is delivered afterwards, so no
    /// request completes twice. When a queue reset is not enough (it fails, or this queue keeps breaking) and the
    /// engine escalates, the queue stops touching its ring and waits for the whole device to be reset instead;
    /// without escalation, a failed reset fails everything held and the queue stays broken.
    /// </summary>
    private void RecoverQueue(IoStatus status, string reason)
    {
        long now = Stopwatch.GetTimestamp();
        if (EscalateDeviceReset is not null && KeepsBreaking(now) && !EscalationPaused)
        {
            AwaitDeviceReset($"{reason}; queue {Index} needed {QueueResetsBeforeDeviceReset} resets within " +
                             $"{QueueResetWindowTicks * 1000.0 / Stopwatch.Frequency:0.#} ms");
            return;
        }
        if (!_transport.QueueResetWaitsForRequests)
        {
            RecoverWithoutQueueReset(status, reason);
            return;
        }
        _queueResets++;
        _resetTimes[_resetTimesNext++ % _resetTimes.Length] = now;
        Volatile.Write(ref _lastRecovery, reason);
        IDriverQueue fresh;
        try
        {
            _transport.ResetQueue(Index);
            fresh = FreshRing!();
        }
        catch (Exception e)
        {
            if (EscalateDeviceReset is not null && !EscalationPaused)
            {
                // The device may still own the requests: they stay in their slots until the device reset stops it.
                AwaitDeviceReset($"{reason}; the queue reset failed: {e.Message}");
                return;
            }
            // The device refused the reset, so it may still write what it holds: fail those requests, keep their memory.
            FailHeld(IoStatus.QueueBroken, $"{reason}; the queue reset failed: {e.Message}", quarantine: true);
            return;
        }
        RequeueOrFail(TakeHeld(), status, $"{reason}; the queue was reset");
        FlushRequeued();
        ReplaceRing(fresh);
        try
        {
            _transport.EnableQueue(Index);
        }
        catch (Exception e)
        {
            string detail = $"{reason}; the device did not re-enable the queue: {e.Message}";
            if (EscalateDeviceReset is not null && !EscalationPaused)
            {
                AwaitDeviceReset(detail);          // what was requeued waits in the pending FIFO for the fresh device
                return;
            }
            // The device did not take the queue back: nothing can be placed on it now. What arrives fails at once,
            // and the queue tries the reset again now and then (RetryReenable), so one refusal does not end it.
            FailHeldRequests(IoStatus.QueueBroken, detail);
            _reenableFailure = detail;
            _reenableTriedAt = Stopwatch.GetTimestamp();
            return;
        }
        _reenableFailure = null;
        Recovered?.Invoke(Index, reason);
    }

    /// <summary>
    /// Placement, while the device has not taken this queue back after a reset: at most once per
    /// <see cref="ReenableRetryInterval"/> the queue is reset again (true when the device now serves it and the
    /// pending requests may be placed); in between, pending requests fail at once with the failure that stopped it.
    /// </summary>
    private bool RetryReenable()
    {
        long now = Stopwatch.GetTimestamp();
        if (now - _reenableTriedAt < (long)(ReenableRetryInterval.TotalSeconds * Stopwatch.Frequency))
        {
            FailHeldRequests(IoStatus.QueueBroken, _reenableFailure!);
            return false;
        }
        _reenableTriedAt = now;                   // whatever this attempt meets (a refused reset too), the next waits
        RecoverQueue(IoStatus.QueueBroken, $"trying again a queue the device did not take back ({_reenableFailure})");
        return _reenableFailure is null && !_suspended;
    }

    /// <summary>
    /// Reactor thread only (or the stopping owner in manual threading): the device serves this queue's fresh ring again
    /// after a reset the engine did not start itself (the owner's queue reset); a failed re-enable before is forgotten.
    /// </summary>
    public void Reenabled() => _reenableFailure = null;

    /// <summary>
    /// Recovery where a queue cannot be reset alone (vhost-user: GET_VRING_BASE does not wait for requests the back-end
    /// still executes, and qemu-storage-daemon completes them later into whatever ring is there). The queue waits for a
    /// device reset, which reconnects and so drains the back-end. Without one (turned off, or resets made no progress)
    /// nothing is reset: timed-out requests fail and the others keep waiting for the device; a broken ring fails what
    /// it holds. Either way the failed requests' slots and bounce buffers stay reserved until the device returns them.
    /// </summary>
    private void RecoverWithoutQueueReset(IoStatus status, string reason)
    {
        if (EscalateDeviceReset is not null && !EscalationPaused)
        {
            AwaitDeviceReset($"{reason}; a vhost-user queue is reset by reconnecting (the back-end drains only then)");
            return;
        }
        Volatile.Write(ref _lastRecovery, reason);
        if (status == IoStatus.TimedOut && !_ring.IsBroken)
        {
            FailHeld(IoStatus.TimedOut, $"{reason}; not reset (a vhost-user queue is reset by reconnecting, and device resets are off)",
                     quarantine: true, expiredOnly: true);
            return;
        }
        FailHeld(status, $"{reason}; a vhost-user queue cannot be reset alone and device resets are off", quarantine: true);
    }

    /// <summary>
    /// Places each held request once more, oldest first, or fails it: a timed-out one per <see cref="TimeoutPolicy"/>,
    /// one already placed twice with <paramref name="status"/> (unless <paramref name="capPlacements"/> is false: a
    /// reconnect is no fault of the request's).
    /// </summary>
    private void RequeueOrFail(List<BlockRequest> held, IoStatus status, string reason, bool capPlacements = true)
    {
        foreach (var r in held)
        {
            if (r.Expired)
            {
                r.Expired = false;
                _timeouts++;
                if (TimeoutPolicy == TimeoutPolicy.Fail || r.Placements >= 2)
                {
                    Fail(r, IoStatus.TimedOut, reason);
                    continue;
                }
            }
            else if (capPlacements && r.Placements >= 2)
            {
                Fail(r, status, $"{reason}; already placed twice, not placed again");
                continue;
            }
            Requeue(r);
        }
    }

    // ------------------------------------------------------------------ device reset (escalation and PmdEngine.ResetDevice)

    /// <summary>Set by the engine when it escalates to a device reset: called on the reactor with the reason, once per escalation.</summary>
    public Action<string>? EscalateDeviceReset { get; set; }

    /// <summary>Queue resets within <see cref="QueueResetWindowTicks"/> after which the next recovery escalates.</summary>
    public int QueueResetsBeforeDeviceReset
    {
        get => _resetTimes.Length;
        set => _resetTimes = new long[Math.Max(1, value)];
    }

    /// <summary>The window, in Stopwatch ticks, of <see cref="QueueResetsBeforeDeviceReset"/>.</summary>
    public long QueueResetWindowTicks { get; set; }

    private long[] _resetTimes = new long[4];
    private int _resetTimesNext;
    private bool _awaitingDeviceReset;
    private long _deviceResets;

    /// <summary>Whether the last <see cref="QueueResetsBeforeDeviceReset"/> queue resets all fell within the window before <paramref name="now"/>.</summary>
    private bool KeepsBreaking(long now)
    {
        if (_resetTimesNext < _resetTimes.Length) return false;
        long oldest = _resetTimes[_resetTimesNext % _resetTimes.Length];
        return now - oldest <= QueueResetWindowTicks;
    }

    /// <summary>Stops touching the ring (held requests stay in their slots) and asks the engine for a device reset, once.</summary>
    private void AwaitDeviceReset(string reason)
    {
        if (EscalationPaused) return;
        _suspended = true;
        Volatile.Write(ref _lastRecovery, reason);
        if (_awaitingDeviceReset) return;
        _awaitingDeviceReset = true;
        EscalateDeviceReset!(reason);
    }

    private bool _escalationPaused;
    private long _okAtPause;

    /// <summary>
    /// Whether escalation is paused: device resets made no progress, so this queue recovers with queue resets only
    /// until one of its requests completes successfully again.
    /// </summary>
    private bool EscalationPaused
    {
        get
        {
            if (!_escalationPaused) return false;
            if (_requests - _errors == _okAtPause) return true;
            _escalationPaused = false;
            return false;
        }
    }

    /// <summary>
    /// Reactor thread only: the engine declined the device reset this queue waits for (resets made no progress).
    /// The queue takes its ring back and recovers by itself, without escalating, until a request succeeds again.
    /// </summary>
    public void DeclineDeviceReset()
    {
        _escalationPaused = true;
        _okAtPause = _requests - _errors;
        _awaitingDeviceReset = false;
        _suspended = false;
        _resetTimesNext = 0;
    }

    /// <summary>Whether this queue stopped and waits for the device reset it asked for.</summary>
    public bool AwaitingDeviceReset => Volatile.Read(ref _awaitingDeviceReset);

    /// <summary>Every few polls with requests in flight: a device that set DEVICE_NEEDS_RESET is reset as a whole (VirtIO 1.2 §2.1.2).</summary>
    private void CheckDeviceNeedsReset()
    {
        if (EscalateDeviceReset is null || _awaitingDeviceReset) return;
        if ((_transport.GetStatus() & DeviceStatus.DeviceNeedsReset) != 0 && !EscalationPaused)
            AwaitDeviceReset("the device set DEVICE_NEEDS_RESET");
    }

    /// <summary>Reactor thread only, device reset step one: stop touching the ring; held requests stay in their slots.</summary>
    public void SuspendForDeviceReset() => _suspended = true;

    /// <summary>
    /// Reactor thread only, device reset step two, after the device let go of every ring: deliver what the device had
    /// completed, then take a fresh ring (<see cref="FreshRing"/>, re-initialized in the same memory, so only after the
    /// old one was read to the end) and put every request still
    /// held in front of the pending FIFO, oldest first, or fail it when it was already placed twice (or timed out, per
    /// policy). Each request is completed at most once: those delivered here are no longer held.
    /// </summary>
    public void RebuildAfterDeviceReset(string reason)
    {
        if (!_ring.IsBroken) Reap(handleBroken: false);
        RequeueOrFail(TakeHeld(), IoStatus.QueueBroken, $"{reason}; the device was reset");
        FlushRequeued();
        ReplaceRing(FreshRing!());
        _deviceResets++;
        _resetTimesNext = 0;                       // a fresh device starts with a clean record
        Volatile.Write(ref _lastRecovery, $"device reset: {reason}");
    }

    /// <summary>Reactor thread only, device reset step three: the device serves the fresh ring; place what waited.</summary>
    public void ResumeAfterDeviceReset()
    {
        _awaitingDeviceReset = false;
        _suspended = false;
        _reenableFailure = null;                  // the device was initialized again with every queue
    }

    /// <summary>Reactor thread only: the back-end serves the fresh ring; place what waited.</summary>
    public void ResumeAfterReconnect()
    {
        _awaitingDeviceReset = false;             // a reconnect re-created every ring: a device reset it waited for is moot
        _suspended = false;
        _reenableFailure = null;
    }

    /// <summary>
    /// Reactor thread only: the back-end did not come back in time. Fail everything held or pending with
    /// <see cref="IoStatus.TransportLost"/>, and every later submission at once.
    /// </summary>
    public void FailForLostLink(string detail, bool quarantine = false)
    {
        _linkLost = true;
        _linkLostDetail = detail;
        FailHeldRequests(IoStatus.TransportLost, detail, quarantine);
        _suspended = false;
    }

    private volatile bool _faulted;
    private string _faultDetail = "";

    /// <summary>
    /// Reactor thread only: something escaped this queue's poller (the reactor removed it) and the queue cannot be
    /// trusted to go on. Fails everything held or pending with <see cref="IoStatus.QueueBroken"/> and
    /// <paramref name="detail"/>, and from now on every request that arrives (the engine polls the queue again for
    /// that). Slots of held requests stay reserved: the device may still write them.
    /// </summary>
    public void FailAfterPollerFault(string detail)
    {
        _faultDetail = detail;
        _faulted = true;
        FailHeldRequests(IoStatus.QueueBroken, detail, quarantine: true);
    }

    /// <summary>Whether the queue stopped after a poller fault (its requests fail at once).</summary>
    public bool Faulted => _faulted;

    private int FailArrivals()
    {
        int failed = _pendingCount + _submissions.Count;
        if (failed > 0) FailHeldRequests(IoStatus.QueueBroken, _faultDetail);
        return failed;
    }

    /// <summary>Whether the queue is waiting for its back-end to come back.</summary>
    public bool Suspended => Volatile.Read(ref _suspended);

    /// <summary>
    /// Fails every request held in a slot and every pending one. With <paramref name="quarantine"/> the device may
    /// still write the held requests' memory (no reset stopped it): their slots stay taken, as always here, and their
    /// bounce buffers are kept out of the pool too, until a reset (<see cref="ReplaceRing"/>) or the device's late
    /// completion of that slot gives them back.
    /// </summary>
    private void FailHeldRequests(IoStatus status, string detail, bool quarantine = false)
    {
        FailHeld(status, detail, quarantine);
        while (_submissions.TryDequeue(out var q)) Enqueue(q);
        while (_pendingHead is { } p)
        {
            _pendingHead = p.Next;
            _pendingCount--;
            Fail(p, status, detail);
        }
        _pendingTail = null;
    }

    /// <summary>Fails every request held in a slot (at the device); see <see cref="FailHeldRequests"/> for <paramref name="quarantine"/>.</summary>
    private void FailHeld(IoStatus status, string detail, bool quarantine, bool expiredOnly = false)
    {
        for (int s = 0; s < _slotRequest.Length; s++)
        {
            if (_slotRequest[s] is not { } r || (expiredOnly && !r.Expired)) continue;
            if (expiredOnly)
            {
                r.Expired = false;
                _timeouts++;
            }
            _slotRequest[s] = null;
            if (quarantine && r.Bounce is { } bounce)
            {
                // Taken before the failure is delivered: the awaiter returns a request's bounce buffer to the pool.
                _quarantine[s] = bounce;
                r.Bounce = null;
                r.BounceReadTarget = default;    // nothing is copied out of a failed read anyway
                _bounces++;
            }
            Fail(r, status, detail);
        }
    }

    /// <summary>Returns the quarantined bounce buffer of <paramref name="slot"/>, if any: the device is done with it.</summary>
    private void ReleaseQuarantined(int slot)
    {
        if (_quarantine[slot] is not { } bounce) return;
        _quarantine[slot] = null;
        bounce.Dispose();
    }

    private void ReleaseQuarantine()
    {
        for (int s = 0; s < _quarantine.Length; s++) ReleaseQuarantined(s);
    }

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

    /// <summary>With EVENT_IDX, completions per interrupt while requests are in flight (1 = every completion).</summary>
    public int InterruptCoalescing { get; set; } = 1;

    private long _interruptsArmed;

    /// <summary>
    /// Before the reactor sleeps: with requests in flight, ask the device for an interrupt and re-check the ring (a
    /// completion published before the request became visible would otherwise be slept through). With nothing in
    /// flight there is nothing to wait for: a new submission wakes the reactor.
    /// </summary>
    public bool PrepareToPark()
    {
        if (!_submissions.IsEmpty) return false;
        if (_suspended) return true;          // nothing to poll until the reconnect posts to this reactor
        MaybeCheckTimeouts(now: true);
        // Requests still pending after an idle poll are waiting for ring space: with requests in flight a completion
        // frees it (sleep with the interrupt armed); with none in flight they can go now, so do not sleep.
        if (_pendingHead is not null && _ring.InFlight == 0 && !_ring.IsBroken) return false;
        if (_ring.InFlight == 0 || _ring.IsBroken) return true;
        _interruptsArmed++;
        int n = Math.Min(InterruptCoalescing, _ring.InFlight);
        bool pending = n > 1 ? _ring.EnableInterruptsCoalesced(n) : _ring.EnableInterruptsAndRecheck();
        return !pending;
    }

    /// <summary>Awake again: back to busy polling with interrupts off.</summary>
    public void Unparked() => _ring.DisableInterrupts();

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

    private bool _reaping;              // inside Reap's completion loop: _completionTimestamp is this batch's

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
        if (_faulted) return FailArrivals();
        if (_swapRequested) SwapHistograms();
        int work = 0;
        while (_submissions.TryDequeue(out var r))
        {
            Enqueue(r);
            work++;
        }
        if (_cancelsArrived != _cancelsSwept) work += SweepCancelled();
        if (!_suspended)
        {
            int reaped = Reap();
            // A clock read every 256 busy polls, every 16 idle ones (an idle reactor may be yielding or sleeping
            // between polls, so counting polls alone would stretch the timeout), and before parking.
            MaybeCheckTimeouts(now: false, mask: reaped == 0 ? 15 : 255);
            work += reaped;
            if (!_suspended) work += SubmitPending();     // a recovery above may have suspended the queue
        }
        _polls++;
        if (work == 0) _idlePolls++;
        return work;
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

    // ------------------------------------------------------------------ placement

    private int SubmitPending()
    {
        if (_pendingHead is null) return 0;
        if (_ring.IsBroken)
        {
            HandleBroken();
            return 0;
        }
        if (_linkLost)
        {
            FailHeldRequests(IoStatus.TransportLost, _linkLostDetail);
            return 0;
        }
        if (_reenableFailure is not null && !RetryReenable()) return 0;
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
            _headToSlot[head] = slot;
            _slotRequest[slot] = r;
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
        return placed;
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
            int slot = _headToSlot[head];
            if (_slotRequest[slot] is not { } r)
            {
                // A request already failed (its queue or device was given up on) that the device completed after all.
                ReleaseQuarantined(slot);
                _slots.Release(slot);
                continue;
            }
            _slotRequest[slot] = null;
            byte status = _slots.StatusByte(slot);
            if (r.Type == BlkRequestType.GetId && r.IdDestination is { } id)
                new ReadOnlySpan<byte>(_slots.Host(slot, RequestSlots.PayloadOffset), BlkConstants.IdBytes).CopyTo(id);
            _slots.Release(slot);

            long latency = now - r.StartTicks;   // Stopwatch ticks are nanoseconds on Linux
            _latency.RecordValue(Math.Clamp(latency, 1, MaxTrackedLatencyNs));
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

    /// <summary>How many failed requests each queue keeps for diagnosis.</summary>
    public const int RecentErrorCapacity = 32;

    private readonly IoErrorRecord[] _recentErrors = new IoErrorRecord[RecentErrorCapacity];
    private long _recentErrorsWritten;
    private readonly Lock _recentErrorsLock = new();       // taken only on the error path and by readers

    private void RecordError(BlockRequest r)
    {
        var record = new IoErrorRecord(DateTime.UtcNow, Index, r.Type, r.Sector, r.DataBytes, r.Status, r.FailureDetail);
        lock (_recentErrorsLock)
        {
            _recentErrors[_recentErrorsWritten % RecentErrorCapacity] = record;
            _recentErrorsWritten++;
        }
    }

    /// <summary>The last failed requests (at most <see cref="RecentErrorCapacity"/>), newest first. Any thread.</summary>
    private readonly long[] _errorsByStatus = new long[256];     // indexed by IoStatus; written by the reactor only

    /// <summary>Every failure since start, counted by status (only statuses that occurred). Any thread.</summary>
    public Dictionary<IoStatus, long> ErrorCounts()
    {
        var counts = new Dictionary<IoStatus, long>();
        for (int s = 0; s < _errorsByStatus.Length; s++)
        {
            long n = Volatile.Read(ref _errorsByStatus[s]);
            if (n != 0) counts[(IoStatus)s] = n;
        }
        return counts;
    }

    public IoErrorRecord[] RecentErrors()
    {
        lock (_recentErrorsLock)
        {
            int n = (int)Math.Min(_recentErrorsWritten, RecentErrorCapacity);
            var result = new IoErrorRecord[n];
            for (int i = 0; i < n; i++) result[i] = _recentErrors[(_recentErrorsWritten - 1 - i) % RecentErrorCapacity];
            return result;
        }
    }

    // ------------------------------------------------------------------ callback faults

    private long _callbackFaults;
    private Exception? _firstCallbackFault, _lastCallbackFault;

    /// <summary>The first exception a completion callback threw (diagnostics; any thread).</summary>
    public Exception? FirstCallbackFault => Volatile.Read(ref _firstCallbackFault);

    /// <summary>The latest exception a completion callback threw (diagnostics; any thread).</summary>
    public Exception? LastCallbackFault => Volatile.Read(ref _lastCallbackFault);

    /// <summary>Told (on the reactor) of every exception a completion callback threw; the engine logs the first.</summary>
    public Action<int, long, Exception>? CallbackFaulted { get; set; }

    /// <summary>Error path only: remembers and reports a callback's exception; the batch goes on.</summary>
    private void RecordCallbackFault(long tag, Exception e)
    {
        _callbackFaults++;
        Interlocked.CompareExchange(ref _firstCallbackFault, e, null);
        Volatile.Write(ref _lastCallbackFault, e);
        try
        {
            CallbackFaulted?.Invoke(Index, tag, e);
        }
        catch
        {
            // A logger that throws must not take the queue down either.
        }
    }

    private void Complete(BlockRequest r)
    {
        if (r.Status is not (IoStatus.Ok or IoStatus.Canceled))     // a withdrawn request is the caller's choice, not an error
        {
            _errors++;
            _errorsByStatus[(byte)r.Status]++;
            RecordError(r);
        }
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
                RecordCallbackFault(tag, e);
            }
        }
        else r.CompleteAwaiter();
    }

    /// <summary>
    /// The device broke the ring: fail everything in flight and pending with the queue's named error. The slots and
    /// bounce buffers of in-flight requests stay reserved, since the device might still write into them, until a reset
    /// reclaims them.
    /// </summary>
    private void HandleBroken()
    {
        if (RecoverBroken && FreshRing is not null && !_brokenHandled)
        {
            RecoverQueue(IoStatus.QueueBroken, $"the device broke the ring ({_ring.Error}: {_ring.ErrorMessage})");
            return;
        }
        // Held and pending requests fail with the queue's named error; their slots and bounce buffers stay reserved until a reset.
        _brokenHandled = true;
        FailHeldRequests(IoStatus.QueueBroken, $"{_ring.Error}: {_ring.ErrorMessage}", quarantine: true);
    }

    private void Fail(BlockRequest r, IoStatus status, string detail)
    {
        _completionTimestamp = Stopwatch.GetTimestamp();
        r.Status = status;
        r.FailureDetail = detail;
        r.Next = null;
        // A withdrawn request never reached the device: not a completed request, and no progress for the reset limits.
        if (status == IoStatus.Canceled) _withdrawn++;
        else _requests++;
        Complete(r);
    }

    /// <summary>Reactor thread only: fail every pending request (the engine is stopping and the queue will not drain).</summary>
    public void AbortPending()
    {
        if (_suspended)
        {
            // The back-end is gone and the engine stops: nothing will ever complete what the ring holds.
            FailHeldRequests(IoStatus.Aborted, "engine stopped while the device was disconnected");
            return;
        }
        while (_submissions.TryDequeue(out var r)) Enqueue(r);
        while (_pendingHead is { } p)
        {
            _pendingHead = p.Next;
            _pendingCount--;
            Fail(p, IoStatus.Aborted, "engine stopped");
        }
        _pendingTail = null;
    }

    private volatile bool _stopped;

    /// <summary>
    /// Engine stop only, once the reactor is stopped and the device reset (so nothing can write the requests' memory
    /// any more), before the memory is unmapped: fails every request the ring still holds (the device never completed
    /// it within <see cref="EngineOptions.DrainTimeout"/>) and anything still pending, with <see cref="IoStatus.Aborted"/>
    /// and <paramref name="detail"/>. Without this, such a request's task would never complete. Runs on the stopping
    /// thread: the reactor that owns the queue no longer runs.
    /// </summary>
    public void FailHeldAtStop(string detail)
    {
        _stopped = true;                           // the ring's slots are never given back: it is not counted any more
        FailHeldRequests(IoStatus.Aborted, detail);
    }

    /// <summary>Requests in flight at the device plus those waiting for the ring.</summary>
    public int Outstanding => (Volatile.Read(ref _linkLost) || _faulted || _stopped ? 0 : _ring.InFlight) + Volatile.Read(ref _pendingCount) + _submissions.Count;

    // ------------------------------------------------------------------ monitor handoff

    /// <summary>
    /// Takes the latency histogram recorded since the last call, leaving an empty one in its place. The reactor
    /// performs the swap between polls, so the histogram is never read while being written. When the reactor does
    /// not run (manual mode or stopped), the caller swaps directly.
    /// </summary>
    public LongHistogram TakeLatency(bool reactorRunning, TimeSpan timeout)
    {
        if (!reactorRunning || Reactor.IsCurrent)
        {
            SwapHistograms();
        }
        else
        {
            _swapDone = false;
            _swapRequested = true;
            long deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
            var spin = new SpinWait();
            while (!_swapDone)
            {
                if (Stopwatch.GetTimestamp() > deadline)
                    throw new TimeoutException($"reactor of queue {Index} did not hand over its histogram within {timeout.TotalMilliseconds} ms");
                spin.SpinOnce(sleep1Threshold: -1);
            }
        }
        _swapDone = false;
        var taken = _spare;
        return taken;
    }

    /// <summary>Gives back an emptied histogram for the next swap.</summary>
    public void ReturnSpare(LongHistogram emptied) => _spare = emptied;

    private void SwapHistograms()
    {
        var full = _latency;
        _latency = _spare;
        _spare = full;
        _swapRequested = false;
        _swapDone = true;
    }

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
        Errors = Volatile.Read(ref _errors),
        Bounces = Volatile.Read(ref _bounces),
        InterruptsArmed = Volatile.Read(ref _interruptsArmed),
        Resubmitted = Volatile.Read(ref _resubmitted),
        Timeouts = Volatile.Read(ref _timeouts),
        QueueResets = Volatile.Read(ref _queueResets),
        DeviceResets = Volatile.Read(ref _deviceResets),
        CallbackFaults = Volatile.Read(ref _callbackFaults),
        InFlight = _ring.InFlight,
        Pending = Volatile.Read(ref _pendingCount),
    };
}
