using System.Diagnostics;
using Orion.Pmd.Engine.Queues;
using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Engine.Transport.VhostUser;

namespace Orion.Pmd.Engine.Recovery;

/// <summary>
/// Surviving a back-end restart: the link supervisor calls these from its control thread, under the gate, and each
/// step runs on every queue's own reactor (in manual threading the owner's <see cref="PmdEngine.PollOnce"/> runs
/// it), the caller waiting until all are done.
/// </summary>
internal sealed partial class RecoveryCoordinator : ILinkRecovery
{
    private LinkSupervisor? _supervisor;
    private long _suspendedAt;

    /// <summary>How many times the engine reconnected to its device after losing it (vhost-user only).</summary>
    public int Reconnects => _supervisor?.Reconnects ?? 0;

    /// <summary>Whether the device went away and did not come back within the reconnect deadline.</summary>
    public bool DeviceLost => _supervisor?.Lost ?? false;

    /// <summary>Starts watching a vhost-user connection: a back-end that hangs up is reconnected through this coordinator.</summary>
    public void Supervise(VhostUserTransport transport)
    {
        _supervisor = new LinkSupervisor(transport, this);
        _supervisor.Start();
    }

    void ILinkRecovery.SuspendQueues()
    {
        _suspendedAt = Stopwatch.GetTimestamp();
        _engine.AuditLog.BackendDisconnected(_transport.Description);
        OnEveryReactor(static p =>
        {
            p.DeliverCompleted(handleBroken: true);     // what the dead back-end had completed
            p.Suspend();
        }, "reconnect (suspend)");
    }

    void ILinkRecovery.RestoreQueues()
    {
        // The back-end came back in its default cache mode (orion-vhost and qemu-storage-daemon: write-back). The
        // owner's mode goes out before any ring does, or writes acknowledged as durable would sit in a volatile cache.
        _engine.Device.RestoreWriteCacheMode();
        foreach (var pair in Pairs)
        {
            // Zeroed: the new connection starts at index 0. A reconnect is no fault of the requests': no placement cap.
            OnReactor(pair, p => p.Rebuild(p.Options.FreshRing(), IoStatus.TransportLost, "the back-end was reconnected",
                                           _options.TimeoutPolicy, capPlacements: false), "reconnect (rebuild)");
            _transport.EnableQueue(pair.Index);
        }
        // A reconnect re-created every ring: a device reset a queue waited for is moot.
        OnEveryReactor(static p => p.Resume(), "reconnect (resume)");
        // The supervisor counts the reconnect once this returns.
        _engine.AuditLog.BackendReconnected(_transport.Description, Reconnects + 1, Stopwatch.GetElapsedTime(_suspendedAt));
    }

    void ILinkRecovery.FailQueues(string detail)
    {
        _engine.AuditLog.BackendLost(_transport.Description, detail);
        // A back-end that did not answer a new connection may still be executing what it held (qemu-storage-daemon
        // finishes the old connection's requests before it accepts again): their memory stays quarantined.
        OnEveryReactor(p => p.FailForLostLink(detail, quarantine: true), "reconnect (give up)");
    }

    bool ILinkRecovery.RunExclusive(Func<bool> stop, Action recover)
    {
        while (!_gate.TryEnter(100))
            if (stop()) return false;
        try
        {
            if (_engine.IsDisposed || _deviceFailure is not null) return false;
            recover();
            return true;
        }
        finally
        {
            _gate.Exit();
        }
    }

    // The supervisor's thread never owns a queue, not even in manual threading: the step is always posted.
    private static void OnReactor(QueuePair pair, Action<QueuePair> step, string what)
        => ReactorDispatch.Run(pair, step, inline: false, StepTimeout, what);

    private void OnEveryReactor(Action<QueuePair> step, string what)
        => ReactorDispatch.RunOnEach(Pairs, step, inline: false, StepTimeout, what);
}
