namespace Orion.Pmd.Transport;

/// <summary>
/// How the embedded device's queues are served (the engine's <c>EngineOptions.DeviceMode</c>). The software device's
/// own <c>Orion.Pmd.Device.DeviceServiceMode</c> has the same members; this one belongs to the transport layer so that
/// the engine's options name no type of the device project.
/// </summary>
public enum EmbeddedDeviceMode
{
    /// <summary>Device threads busy-poll the avail rings and tell the driver not to kick (the SPDK vhost target's way).</summary>
    Polled,
    /// <summary>Device threads sleep on the kick eventfd and re-enable notifications before sleeping, so the driver's doorbell logic is exercised.</summary>
    KickDriven,
    /// <summary>
    /// Busy-poll with kicks suppressed while requests flow; after an idle budget without work, re-enable kicks,
    /// re-check, and sleep on the kick eventfd until the driver rings.
    /// </summary>
    Adaptive,
    /// <summary>No device threads: the owner polls the device (<see cref="IInProcessDevice.PollDevice"/>), or each reactor serves its queue's device side.</summary>
    Manual,
}

/// <summary>What the engine decided about the embedded device it starts (<see cref="EmbeddedDevice.Start"/>).</summary>
public sealed record EmbeddedDeviceSettings
{
    /// <summary>Request queues the device serves.</summary>
    public int Queues { get; init; } = 1;
    /// <summary>The largest queue size the device accepts.</summary>
    public int MaxQueueSize { get; init; } = 1024;
    /// <summary>Overrides the features the device offers (compatibility tests); null for its own.</summary>
    public Virtio.VirtioFeatures? OfferedFeatures { get; init; }
    /// <summary>How its queues are served.</summary>
    public EmbeddedDeviceMode Mode { get; init; } = EmbeddedDeviceMode.Polled;
    /// <summary>How long an adaptive device polls without work before it sleeps on the kick eventfd.</summary>
    public TimeSpan AdaptiveSleepAfter { get; init; } = TimeSpan.FromMicroseconds(50);
    /// <summary>Device threads (when it has threads).</summary>
    public int Threads { get; init; } = 1;
    /// <summary>The cores its threads are pinned to; null or empty leaves them unpinned.</summary>
    public IReadOnlyList<int>? Cores { get; init; }
    /// <summary>Whether an idle device thread yields its core (when the threads are not pinned).</summary>
    public bool YieldWhenIdle { get; init; }
}
