using System.Diagnostics;
using Orion.Pmd.Engine.Queues;
using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Engine.Transport;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Engine.Recovery;

/// <summary>
/// Decides how the engine recovers and runs every recovery: a queue's own reset (on its reactor, from the poll that
/// found the fault), escalation to a device reset, the device reset itself and the reconnect of a vhost-user
/// back-end. The queues only offer primitives (suspend, take held, rebuild, resume); the order is here. This file is
/// the queue-level policy, called on a queue's reactor.
/// </summary>
internal sealed partial class RecoveryCoordinator : IQueueRecovery
{
    /// <summary>How long one step may wait for a reactor to take it, and as long again to run it.</summary>
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(30);

    private readonly PmdEngine _engine;
    private readonly IVirtioTransport _transport;
    private readonly EngineOptions _options;
    private readonly ResetHistory[] _history;

    // One recovery at a time: device resets, reconnects and the owner's queue resets take it (waiting); a queue's own
    // reset, which runs inside its reactor's poll, only tries it and leaves the fault for a later poll (or for the
    // device reset or reconnect under way, which rebuilds every ring anyway), so no reactor ever blocks on it.
    private readonly Lock _gate = new();

    /// <param name="engine">The engine whose queues this recovers (its queues exist once it started).</param>
    /// <param name="transport">The device's transport.</param>
    /// <param name="options">The engine's options (timeouts, recovery, escalation limits).</param>
    /// <param name="queues">How many queues the engine runs.</param>
    public RecoveryCoordinator(PmdEngine engine, IVirtioTransport transport, EngineOptions options, int queues)
    {
        _engine = engine;
        _transport = transport;
        _options = options;
        long window = (long)(options.QueueResetWindow.TotalSeconds * Stopwatch.Frequency);
        _history = new ResetHistory[queues];
        for (int q = 0; q < queues; q++) _history[q] = new ResetHistory(options.QueueResetsBeforeDeviceReset, window);
    }

    /// <summary>Whether a queue that a queue reset cannot help asks for a device reset.</summary>
    private bool Escalates => _options.RecoverWithDeviceReset;

    /// <inheritdoc/>
    public bool RecoversBrokenRings => _options.RecoverBrokenQueues;

    private bool EscalationAllowed(QueuePair pair) => Escalates && !_history[pair.Index].IsPaused(pair.GoodCompletions);

    /// <summary>
    /// Reactor thread: resets the queue (the device forgets the ring), re-initializes the ring in place, and places
    /// every request it held once more, except those already placed twice and, per policy, those that timed out: they
    /// fail with <paramref name="status"/>. Nothing from the old ring is delivered afterwards, so no request completes
    /// twice. When a queue reset is not enough (it fails, or this queue keeps breaking) and the engine escalates, the
    /// queue stops touching its ring and waits for the whole device to be reset instead; without escalation, a failed
    /// reset fails everything held and the queue stays broken.
    /// </summary>
    public void Recover(QueuePair pair, IoStatus status, string reason)
    {
        if (!_gate.TryEnter()) return;       // another recovery runs: this fault is seen again at a later poll
        try
        {
            RecoverQueue(pair, status, reason);
        }
        finally
        {
            _gate.Exit();
        }
    }

    private QueuePair[] Pairs => _engine.Pairs;

    private void RecoverQueue(QueuePair pair, IoStatus status, string reason)
    {
        var history = _history[pair.Index];
        long now = Stopwatch.GetTimestamp();
        if (Escalates && history.KeepsBreaking(now) && EscalationAllowed(pair))
        {
            AskForDeviceReset(pair, $"{reason}; queue {pair.Index} needed {history.ResetsBeforeEscalation} resets within {history.WindowMs:0.#} ms");
            return;
        }
        if (!_transport.QueueResetWaitsForRequests)
        {
            RecoverWithoutQueueReset(pair, status, reason);
            return;
        }
        pair.CountQueueReset();
        history.NoteReset(now);
        pair.NoteRecovery(reason);
        IDriverQueue fresh;
        try
        {
            _transport.ResetQueue(pair.Index);
            fresh = pair.Options.FreshRing();
        }
        catch (Exception e)
        {
            if (EscalationAllowed(pair))
            {
                // The device may still own the requests: they stay in their slots until the device reset stops it.
                AskForDeviceReset(pair, $"{reason}; the queue reset failed: {e.Message}");
                return;
            }
            // The device refused the reset, so it may still write what it holds: fail those requests, keep their memory.
            pair.FailHeld(IoStatus.QueueBroken, $"{reason}; the queue reset failed: {e.Message}", quarantine: true);
            return;
        }
        pair.Rebuild(fresh, status, $"{reason}; the queue was reset", _options.TimeoutPolicy);
        try
        {
            _transport.EnableQueue(pair.Index);
        }
        catch (Exception e)
        {
            string detail = $"{reason}; the device did not re-enable the queue: {e.Message}";
            if (EscalationAllowed(pair))
            {
                AskForDeviceReset(pair, detail);          // what was requeued waits in the pending FIFO for the fresh device
                return;
            }
            // The device did not take the queue back: nothing can be placed on it now. What arrives fails at once,
            // and the queue tries the reset again now and then (RetryUnserved), so one refusal does not end it.
            pair.MarkUnserved(detail);
            history.UnservedTriedAt = Stopwatch.GetTimestamp();
            return;
        }
        pair.Reenabled();
        _engine.AuditLog.QueueReset(_transport.Description, pair.Index);
    }

