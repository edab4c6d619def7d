namespace Orion.Pmd.Virtio.Rings;

/// <summary>
/// The device side of one virtqueue, whatever its format (<see cref="SplitQueueDevice"/>, <see cref="PackedQueueDevice"/>):
/// pop validated chains, push and publish completions, decide whether to interrupt, and choose when the driver kicks.
/// Single-threaded: one device thread per queue.
/// </summary>
/// <remarks>
/// Everything the driver wrote is checked before use. The first inconsistency latches the queue broken
/// (<see cref="IsBroken"/>, <see cref="Error"/>): afterwards nothing is popped until the queue is reset, and nothing
/// outside registered memory is ever touched.
/// </remarks>
public interface IDeviceQueue
{
    /// <summary>Number of ring entries.</summary>
    ushort Size { get; }

    /// <summary>True once the driver wrote something inconsistent.</summary>
    bool IsBroken { get; }

    /// <summary>Why the queue is broken.</summary>
    VirtqueueError Error { get; }

    /// <summary>A human description of the error: what was seen and what was allowed.</summary>
    string? ErrorMessage { get; }

    /// <summary>Whether the driver has made something available that the device has not popped (cheap; no validation).</summary>
    bool HasAvailable { get; }

    /// <summary>
    /// Pops and validates the next chain into <paramref name="chain"/>, whose <see cref="DescriptorChain.Head"/> is then
    /// the id to complete it with (split: the head descriptor index; packed: the buffer id). Returns false when nothing
    /// is available or the queue is (or just became) broken.
    /// </summary>
    bool TryPopAvail(DescriptorChain chain);

    /// <summary>
    /// Completes the popped chain <paramref name="id"/> with <paramref name="length"/> bytes written. Visible to the
    /// driver after <see cref="PublishUsed"/>.
    /// </summary>
    void PushUsed(ushort id, uint length);

    /// <summary>
    /// Makes every pushed completion visible at once (a release store), then reports whether the driver asked for an
    /// interrupt about them. Returns false when nothing was pushed.
    /// </summary>
    bool PublishUsed();

    /// <summary>Tells the driver not to kick: the device polls.</summary>
    void SuppressKicks();

    /// <summary>
    /// Asks for a kick on the next available buffer, then a full fence and a re-check. Returns true when work is already
    /// available, in which case the caller must not sleep.
    /// </summary>
    bool EnableKicksAndRecheck();

    /// <summary>Latches the queue broken from outside.</summary>
    void MarkBroken(VirtqueueError error, string message);
}
