using System.Diagnostics;
using System.Runtime.CompilerServices;
using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Engine.Queues;

/// <summary>
/// The queue's state (<see cref="QueueState"/>, changed only in <see cref="MoveTo"/>), its admission, and the
/// primitives recovery is built from: suspend, deliver what completed, take held requests and rebuild on a fresh
/// ring, resume, and the ways to fail what the queue holds. Which primitives run when is the engine's
/// <c>RecoveryCoordinator</c>'s business; everything here runs on the queue's reactor (or, while the reactor does
/// not run, on the thread that owns the queue).
/// </summary>
internal sealed partial class QueuePair
{
    /// <summary>How often a queue the device did not take back after a reset tries that reset again (while requests arrive).</summary>
    public static readonly TimeSpan ReenableRetryInterval = TimeSpan.FromMilliseconds(100);

    private volatile QueueState _state;
    private QueueState _resumeTo;                  // where a declined device reset leaves the queue
    private string _stateDetail = "";              // why Unserved, LinkLost or Faulted: what arrivals fail with
    private volatile QueueAdmission _admission;
    private string? _lastRecovery;
    private BlockRequest? _requeueHead, _requeueTail;
    private int _requeueCount;
    private long _resubmitted, _timeouts, _queueResets, _deviceResets;
    private int _pollsSinceTimeoutCheck;

    /// <summary>Where the ring stands. Any thread (a snapshot).</summary>
    public QueueState State => _state;

    /// <summary>Whether the queue takes new work. Any thread.</summary>
    public QueueAdmission Admission => _admission;

    /// <summary>Whether new work goes to other queues (disabled by the owner, or closed by the stopping engine).</summary>
    public bool Disabled => _admission == QueueAdmission.Disabled;

    /// <summary>Whether the engine is stopping: submissions are refused.</summary>
    public bool Closed => _admission == QueueAdmission.Closed;

    /// <summary>Any thread: the owner disables (true) or enables (false) the queue; a closed queue stays closed.</summary>
    public void SetDisabled(bool disabled)
    {
        if (_admission != QueueAdmission.Closed) _admission = disabled ? QueueAdmission.Disabled : QueueAdmission.Open;
    }

    /// <summary>Any thread: the engine stops; further submissions are refused.</summary>
    public void Close() => _admission = QueueAdmission.Closed;

    /// <summary>Whether a reconnect or device reset owns the ring.</summary>
    public bool Suspended => QueueStates.IsSuspended(_state);

    /// <summary>Whether this queue stopped and waits for the device reset it asked for.</summary>
    public bool AwaitingDeviceReset => _state == QueueState.AwaitingDeviceReset;

    /// <summary>Why the queue was last reset or recovered, for diagnostics.</summary>
    public string? LastRecovery => Volatile.Read(ref _lastRecovery);

    /// <summary>Requests that completed successfully so far (the progress a recovery policy watches).</summary>
    public long GoodCompletions => Volatile.Read(ref _requests) - ErrorLog.Errors;

    /// <summary>The one place the state changes. Illegal changes throw in debug builds, naming both states.</summary>
    private void MoveTo(QueueState next, string why)
    {
        QueueStates.Check(Index, _state, next, why);
        _state = next;
    }

    // ------------------------------------------------------------------ primitives for the recovery coordinator

    /// <summary>Notes why the queue was recovered (shown as <see cref="LastRecovery"/>).</summary>
    public void NoteRecovery(string reason) => Volatile.Write(ref _lastRecovery, reason);

    /// <summary>Counts one queue reset the engine did by itself.</summary>
    public void CountQueueReset() => _queueResets++;

    /// <summary>Stops touching the ring (held requests stay in their slots). A queue that ended stays ended.</summary>
    public void Suspend()
    {
        if (QueueStates.IsTerminal(_state) || _state == QueueState.AwaitingDeviceReset) return;
        MoveTo(QueueState.Suspended, "suspend");
    }

