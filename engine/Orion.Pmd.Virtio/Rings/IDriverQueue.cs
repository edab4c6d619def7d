namespace Orion.Pmd.Virtio.Rings;

/// <summary>
/// The driver side of one virtqueue, whatever its format (split now, packed beside it): add buffers, publish a
/// batch, decide whether to kick, and take validated completions. Single-threaded: one owner thread.
/// </summary>
/// <remarks>
/// Everything the device writes is checked before use. The first inconsistency latches the queue broken
/// (<see cref="IsBroken"/>, <see cref="Error"/>): afterwards nothing is added or consumed until the queue is reset.
/// </remarks>
public interface IDriverQueue
{
    /// <summary>Number of ring entries.</summary>
    ushort Size { get; }

    /// <summary>Descriptors not in use.</summary>
    int FreeDescriptors { get; }

    /// <summary>Chains made available and not yet returned by the device.</summary>
    int InFlight { get; }

    /// <summary>True once the device wrote something inconsistent.</summary>
    bool IsBroken { get; }

    /// <summary>Why the queue is broken.</summary>
    VirtqueueError Error { get; }

    /// <summary>A human description of the error: what was seen and what was allowed.</summary>
    string? ErrorMessage { get; }

    /// <summary>
    /// Makes one request available as a single descriptor pointing at an indirect table already written in
    /// shared memory. Returns the id the completion will carry, or -1 when no descriptor is free or the queue is broken.
    /// </summary>
    /// <param name="tableAddress">Guest address of the indirect table.</param>
    /// <param name="entries">Number of descriptors in the table.</param>
    /// <param name="deviceWritableBytes">Sum of the device-writable lengths in the table: the most a completion may report.</param>
    int AddIndirect(ulong tableAddress, int entries, uint deviceWritableBytes);

    /// <summary>
    /// Makes one request available as a chain of direct descriptors (device-readable segments first). Returns the
    /// head id, or -1 when not enough descriptors are free or the queue is broken.
    /// </summary>
    int AddChain(ReadOnlySpan<BufferSegment> segments);

    /// <summary>
    /// Publishes everything added since the last call with one release store of the index, and reports whether the
    /// device asked to be notified about it. Returns false when nothing was added.
    /// </summary>
    bool PublishAndCheckKick();

    /// <summary>
    /// Takes the next completion, validated: returns false when there is none or the queue is (or just became) broken.
    /// </summary>
    bool TryPopUsed(out ushort id, out uint length);

    /// <summary>Whether the device has published completions not yet taken (cheap; no validation).</summary>
    bool HasPendingUsed { get; }

    /// <summary>Latches the queue broken from outside (for example after a transport failure).</summary>
    void MarkBroken(VirtqueueError error, string message);
}
