using Orion.Pmd.Device;
using Orion.Pmd.Transport;

namespace Orion.Vhost;

/// <summary>What the command line asked for.</summary>
internal sealed record VhostOptions
{
    /// <summary>The Unix socket to listen on.</summary>
    public required string SocketPath { get; init; }

    /// <summary>The device to serve (<c>null:SIZE</c>, <c>mem:SIZE</c>, <c>file:PATH</c>, with their options).</summary>
    public required DeviceString Device { get; init; }

    /// <summary>Request queues offered (<c>num_queues</c>); each started queue gets its own device thread.</summary>
    public int Queues { get; init; } = 1;

    /// <summary>Serve read-only (VIRTIO_BLK_F_RO; writes fail with IOERR), whatever the device string says.</summary>
    public bool ReadOnly { get; init; }

    /// <summary>The GET_ID serial (at most 20 ASCII characters).</summary>
    public string Serial { get; init; } = "orion-vhost";

    /// <summary>
    /// Adaptive (spin for <see cref="PollWindow"/> after the last request, then sleep on the kick eventfd), kick-driven
    /// (sleep whenever a pass finds nothing) or polled (spin for ever, and tell the front-end not to kick).
    /// </summary>
    public DeviceServiceMode Mode { get; init; } = DeviceServiceMode.Adaptive;

    /// <summary>Adaptive mode: how long a device thread spins without finding work before it sleeps on the kick eventfd.</summary>
    public TimeSpan PollWindow { get; init; } = DefaultPollWindow;

    /// <summary>Adaptive mode, while requests are in the kernel: how long to spin before sleeping (default 0: sleep at once).</summary>
    public TimeSpan IoPollWindow { get; init; } = TimeSpan.Zero;

    /// <summary>The default <see cref="PollWindow"/> (perf/compare-vhost-modes.sh measured 20us to 1ms).</summary>
    public static readonly TimeSpan DefaultPollWindow = TimeSpan.FromMicroseconds(50);

    /// <summary>Largest queue size accepted in SET_VRING_NUM.</summary>
    public int QueueSizeMax { get; init; } = 1024;

    /// <summary>Offer VIRTIO_F_RING_PACKED.</summary>
    public bool Packed { get; init; } = true;

    /// <summary>Offer VIRTIO_F_INDIRECT_DESC.</summary>
    public bool Indirect { get; init; } = true;

    /// <summary>Offer VIRTIO_F_EVENT_IDX.</summary>
    public bool EventIdx { get; init; } = true;

    /// <summary>Cpus to pin queue threads to (queue i on Cpus[i % Count]); null leaves them unpinned.</summary>
    public IReadOnlyList<int>? Cpus { get; init; }

    /// <summary>How long a started message may take to arrive whole, and a reply to be read, before the front-end is dropped.</summary>
    public TimeSpan MessageTimeout { get; init; } = Pmd.Device.VhostUser.VhostUserServerOptions.DefaultMessageTimeout;

    /// <summary>How long a connection with no queue running may stay quiet while another client waits.</summary>
    public TimeSpan IdleTimeout { get; init; } = Pmd.Device.VhostUser.VhostUserServerOptions.DefaultIdleTimeout;

    /// <summary>Accept memory fds that cannot be sealed against shrinking (and the SIGBUS a truncation would cause).</summary>
    public bool AllowUnsealedMemory { get; init; }
}
