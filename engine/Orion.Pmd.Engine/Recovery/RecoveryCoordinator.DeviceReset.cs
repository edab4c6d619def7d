using System.Diagnostics;
using Orion.Pmd.Engine.Queues;
using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Engine.Transport.VhostUser;

namespace Orion.Pmd.Engine.Recovery;

/// <summary>
/// Whole-device reset, the answer when a queue reset is not enough: every queue stops touching its ring, the device
/// is reset (status 0; it lets go of every ring), what it had completed is delivered, every other request it held is
/// placed once more on a fresh ring, oldest first (or fails when it was already placed twice), and the device is
/// initialized again with the same features, the same disk and the same queues. Under the gate, like every recovery.
/// </summary>
internal sealed partial class RecoveryCoordinator
{
    private int _deviceResets;
    private string? _lastDeviceReset;
    private int _escalationPending;                 // 1 while an automatic reset is asked for and not yet under way
    private string? _manualEscalation;              // manual threading: PollOnce runs the reset the queues asked for
    private Thread? _resetThread;
    private long _progressAtLastAutomaticReset = -1;
    private int _resetsWithoutProgress;
    private volatile string? _deviceFailure;

    /// <summary>Whole-device resets done so far (explicit and automatic).</summary>
    public int DeviceResets => Volatile.Read(ref _deviceResets);

    /// <summary>The last device reset: why, how long it took, and what became of the requests it found; null before the first.</summary>
    public string? LastDeviceReset => Volatile.Read(ref _lastDeviceReset);

    /// <summary>Why the engine gave up on the device; null while it serves.</summary>
    public string? DeviceFailure => _deviceFailure;

