using System.Diagnostics;
using Orion.Pmd.Engine.Queues;

namespace Orion.Pmd.Engine.Recovery;

/// <summary>
/// The owner's queue reset (<see cref="BlockQueue.Reset"/>, VirtIO 1.2 per-queue reset) and the end of recovery at
/// engine stop. Under the gate, like every recovery: it waits for a device reset or reconnect under way, and none
/// starts while it runs.
/// </summary>
internal sealed partial class RecoveryCoordinator
{
    /// <summary>
    /// Resets a disabled queue once it drained (or broke): the device lets go of the ring, the driver side is
    /// re-initialized in place, and the device starts over from index 0. Any thread but the queue's reactor.
    /// </summary>
    public void ResetQueue(QueuePair pair, TimeSpan timeout)
    {
        if (!pair.Disabled) throw new InvalidOperationException($"disable queue {pair.Index} before resetting it");
        if (pair.Reactor.IsCurrent) throw new InvalidOperationException("a queue cannot be reset from its own reactor");
        // Where a queue reset returns while the device may still execute what it popped (vhost-user's GET_VRING_BASE),
        // requests the engine gave up on are still the device's: a fresh ring would hand their memory back early.
        if (!_transport.QueueResetWaitsForRequests && pair.GivenUpRequests > 0)
            throw new InvalidOperationException(
                $"queue {pair.Index} holds {pair.GivenUpRequests} failed request(s) {_transport.Description} may still execute, and its queue reset " +
                "does not wait for them; reset the device instead (PmdEngine.ResetDevice: a vhost-user back-end lets go of them when it is reconnected)");
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (pair.Outstanding > 0 && !pair.Ring.IsBroken)
        {
            if (Stopwatch.GetTimestamp() > deadline)
                throw new TimeoutException($"queue {pair.Index} still has {pair.Outstanding} requests outstanding after {timeout.TotalMilliseconds} ms");
            if (_engine.ReactorsRunning) Thread.Sleep(1);
            else _engine.PollOnce();
        }
        lock (_gate)
        {
            ReactorDispatch.Run(pair, p =>
            {
                _transport.ResetQueue(p.Index);                   // the device lets go of the rings first
                p.ReplaceRing(p.Options.FreshRing());             // zeroes and re-initializes the driver side
                _transport.EnableQueue(p.Index);                  // the device starts over from index 0
                p.Reenabled();
            }, inline: !_engine.ReactorsRunning, timeout, "queue reset");
        }
    }

    /// <summary>Engine stop: no recovery may start any more; one under way finishes first, and the supervisor stops.</summary>
    public void Stop()
    {
        // The supervisor first: a reconnect under way gives up at its next attempt instead of holding the gate for the
        // whole reconnect timeout; the engine's own hang-up is not a crash to recover from.
        _supervisor?.Dispose();
        lock (_gate) { }
        var thread = _resetThread;
        if (thread is not null && thread != Thread.CurrentThread) thread.Join(TimeSpan.FromSeconds(30));
    }
}
