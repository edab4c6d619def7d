namespace Orion.Pmd.Engine.Queues;

/// <summary>
/// A snapshot of one queue's counters. The reactor that owns the queue is their only writer; readers on other
/// threads see each value whole (64-bit reads) though not all from the same instant.
/// </summary>
public readonly record struct QueueCounters
{
    /// <summary>
    /// Requests completed, successfully or not (<see cref="Errors"/> of them failed). Requests withdrawn before they
    /// reached the device are not among them: they are <see cref="Withdrawn"/>.
    /// </summary>
    public long Requests { get; init; }
    /// <summary>Data bytes moved: those of requests that completed successfully (a failed request moved none that counts).</summary>
    public long Bytes { get; init; }
    /// <summary>
    /// Requests withdrawn by their caller's cancellation after the queue took them and before they reached the device
    /// (<see cref="Requests.IoStatus.Canceled"/>): the device never saw them, so they are neither completed requests nor errors.
    /// </summary>
    public long Withdrawn { get; init; }
    /// <summary>Batches published (one avail-index store each).</summary>
    public long Batches { get; init; }
    /// <summary>Doorbells rung.</summary>
    public long Kicks { get; init; }
    /// <summary>Batches whose doorbell the device said it did not need.</summary>
    public long KicksSuppressed { get; init; }
    /// <summary>Poll calls.</summary>
    public long Polls { get; init; }
    /// <summary>Poll calls that found nothing to do.</summary>
    public long IdlePolls { get; init; }
    /// <summary>Requests that ended with a status other than OK.</summary>
    public long Errors { get; init; }
    /// <summary>Requests whose data went through a bounce buffer (the caller's memory was not from the DMA pool).</summary>
    public long Bounces { get; init; }
    /// <summary>Times the reactor asked the device for an interrupt before sleeping with requests in flight.</summary>
    public long InterruptsArmed { get; init; }
    /// <summary>Requests placed again on a fresh ring after the device reconnected.</summary>
    public long Resubmitted { get; init; }
    /// <summary>Requests that outlived the request timeout.</summary>
    public long Timeouts { get; init; }
    /// <summary>Times the engine reset this queue itself (a timeout or a broken ring).</summary>
    public long QueueResets { get; init; }
    /// <summary>Whole-device resets this queue went through (its requests were delivered, placed again or failed each time).</summary>
    public long DeviceResets { get; init; }
    /// <summary>Exceptions thrown by <see cref="Requests.IBlockCompletion.OnCompleted"/> callbacks (caught; the queue went on).</summary>
    public long CallbackFaults { get; init; }
    /// <summary>Requests in flight at the device.</summary>
    public long InFlight { get; init; }
    /// <summary>Requests waiting for a slot or a descriptor.</summary>
    public long Pending { get; init; }

    /// <summary>The change between two snapshots (gauges such as <see cref="InFlight"/> keep the later value).</summary>
    public static QueueCounters operator -(QueueCounters later, QueueCounters earlier) => later with
    {
        Requests = later.Requests - earlier.Requests,
        Bytes = later.Bytes - earlier.Bytes,
        Withdrawn = later.Withdrawn - earlier.Withdrawn,
        Resubmitted = later.Resubmitted - earlier.Resubmitted,
        Timeouts = later.Timeouts - earlier.Timeouts,
        QueueResets = later.QueueResets - earlier.QueueResets,
        DeviceResets = later.DeviceResets - earlier.DeviceResets,
        Batches = later.Batches - earlier.Batches,
        Kicks = later.Kicks - earlier.Kicks,
        KicksSuppressed = later.KicksSuppressed - earlier.KicksSuppressed,
        Polls = later.Polls - earlier.Polls,
        IdlePolls = later.IdlePolls - earlier.IdlePolls,
        Errors = later.Errors - earlier.Errors,
        Bounces = later.Bounces - earlier.Bounces,
        InterruptsArmed = later.InterruptsArmed - earlier.InterruptsArmed,
        CallbackFaults = later.CallbackFaults - earlier.CallbackFaults,
    };
}
