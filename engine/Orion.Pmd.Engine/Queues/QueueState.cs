using System.Diagnostics;

namespace Orion.Pmd.Engine.Queues;

/// <summary>
/// Where a queue's ring stands. One value at a time, changed only through <see cref="QueueStates.Check"/> (from
/// <c>QueuePair.MoveTo</c>), so every way in and out of a state is in the table below. Whether the queue takes new
/// work (<see cref="QueueAdmission"/>) is a separate, owner-driven setting: a disabled or closing queue still drains,
/// breaks and recovers like any other.
/// </summary>
internal enum QueueState : byte
{
    /// <summary>Polls, reaps and places.</summary>
    Running,

    /// <summary>The device broke the ring and it was not reset: held requests failed (their memory quarantined); arrivals fail.</summary>
    Broken,

    /// <summary>The device did not take the queue back after a reset: arrivals fail; the reset is tried again now and then.</summary>
    Unserved,

    /// <summary>A reconnect or device reset is under way: the ring is not touched, arrivals wait.</summary>
    Suspended,

    /// <summary>Suspended, and this queue asked for the device reset it waits for.</summary>
    AwaitingDeviceReset,

    /// <summary>Terminal: the device is gone (the back-end did not come back, or a device reset failed); everything fails.</summary>
    LinkLost,

    /// <summary>Terminal: something escaped the queue's poller; everything fails.</summary>
    Faulted,

    /// <summary>Terminal: the engine stopped and failed what the ring still held.</summary>
    Stopped,
}

/// <summary>Whether a queue takes new work; set by its owner (or the stopping engine), read by submitters on any thread.</summary>
internal enum QueueAdmission : byte
{
    /// <summary>Takes new work.</summary>
    Open,

    /// <summary>New work goes to other queues; what is in flight finishes.</summary>
    Disabled,

    /// <summary>The engine is stopping: submissions are refused (terminal).</summary>
    Closed,
}

/// <summary>The legal transitions of <see cref="QueueState"/>, in one table.</summary>
internal static class QueueStates
{
    /// <summary>Whether nothing leaves <paramref name="state"/> any more.</summary>
    public static bool IsTerminal(QueueState state) => state >= QueueState.LinkLost;

    /// <summary>Whether the ring is left alone (a reconnect or device reset owns it).</summary>
    public static bool IsSuspended(QueueState state) => state is QueueState.Suspended or QueueState.AwaitingDeviceReset;

    /// <summary>Whether <paramref name="from"/> may become <paramref name="to"/>.</summary>
    public static bool IsLegal(QueueState from, QueueState to) => (from, to) switch
    {
        _ when from == to => true,
        // Anything may end: the link is lost, the poller faulted, the engine stopped.
        (_, QueueState.Faulted or QueueState.Stopped) => true,
        (not QueueState.Faulted and not QueueState.Stopped, QueueState.LinkLost) => true,
        _ when IsTerminal(from) => false,
        // Running breaks, or is refused after a reset, and comes back through a reset.
        (QueueState.Running, QueueState.Broken or QueueState.Unserved) => true,
        (QueueState.Broken or QueueState.Unserved, QueueState.Running) => true,
        (QueueState.Unserved or QueueState.Suspended, QueueState.Broken) => true,     // a ring read to its end while suspended may break
        // A reconnect or device reset suspends any live queue; resuming gives a running queue.
        (_, QueueState.Suspended) => true,
        (QueueState.Suspended or QueueState.AwaitingDeviceReset, QueueState.Running) => true,
        // Escalation: a queue asks for a device reset; a declined one goes back to where it was.
        (QueueState.Running or QueueState.Broken or QueueState.Unserved or QueueState.Suspended, QueueState.AwaitingDeviceReset) => true,
        (QueueState.AwaitingDeviceReset, QueueState.Broken or QueueState.Unserved) => true,
        _ => false,
    };

    /// <summary>
    /// Debug builds: throws, naming both states and the queue, when <paramref name="from"/> may not become
    /// <paramref name="to"/>. Release builds check nothing (the transitions are few and all in <c>QueuePair</c>).
    /// </summary>
    [Conditional("DEBUG")]
    public static void Check(int queue, QueueState from, QueueState to, string why)
    {
        if (!IsLegal(from, to))
            throw new InvalidOperationException($"queue {queue}: illegal state change {from} -> {to} ({why})");
    }
}
