namespace Orion.Pmd.Engine;

/// <summary>What happens to a request that outlived <see cref="EngineOptions.RequestTimeout"/>.</summary>
public enum TimeoutPolicy
{
    /// <summary>Fail it with <see cref="Requests.IoStatus.TimedOut"/> (its queue is reset either way).</summary>
    Fail,
    /// <summary>Place it once more on the reset queue; fail it if it times out again.</summary>
    RetryOnce,
}

public sealed partial record EngineOptions
{
    /// <summary>
    /// Longest a request may stay at the device before the engine gives up on it: the queue is reset (the device
    /// forgets its ring), the late request is failed or retried per <see cref="TimeoutPolicy"/>, and the others
    /// that were in flight are placed once more on the fresh ring. Generous by default (30 s) so that only a device
    /// that lost a request trips it; <see cref="Timeout.InfiniteTimeSpan"/> or zero turns it off.
    /// </summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Fail or retry a request that timed out.</summary>
    public TimeoutPolicy TimeoutPolicy { get; init; } = TimeoutPolicy.Fail;

    /// <summary>
    /// When the device breaks a queue (an inconsistent used ring), reset that queue at once and place what was in
    /// flight once more, instead of failing it and leaving the queue broken until <see cref="BlockQueue.Reset"/>.
    /// A request that was already placed twice fails with <see cref="Requests.IoStatus.QueueBroken"/>.
    /// </summary>
    public bool RecoverBrokenQueues { get; init; } = true;
}

public sealed partial record EngineOptions
{
    /// <summary>
    /// Escalate to a whole-device reset (<see cref="PmdEngine.ResetDevice"/>) when a queue reset is not enough: the
    /// device set DEVICE_NEEDS_RESET, a queue reset failed (or the transport cannot reset one queue), or one queue
    /// needed <see cref="QueueResetsBeforeDeviceReset"/> resets within <see cref="QueueResetWindow"/>. Off: those
    /// requests fail and the queue stays broken, as without escalation.
    /// </summary>
    public bool RecoverWithDeviceReset { get; init; } = true;

    /// <summary>Queue resets of one queue within <see cref="QueueResetWindow"/> after which the next recovery resets the whole device (at least 1).</summary>
    public int QueueResetsBeforeDeviceReset { get; init; } = 4;

    /// <summary>The window in which <see cref="QueueResetsBeforeDeviceReset"/> queue resets count as a queue that keeps breaking.</summary>
    public TimeSpan QueueResetWindow { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Automatic device resets in a row, with no request completing successfully in between, after which the engine
    /// stops escalating: a device that a reset does not cure is not reset in a loop; its queues recover with queue
    /// resets (and fail what was placed twice) until a request succeeds again. An explicit
    /// <see cref="PmdEngine.ResetDevice"/> is not limited.
    /// </summary>
    public int MaxDeviceResetsWithoutProgress { get; init; } = 3;
}
