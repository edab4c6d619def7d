using System.Diagnostics;
using Orion.Pmd.Engine.Queues;
using Orion.Pmd.Engine.Transport.VhostUser;

namespace Orion.Pmd.Engine;

/// <summary>
/// Surviving a back-end restart: the link supervisor calls these from its control thread, and each step runs on
/// every queue's own reactor (the only thread that may touch a queue), the caller waiting until all are done.
/// </summary>
public sealed unsafe partial class PmdEngine : ILinkRecovery
{
    private LinkSupervisor? _supervisor;

    /// <summary>How many times the engine reconnected to its device after losing it (vhost-user only).</summary>
    public int Reconnects => _supervisor?.Reconnects ?? 0;

    /// <summary>The process serving the device when it is another process (a vhost-user back-end); null for the embedded device.</summary>
    public int? DeviceProcessId => (_transport as VhostUserTransport)?.BackEndProcessId;

    /// <summary>Whether the device went away and did not come back within the reconnect deadline.</summary>
    public bool DeviceLost => _supervisor?.Lost ?? false;

    private long _suspendedAt;

    void ILinkRecovery.SuspendQueues()
    {
        _suspendedAt = Stopwatch.GetTimestamp();
        AuditLog.BackendDisconnected(_transport.Description);
        OnEveryReactor(static p =>
        {
            p.DeliverCompleted(handleBroken: true);
            p.Suspend();
        });
    }

    void ILinkRecovery.RestoreQueues()
    {
        // The back-end came back in its default cache mode (orion-vhost and qemu-storage-daemon: write-back). The
        // owner's mode goes out before any ring does, or writes acknowledged as durable would sit in a volatile cache.
        Device.RestoreWriteCacheMode();
        for (int q = 0; q < Pairs.Length; q++)
        {
            var (host, guest) = _ringMemory[q];
            OnReactor(Pairs[q], p =>
            {
                var (ring, _) = _rings.Create((byte*)host, guest);     // zeroed: the new connection starts at index 0
                p.Rebuild(ring, Requests.IoStatus.TransportLost, "the back-end was reconnected", _options.TimeoutPolicy, capPlacements: false);
            });
            _transport.EnableQueue(q);
        }
        OnEveryReactor(static p => p.Resume());     // a reconnect re-created every ring: a device reset a queue waited for is moot
        // The supervisor counts the reconnect once this returns.
        AuditLog.BackendReconnected(_transport.Description, Reconnects + 1, Stopwatch.GetElapsedTime(_suspendedAt));
    }

    void ILinkRecovery.FailQueues(string detail)
    {
        AuditLog.BackendLost(_transport.Description, detail);
        // A back-end that did not answer a new connection may still be executing what it held (qemu-storage-daemon
        // finishes the old connection's requests before it accepts again): their memory stays quarantined.
        OnEveryReactor(p => p.FailForLostLink(detail, quarantine: true));
    }

    bool ILinkRecovery.RunExclusive(Func<bool> stop, Action recover)
    {
        while (!_resetGate.TryEnter(100))
            if (stop()) return false;
        try
        {
            if (_disposed || _deviceFailure is not null) return false;
            recover();
            return true;
        }
        finally
        {
            _resetGate.Exit();
        }
    }

    private void OnEveryReactor(Action<QueuePair> step)
    {
        foreach (var p in Pairs) OnReactor(p, step);
    }

    /// <summary>
    /// Runs <paramref name="step"/> on the queue's reactor and waits for it. In manual threading the owner's
    /// <see cref="PollOnce"/> runs it; the wait is bounded so that a stopped owner cannot hang the control thread.
    /// </summary>
    private static void OnReactor(QueuePair pair, Action<QueuePair> step)
    {
        using var done = new ManualResetEventSlim();
        Exception? failure = null;
        void Run(object? _)
        {
            try { step(pair); }
            catch (Exception e) { failure = e; }
            finally { done.Set(); }
        }
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!pair.Reactor.TryPost(Run, null))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"reactor of queue {pair.Index} accepted no message for 30 s");
            Thread.Sleep(1);
        }
        if (!done.Wait(TimeSpan.FromSeconds(30)))
            throw new TimeoutException($"reactor of queue {pair.Index} did not run the reconnect step within 30 s");
        if (failure is not null) throw new IOException($"queue {pair.Index} failed a reconnect step: {failure.Message}", failure);
    }
}