    /// <summary>
    /// Delivers what the device completed before it let go of the ring (nothing from a broken ring);
    /// <paramref name="handleBroken"/>: a ring that breaks while being read is handled as in a poll.
    /// </summary>
    public void DeliverCompleted(bool handleBroken)
    {
        if (!_ring.IsBroken) Reap(handleBroken);
    }

    /// <summary>
    /// Asks for the device reset: stops touching the ring, held requests stay in their slots. True when this is the
    /// queue's first request for it (the caller starts the reset); false when it already waits.
    /// </summary>
    public bool AwaitDeviceReset(string reason)
    {
        NoteRecovery(reason);
        if (QueueStates.IsTerminal(_state)) return false;          // a lost or faulted queue fails what arrives; no reset brings it back
        if (_state == QueueState.AwaitingDeviceReset) return false;
        if (_state == QueueState.Suspended) return false;      // a reset or reconnect already owns the ring
        _resumeTo = _state;
        MoveTo(QueueState.AwaitingDeviceReset, reason);
        return true;
    }

    /// <summary>The device reset this queue waits for was declined: it takes its ring back as it was.</summary>
    public void DeclineDeviceReset()
    {
        if (_state != QueueState.AwaitingDeviceReset) return;
        MoveTo(_resumeTo, "device reset declined");
    }