    /// <summary>
    /// Placement, while the device has not taken this queue back after a reset: at most once per
    /// <see cref="QueuePair.ReenableRetryInterval"/> the queue is reset again (true when the device now serves it and
    /// the pending requests may be placed); in between, pending requests fail at once with the failure that stopped it.
    /// </summary>
    public bool RetryUnserved(QueuePair pair)
    {
        var history = _history[pair.Index];
        long now = Stopwatch.GetTimestamp();
        if (now - history.UnservedTriedAt < (long)(QueuePair.ReenableRetryInterval.TotalSeconds * Stopwatch.Frequency))
        {
            pair.FailHeldRequests(IoStatus.QueueBroken, pair.UnservedDetail);
            return false;
        }
        history.UnservedTriedAt = now;            // whatever this attempt meets (a refused reset too), the next waits
        Recover(pair, IoStatus.QueueBroken, $"trying again a queue the device did not take back ({pair.UnservedDetail})");
        return pair.State == QueueState.Running;
    }

    /// <summary>Every few polls with requests in flight: a device that set DEVICE_NEEDS_RESET is reset as a whole (VirtIO 1.2 §2.1.2).</summary>
    public void DeviceNeedsReset(QueuePair pair)
    {
        if (!Escalates) return;
        if ((_transport.GetStatus() & DeviceStatus.DeviceNeedsReset) != 0 && EscalationAllowed(pair))
            AskForDeviceReset(pair, "the device set DEVICE_NEEDS_RESET");
    }

    /// <summary>
    /// Recovery where a queue cannot be reset alone (vhost-user: GET_VRING_BASE does not wait for requests the back-end
    /// still executes, and qemu-storage-daemon completes them later into whatever ring is there). The queue waits for a
    /// device reset, which reconnects and so drains the back-end. Without one (turned off, or resets made no progress)
    /// nothing is reset: timed-out requests fail and the others keep waiting for the device; a broken ring fails what
    /// it holds. Either way the failed requests' slots and bounce buffers stay reserved until the device returns them.
    /// </summary>
    private void RecoverWithoutQueueReset(QueuePair pair, IoStatus status, string reason)
    {
        if (EscalationAllowed(pair))
        {
            AskForDeviceReset(pair, $"{reason}; a vhost-user queue is reset by reconnecting (the back-end drains only then)");
            return;
        }
        pair.NoteRecovery(reason);
        if (status == IoStatus.TimedOut && !pair.Ring.IsBroken)
        {
            pair.FailHeld(IoStatus.TimedOut, $"{reason}; not reset (a vhost-user queue is reset by reconnecting, and device resets are off)",
                          quarantine: true, expiredOnly: true);
            return;
        }
        pair.FailHeld(status, $"{reason}; a vhost-user queue cannot be reset alone and device resets are off", quarantine: true);
    }

    /// <summary>The queue stops touching its ring and, the first time, the engine is asked for a device reset.</summary>
    private void AskForDeviceReset(QueuePair pair, string reason)
    {
        if (pair.AwaitDeviceReset(reason)) RequestDeviceReset(reason);
    }

    /// <summary>
    /// On the queue's reactor: the engine declined the device reset (resets made no progress). The queue takes its
    /// ring back and recovers by itself, without escalating, until a request succeeds again.
    /// </summary>
    private void Decline(QueuePair pair)
    {
        _history[pair.Index].Pause(pair.GoodCompletions);
        pair.DeclineDeviceReset();
    }
}
