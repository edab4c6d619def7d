using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Engine.Queues;

/// <summary>
/// Everything a <see cref="QueuePair"/> is built with, fixed for its life: sizes, interrupt coalescing, the request
/// timeout and what the queue calls when it needs its owner (a fresh ring, the recovery coordinator, fault logging).
/// </summary>
internal sealed record QueuePairOptions
{
    /// <summary>The queue's index at the device.</summary>
    public required int Index { get; init; }

    /// <summary>Whether requests go out as one indirect descriptor (INDIRECT_DESC was negotiated).</summary>
    public bool Indirect { get; init; }

    /// <summary>Data segments one request may carry.</summary>
    public required int MaxSegments { get; init; }

    /// <summary>Capacity of the ring that hands requests over from other threads.</summary>
    public required int SubmissionCapacity { get; init; }

    /// <summary>Requests of the reactor-local pool (the callback form).</summary>
    public required int LocalRequests { get; init; }

    /// <summary>With EVENT_IDX, completions per interrupt while requests are in flight (1 = every completion).</summary>
    public int InterruptCoalescing { get; init; } = 1;

    /// <summary>Request timeout in Stopwatch ticks; 0 = off.</summary>
    public long RequestTimeoutTicks { get; init; }

    /// <summary>Re-initializes this queue's ring in its memory and returns the driver side (zeroed, in place).</summary>
    public required Func<IDriverQueue> FreshRing { get; init; }

    /// <summary>
    /// Decides what a fault of this queue leads to (a queue reset, a device reset, or failing what it holds); called on
    /// the queue's reactor, on the error path only.
    /// </summary>
    public IQueueRecovery? Recovery { get; init; }

    /// <summary>Told (on the reactor) of every exception a completion callback threw: queue, tag, exception.</summary>
    public Action<int, long, Exception>? CallbackFaulted { get; init; }
}

/// <summary>What a queue calls on its reactor when its ring fails it; the engine's recovery coordinator implements it.</summary>
internal interface IQueueRecovery
{
    /// <summary>
    /// The device broke <paramref name="pair"/>'s ring, or requests outlived their timeout (marked
    /// <see cref="BlockRequest.Expired"/>): recover, or fail what the queue holds with <paramref name="status"/>.
    /// </summary>
    void Recover(QueuePair pair, IoStatus status, string reason);

    /// <summary>Whether a broken ring is recovered at all (false: its requests fail and it stays broken until an owner's reset).</summary>
    bool RecoversBrokenRings { get; }

    /// <summary>The device set DEVICE_NEEDS_RESET while <paramref name="pair"/> had requests in flight.</summary>
    void DeviceNeedsReset(QueuePair pair);

    /// <summary>Placement on a queue the device did not take back: true when a new attempt made it serve the queue again.</summary>
    bool RetryUnserved(QueuePair pair);
}