    /// <summary>
    /// After the device (or back-end) let go of the ring: places every held request once more on
    /// <paramref name="fresh"/> (re-initialized in the same memory), oldest first and in front of the pending FIFO, or
    /// fails it: a timed-out one per <paramref name="timeouts"/>, one already placed twice with
    /// <paramref name="status"/> (unless <paramref name="capPlacements"/> is false: a reconnect is no fault of the
    /// request's). Requests keep their first submission time: their latency includes the outage.
    /// </summary>
    public void Rebuild(IDriverQueue fresh, IoStatus status, string reason, TimeoutPolicy timeouts, bool capPlacements = true)
    {
        foreach (var r in _held.TakeAllOldestFirst())
        {
            if (r.Expired)
            {
                r.Expired = false;
                _timeouts++;
                if (timeouts == TimeoutPolicy.Fail || r.Placements >= 2)
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
        FlushRequeued();
        ReplaceRing(fresh);
    }

    /// <summary>
    /// Replaces the ring with a freshly initialized one at the same memory. Every slot comes back (the device holds
    /// none now), including those of requests that were failed when the old ring broke; a broken queue runs again.
    /// </summary>
    public void ReplaceRing(IDriverQueue ring)
    {
        _ring = ring;
        DeliverAllWithheld();                // the device let go of the old ring: their owners' memory is theirs again
        _held.Clear();                       // and nothing can write the quarantine now
        _slots.ReleaseAll();
        if (_state == QueueState.Broken) MoveTo(QueueState.Running, "fresh ring");
    }

    /// <summary>The device reset is done: counts it and notes why.</summary>
    public void CountDeviceReset(string reason)
    {
        _deviceResets++;
        NoteRecovery($"device reset: {reason}");
    }

    /// <summary>The device serves the fresh ring: place what waited. A queue that ended stays ended.</summary>
    public void Resume()
    {
        if (QueueStates.IsTerminal(_state)) return;
        MoveTo(QueueState.Running, "resume");
    }

    /// <summary>The device did not take the queue back after a reset: held and pending requests fail, and so does what arrives.</summary>
    public void MarkUnserved(string detail)
    {
        FailHeldRequests(IoStatus.QueueBroken, detail);
        _stateDetail = detail;
        MoveTo(QueueState.Unserved, detail);
    }

    /// <summary>Why the device does not serve the queue (<see cref="QueueState.Unserved"/>); empty otherwise.</summary>
    public string UnservedDetail => _state == QueueState.Unserved ? _stateDetail : "";

    /// <summary>The device serves this queue's fresh ring again (a reset went through); a refusal before is forgotten.</summary>
    public void Reenabled()
    {
        if (_state == QueueState.Unserved) MoveTo(QueueState.Running, "re-enabled");
    }

    /// <summary>
    /// The device is gone for good: fail everything held or pending with <see cref="IoStatus.TransportLost"/>, and
    /// every later submission at once.
    /// </summary>
    public void FailForLostLink(string detail, bool quarantine = false)
    {
        if (!QueueStates.IsTerminal(_state))
        {
            _stateDetail = detail;
            MoveTo(QueueState.LinkLost, detail);
        }
        FailHeldRequests(IoStatus.TransportLost, detail, quarantine);
    }

    /// <summary>
    /// Something escaped this queue's poller (the reactor removed it) and the queue cannot be trusted to go on. Fails
    /// everything held or pending with <see cref="IoStatus.QueueBroken"/> and <paramref name="detail"/>, and from now on
    /// every request that arrives (the engine polls the queue again for that). Slots of held requests stay reserved:
    /// the device may still write them.
    /// </summary>
    public void FailAfterPollerFault(string detail)
    {
        _stateDetail = detail;
        MoveTo(QueueState.Faulted, detail);
        FailHeldRequests(IoStatus.QueueBroken, detail, quarantine: true);
    }

    /// <summary>Fails every pending request (the engine is stopping and the queue will not drain).</summary>
    public void AbortPending()
    {
        // What the ring holds (a disconnected back-end's requests included: qemu-storage-daemon may still run them) fails
        // in FailHeldAtStop, once the device is reset and its owners can no longer reach the memory.
        while (_submissions.TryDequeue(out var r)) Enqueue(r);
        while (_pendingHead is { } p)
        {
            _pendingHead = p.Next;
            _pendingCount--;
            Fail(p, IoStatus.Aborted, "engine stopped");
        }
        _pendingTail = null;
    }

    /// <summary>
    /// Engine stop only, once the reactor is stopped and the device reset (so nothing can write the requests' memory
    /// any more), before the memory is unmapped: fails every request the ring still holds (the device never completed
    /// it within <see cref="EngineOptions.DrainTimeout"/>) and anything still pending, with <see cref="IoStatus.Aborted"/>
    /// and <paramref name="detail"/>. Runs on the stopping thread: the reactor that owns the queue no longer runs.
    /// </summary>
    public void FailHeldAtStop(string detail)
    {
        MoveTo(QueueState.Stopped, detail);        // the ring's slots are never given back: it is not counted any more
        FailHeldRequests(IoStatus.Aborted, detail);
        DeliverAllWithheld();
    }

    /// <summary>Slots of failed requests the device has not returned (their memory is kept from reuse, or from their owner).</summary>
    public int GivenUpRequests => _held.GivenUp;

    /// <summary>The device let go of every slot: delivers each withheld request's failure (its owner's memory is safe now).</summary>
    private void DeliverAllWithheld()
    {
        if (_held.GivenUp == 0) return;
        for (int s = 0; s < _held.Slots; s++)
            if (_held.Release(s) is { } r) DeliverWithheld(r);
    }

    /// <summary>Delivers the failure a withheld request was given when the engine gave up on it.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void DeliverWithheld(BlockRequest r) => Fail(r, r.Status, r.FailureDetail ?? r.Status.ToString());

    /// <summary>
    /// Fails every request held in a slot and every pending one. With <paramref name="quarantine"/> the device may
    /// still read or write the held requests' memory (no reset stopped it): their slots stay taken, as always here,
    /// their bounce buffers are kept out of the pool, and a request whose data is its owner's own memory (zero-copy) is
    /// withheld: its failure reaches its owner only when a reset (<see cref="ReplaceRing"/>), the device's late
    /// completion of that slot or the engine's stop (<see cref="FailHeldAtStop"/>) proves the device let go of it.
    /// </summary>
    public void FailHeldRequests(IoStatus status, string detail, bool quarantine = false)
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

    /// <summary>
    /// Fails every request held in a slot (at the device), or with <paramref name="expiredOnly"/> only those past their
    /// timeout; see <see cref="FailHeldRequests"/> for <paramref name="quarantine"/>.
    /// </summary>
    public void FailHeld(IoStatus status, string detail, bool quarantine, bool expiredOnly = false)
    {
        for (int s = 0; s < _held.Slots; s++)
        {
            if (_held.At(s) is not { } r || (expiredOnly && !r.Expired)) continue;
            if (expiredOnly)
            {
                r.Expired = false;
                _timeouts++;
            }
            _held.TakeAt(s);
            if (quarantine && r.Bounce is { } bounce)
            {
                // Taken before the failure is delivered: the awaiter returns a request's bounce buffer to the pool.
                _held.Quarantine(s, bounce);
                r.Bounce = null;
                r.BounceReadTarget = default;    // nothing is copied out of a failed read anyway
                _bounces++;
            }
            else if (quarantine && r.SegmentCount > 0)
            {
                // The device reads or writes the owner's buffer directly: handing it back now would let the device
                // write memory its owner reuses. The failure is decided now and delivered when the device let go.
                r.Status = status;
                r.FailureDetail = detail;
                _held.Withhold(s, r);
                continue;
            }
            Fail(r, status, detail);
        }
    }

    // ------------------------------------------------------------------ the poll's cold paths

    /// <summary>Placement on a queue that is not simply running: true when the pending requests may go into the ring.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool MayPlace()
    {
        if (_state == QueueState.LinkLost)
        {
            FailHeldRequests(IoStatus.TransportLost, _stateDetail);
            return false;
        }
        if (_ring.IsBroken)
        {
            HandleBroken();
            return false;
        }
        if (_state == QueueState.Unserved) return _recovery.RetryUnserved(this);
        return _state == QueueState.Running;
    }

    /// <summary>
    /// The device broke the ring: recover it, or fail everything in flight and pending with the queue's named error. The
    /// slots and bounce buffers of in-flight requests stay reserved, since the device might still write into them,
    /// until a reset reclaims them.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void HandleBroken()
    {
        if (_state == QueueState.LinkLost)
        {
            FailHeldRequests(IoStatus.TransportLost, _stateDetail);
            return;
        }
        if (_state != QueueState.Broken && _recovery.RecoversBrokenRings)
        {
            _recovery.Recover(this, IoStatus.QueueBroken, $"the device broke the ring ({_ring.Error}: {_ring.ErrorMessage})");
            return;
        }
        MoveTo(QueueState.Broken, "the device broke the ring");
        FailHeldRequests(IoStatus.QueueBroken, $"{_ring.Error}: {_ring.ErrorMessage}", quarantine: true);
    }

    private void MaybeCheckTimeouts(bool now, int mask = 255)
    {
        if (_ring.InFlight == 0) return;
        if (!now && (++_pollsSinceTimeoutCheck & mask) != 0) return;
        CheckTimeouts();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void CheckTimeouts()
    {
        if (_state != QueueState.AwaitingDeviceReset) _recovery.DeviceNeedsReset(this);
        long timeout = _options.RequestTimeoutTicks;
        if (timeout <= 0 || QueueStates.IsSuspended(_state)) return;
        int expired = _held.MarkExpired(Stopwatch.GetTimestamp(), timeout);
        if (expired > 0)
            _recovery.Recover(this, IoStatus.TimedOut, $"{expired} request(s) not completed within {timeout * 1000.0 / Stopwatch.Frequency:0.#} ms");
    }

    /// <summary>
    /// A faulted queue places nothing, but the device may still return what it held when the queue faulted: that ends
    /// the quarantine of those requests (their failures reach their owners).
    /// </summary>
    private int ReapGivenUp() => _held.GivenUp > 0 && !_ring.IsBroken ? Reap(handleBroken: false) : 0;

    private int FailArrivals()
    {
        int failed = _pendingCount + _submissions.Count;
        if (failed > 0) FailHeldRequests(IoStatus.QueueBroken, _stateDetail);
        return failed;
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
}
