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