    /// <summary>The owner's device reset (any thread but a reactor; in manual threading, the thread that polls).</summary>
    public void ResetDevice()
    {
        if (Pairs.Any(p => p.Reactor.IsCurrent))
            throw new InvalidOperationException("the device cannot be reset from a reactor thread (it waits for every reactor); call ResetDevice from another thread");
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_engine.IsDisposed, _engine);
            ResetDeviceLocked("requested by the owner", automatic: false);
        }
    }

    /// <summary>A queue's reactor asks for a device reset (it stopped touching its ring and waits). Coalesced.</summary>
    private void RequestDeviceReset(string reason)
    {
        if (Interlocked.CompareExchange(ref _escalationPending, 1, 0) != 0) return;
        if (!_engine.ReactorsRunning)
        {
            Volatile.Write(ref _manualEscalation, reason);
            return;
        }
        var thread = new Thread(() => AutomaticReset(reason)) { IsBackground = true, Name = "orion-device-reset" };
        _resetThread = thread;
        thread.Start();
    }

    /// <summary>Manual threading, from <see cref="PmdEngine.PollOnce"/>: run the reset a queue asked for during the last poll.</summary>
    public void RunRequestedReset()
    {
        if (Interlocked.Exchange(ref _manualEscalation, null) is { } reason) AutomaticReset(reason);
    }

    private void AutomaticReset(string reason)
    {
        lock (_gate)
        {
            if (_engine.IsDisposed || !Pairs.Any(p => p.AwaitingDeviceReset))
            {
                Volatile.Write(ref _escalationPending, 0);      // another reset (or a reconnect) served it already
                return;
            }
            long progress = Pairs.Sum(p => p.GoodCompletions);
            _resetsWithoutProgress = progress == _progressAtLastAutomaticReset ? _resetsWithoutProgress + 1 : 1;
            _progressAtLastAutomaticReset = progress;
            if (_resetsWithoutProgress > _options.MaxDeviceResetsWithoutProgress)
            {
                // Resetting again would not help: the queues recover by themselves, without escalating, until a
                // request succeeds again.
                Volatile.Write(ref _lastDeviceReset, $"declined ({reason}): {_options.MaxDeviceResetsWithoutProgress} device reset(s) in a row " +
                                                     "completed no request; queues recover with queue resets until one succeeds");
                OnEachQueue(Decline, "declined device reset");
                Volatile.Write(ref _escalationPending, 0);
                _resetsWithoutProgress = 0;
                return;
            }
            try { ResetDeviceLocked(reason, automatic: true); }
            catch (Exception)
            {
                // Recorded in LastDeviceReset and DeviceFailure (or left to the link supervisor); nobody waits on this thread.
            }
        }
    }

    private void ResetDeviceLocked(string reason, bool automatic)
    {
        if (_deviceFailure is { } failure) throw new IOException($"the device was given up on: {failure}");
        if (_transport is VhostUserTransport { IsConnected: false })
        {
            Volatile.Write(ref _escalationPending, 0);
            throw new IOException($"{_transport.Description} is not connected; the engine is reconnecting, which re-creates every queue");
        }
        long started = Stopwatch.GetTimestamp();
        string why = automatic ? $"automatic: {reason}" : reason;
        _engine.AuditLog.DeviceReset(_transport.Description, why);
        OnEachQueue(static p => p.Suspend(), "device reset (suspend)");
        // From here on every queue is stopped: a reset asked for from now on is a new one.
        Volatile.Write(ref _escalationPending, 0);
        var before = Pairs.Select(p => p.Counters).ToArray();
        try
        {
            _transport.ResetDevice();
            OnEachQueue(p =>
            {
                // What the device completed is delivered first; the fresh ring is initialized in the same memory, so
                // only after the old one was read to the end.
                p.DeliverCompleted(handleBroken: false);
                p.Rebuild(p.Options.FreshRing(), IoStatus.QueueBroken, $"{why}; the device was reset", _options.TimeoutPolicy);
                p.CountDeviceReset(why);
                _history[p.Index].Clear();                // a fresh device starts with a clean record
            }, "device reset (rebuild)");
            _engine.ReinitializeDevice();
        }
        catch (Exception e) when (_transport is VhostUserTransport vhost && (!vhost.IsConnected || e is VhostUserDisconnectedException))
        {
            // The back-end went away, or a request of the reset failed (late, malformed or refused), which ends the
            // connection: the queues stay suspended and the link supervisor, which sees the hang-up, reconnects,
            // re-creates every ring once the back-end let the old ones go, and resumes them.
            Volatile.Write(ref _lastDeviceReset, $"{why}: interrupted, the back-end went away ({e.Message})");
            throw new IOException($"device reset interrupted: {e.Message}", e);
        }
        catch (Exception e)
        {
            string detail = $"device reset ({why}) failed: {e.Message}";
            Volatile.Write(ref _lastDeviceReset, detail);
            FailDevice(detail);
            throw new IOException(detail, e);
        }
        OnEachQueue(static p => p.Resume(), "device reset (resume)");
        int count = Interlocked.Increment(ref _deviceResets);
        var after = Pairs.Select(p => p.Counters).ToArray();
        long resubmitted = 0, failed = 0, delivered = 0;
        for (int q = 0; q < Pairs.Length; q++)
        {
            resubmitted += after[q].Resubmitted - before[q].Resubmitted;
            failed += after[q].Errors - before[q].Errors;
            delivered += after[q].Requests - before[q].Requests - (after[q].Errors - before[q].Errors);
        }
        var elapsed = Stopwatch.GetElapsedTime(started);
        Volatile.Write(ref _lastDeviceReset,
            $"{why}: done in {elapsed.TotalMilliseconds:0.###} ms; {delivered} completed request(s) delivered, {resubmitted} placed again, {failed} failed");
        _engine.AuditLog.DeviceRecovered(_transport.Description, count, elapsed, delivered, resubmitted, failed);
    }

    /// <summary>Gives up on the device: every request held or submitted later fails with <see cref="IoStatus.TransportLost"/>.</summary>
    private void FailDevice(string detail)
    {
        _deviceFailure = detail;
        _engine.AuditLog.DeviceFailed(_transport.Description, detail);
        // The reset failed, so the device may still write what it held: those requests' memory stays quarantined.
        OnEachQueue(p => p.FailForLostLink(detail, quarantine: true), "giving the device up");
    }

    /// <summary>A device reset step on every queue: on its reactor, or inline in manual threading (the polling thread runs resets).</summary>
    private void OnEachQueue(Action<QueuePair> step, string what)
        => ReactorDispatch.RunOnEach(Pairs, step, inline: !_engine.ReactorsRunning, StepTimeout, what);
}
