using Orion.Pmd.Virtio;

namespace Orion.Pmd.Device.Tests.Support;

/// <summary>Options of the test driver.</summary>
internal sealed record MiniDriverOptions
{
    /// <summary>Entries per queue.</summary>
    public int QueueSize { get; init; } = 64;
    /// <summary>Features the driver understands; it accepts <c>offered &amp; Accept</c>.</summary>
    public VirtioFeatures Accept { get; init; } = (VirtioFeatures)ulong.MaxValue;
    /// <summary>Bytes of the one shared region (rings first, then request buffers).</summary>
    public long RegionBytes { get; init; } = 8 << 20;
    /// <summary>Device-visible base of the region: deliberately unlike any host address.</summary>
    public ulong GuestBase { get; init; } = MiniDriver.DefaultGuestBase;
    /// <summary>Hand each queue a kick eventfd at SetupQueue (the driver then kicks by signalling it).</summary>
    public bool KickEventFds { get; init; }
    /// <summary>Hand each queue a call eventfd at SetupQueue (the device's interrupt).</summary>
    public bool CallEventFds { get; init; }
    /// <summary>Ask the device not to interrupt (NO_INTERRUPT, or an unreachable used_event with EVENT_IDX), as a polled driver does.</summary>
    public bool SuppressInterrupts { get; init; } = true;
    /// <summary>Register the region as two memory-table entries split at this offset (the second with that fd offset); 0: one entry.</summary>
    public long SplitRegionAt { get; init; }
    /// <summary>Pass the driver's host pointer in the memory table (false passes 0: the device must map the fd itself).</summary>
    public bool PassHostPointer { get; init; } = true;
    /// <summary>Bound on every wait in thread modes.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);
}
