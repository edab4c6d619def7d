using System.Diagnostics;
using Orion.Pmd.Engine.Queues;
using Orion.Pmd.Engine.Transport;
using Orion.Pmd.Engine.Transport.VhostUser;
using Orion.Pmd.Linux;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Engine;

/// <summary>
/// Whole-device reset, the answer when a queue reset is not enough: every queue stops touching its ring, the device
/// is reset (status 0; it lets go of every ring), what it had completed is delivered, every other request it held is
/// placed once more on a fresh ring, oldest first (or fails when it was already placed twice), and the device is
/// initialized again with the same features, the same disk and the same queues. Each step runs on the queue's own
/// reactor, as the reconnect steps do.
/// </summary>
public sealed unsafe partial class PmdEngine
{
    private readonly Lock _resetGate = new();
    private NegotiatedFeatures _features;
    private BlkConfig _config;
    private VirtioFeatures _wanted, _required;
    private SplitRingAddresses[] _queueAreas = [];
    private EventFd?[] _queueKicks = [], _queueCalls = [];

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

    /// <summary>Why the engine gave up on the device (a reset failed: it came back different or not at all); null while it serves.</summary>
    public string? DeviceFailure => _deviceFailure;

    /// <summary>
    /// Resets the whole device and brings it back with the same features, disk and queues. Requests the device had
    /// completed are delivered; every other request in flight is placed once more, oldest first, on fresh rings (never
    /// completed twice); a request that was already placed twice fails with <see cref="Requests.IoStatus.QueueBroken"/>.
    /// Throws <see cref="IOException"/> when the device does not come back the same (features, capacity, block size or
    /// queue count changed): the engine then fails every request with <see cref="Requests.IoStatus.TransportLost"/>.
    /// Any thread but a reactor; in manual threading, the thread that polls.
    /// </summary>
    public void ResetDevice()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Pairs.Any(p => p.Reactor.IsCurrent))
            throw new InvalidOperationException("the device cannot be reset from a reactor thread (it waits for every reactor); call ResetDevice from another thread");
        lock (_resetGate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ResetDeviceLocked("requested by the owner", automatic: false);
        }
    }

    /// <summary><see cref="ResetDevice"/> on a thread-pool thread; safe to call from a reactor (do not wait on it there).</summary>
    public Task ResetDeviceAsync() => Task.Run(ResetDevice);

    /// <summary>A queue's reactor asks for a device reset (it stopped touching its ring and waits). Coalesced.</summary>
    private void RequestDeviceReset(string reason)
    {
        if (Interlocked.CompareExchange(ref _escalationPending, 1, 0) != 0) return;
        if (!_running)
        {
            Volatile.Write(ref _manualEscalation, reason);
            return;
        }
        var thread = new Thread(() => AutomaticReset(reason)) { IsBackground = true, Name = "orion-device-reset" };
        _resetThread = thread;
        thread.Start();
    }

    /// <summary>Manual threading: run the reset a queue asked for during the last poll.</summary>
    private void RunRequestedReset()
    {
        if (Interlocked.Exchange(ref _manualEscalation, null) is { } reason) AutomaticReset(reason);
    }

    private void AutomaticReset(string reason)
    {
        lock (_resetGate)
        {
            if (_disposed || !Pairs.Any(p => p.AwaitingDeviceReset))
            {
                Volatile.Write(ref _escalationPending, 0);      // another reset (or a reconnect) served it already
                return;
            }
            long progress = Pairs.Sum(p => { var c = p.Counters; return c.Requests - c.Errors; });
            _resetsWithoutProgress = progress == _progressAtLastAutomaticReset ? _resetsWithoutProgress + 1 : 1;
            _progressAtLastAutomaticReset = progress;
            if (_resetsWithoutProgress > _options.MaxDeviceResetsWithoutProgress)
            {
                // Resetting again would not help: the queues recover by themselves, without escalating, until a
                // request succeeds again.
                Volatile.Write(ref _lastDeviceReset, $"declined ({reason}): {_options.MaxDeviceResetsWithoutProgress} device reset(s) in a row " +
                                                     "completed no request; queues recover with queue resets until one succeeds");
                OnEachQueue(p => _recovery.Decline(p));
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
        AuditLog.DeviceReset(_transport.Description, why);
        OnEachQueue(static p => p.Suspend());
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
                p.Rebuild(p.Options.FreshRing(), Requests.IoStatus.QueueBroken, $"{why}; the device was reset", _options.TimeoutPolicy);
                p.CountDeviceReset(why);
                _recovery.DeviceWasReset(p);
            });
            Reinitialize();
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
        OnEachQueue(static p => p.Resume());
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
        AuditLog.DeviceRecovered(_transport.Description, count, elapsed, delivered, resubmitted, failed);
    }

    /// <summary>
    /// The initialization sequence again, on the device that was just reset: it must offer the same features, describe
    /// the same disk and serve the same queues, or the reset fails (a different device is not a reset one).
    /// </summary>
    private void Reinitialize()
    {
        var (features, config) = DeviceInitializer.Initialize(_transport, _wanted, _required);
        if (features.Accepted != _features.Accepted)
            throw new InvalidDataException($"{_transport.Description} came back from the reset with features {features.Accepted.Describe()} " +
                                           $"instead of {_features.Accepted.Describe()}");
        DeviceConfigValidator.Validate(features, config, _transport.Description, _transport.MaxQueueSize);
        if (config.Capacity != _config.Capacity || config.BlockSize != _config.BlockSize)
            throw new InvalidDataException($"{_transport.Description} came back from the reset as a different disk: {config.Capacity} sectors " +
                                           $"of {config.BlockSize} bytes instead of {_config.Capacity} of {_config.BlockSize}");
        int queues = features.Has(VirtioFeatures.BlkMultiQueue) ? config.NumQueues : 1;
        if (queues < Pairs.Length)
            throw new InvalidDataException($"{_transport.Description} came back from the reset with {queues} queue(s); the engine runs {Pairs.Length}");
        _transport.SetMemoryTable(_memory.Table.Regions);
        for (int q = 0; q < Pairs.Length; q++)
            _transport.SetupQueue(q, _options.QueueSize, _queueAreas[q], _queueKicks[q], _queueCalls[q]);
        _transport.SetStatus(DeviceStatus.Acknowledge | DeviceStatus.Driver | DeviceStatus.FeaturesOk | DeviceStatus.DriverOk);
        Device.RestoreWriteCacheMode();
    }

    /// <summary>Gives up on the device: every request held or submitted later fails with <see cref="Requests.IoStatus.TransportLost"/>.</summary>
    private void FailDevice(string detail)
    {
        _deviceFailure = detail;
        AuditLog.DeviceFailed(_transport.Description, detail);
        // The reset failed, so the device may still write what it held: those requests' memory stays quarantined.
        OnEachQueue(p => p.FailForLostLink(detail, quarantine: true));
    }

    /// <summary>Runs a step on every queue's reactor (or inline in manual threading), waiting for each.</summary>
    private void OnEachQueue(Action<QueuePair> step)
    {
        foreach (var p in Pairs) OnQueue(p, step);
    }

    private void OnQueue(QueuePair pair, Action<QueuePair> step)
    {
        if (_running) OnReactor(pair, step);
        else step(pair);
    }

    /// <summary>Stop: no reset may start any more; one under way finishes first.</summary>
    private void StopDeviceResets()
    {
        lock (_resetGate) { }
        var thread = _resetThread;
        if (thread is not null && thread != Thread.CurrentThread) thread.Join(TimeSpan.FromSeconds(30));
    }
}
