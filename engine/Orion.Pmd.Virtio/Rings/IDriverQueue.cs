namespace Orion.Pmd.Virtio.Rings;

/// <summary>
/// The driver side of one virtqueue, whatever its format (<see cref="SplitQueueDriver"/>, <see cref="PackedQueueDriver"/>):
/// add buffers, publish a batch, decide whether to kick, take validated completions, and choose when the device
/// interrupts. Single-threaded: one owner thread.
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
    /// Writes an indirect table for <paramref name="segments"/> into <paramref name="table"/> (shared memory, 16 bytes
    /// per segment) in this ring's format, and returns the device-writable bytes to pass to <see cref="AddIndirect"/>.
    /// Split and packed tables differ inside each entry, so a table must be written by the queue that will carry it.
    /// </summary>
    uint WriteIndirectTable(Span<byte> table, ReadOnlySpan<BufferSegment> segments);

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

    /// <summary>
    /// Asks the device not to interrupt (polled mode). Split: <c>VRING_AVAIL_F_NO_INTERRUPT</c>, or with EVENT_IDX a
    /// <c>used_event</c> kept out of the device's reach; packed: driver event suppression = DISABLE. Like every
    /// suppression this is a hint: callers that sleep must re-enable with <see cref="EnableInterruptsAndRecheck"/>.
    /// </summary>
    void DisableInterrupts();

    /// <summary>
    /// Asks for an interrupt on the next completion (split: clears <c>NO_INTERRUPT</c>, or <c>used_event</c> = next used
    /// entry; packed: ENABLE, or DESC at the next used position with EVENT_IDX), then a full fence, then re-checks the
    /// ring. Returns true when completions are already pending: the device may have published them before it could
    /// see the request, so the caller must not sleep. A broken queue writes nothing and returns false.
    /// </summary>
    bool EnableInterruptsAndRecheck();

    /// <summary>
    /// Asks for one interrupt once <paramref name="completions"/> more completions have been published (with EVENT_IDX:
    /// split <c>used_event</c> = next used + completions − 1; packed DESC at that ring position), otherwise the same as
    /// <see cref="EnableInterruptsAndRecheck"/>. Then a full fence and the same re-check and return value.
    /// </summary>
    /// <remarks>
    /// The target stays where it was put while completions are taken (it is not pushed forward as the next-completion
    /// mode is). Packed event offsets count descriptors, not completions: with direct chains of several descriptors
    /// the interrupt can come after fewer completions, never after more.
    /// </remarks>
    /// <param name="completions">1 to <see cref="Size"/>.</param>
    bool EnableInterruptsCoalesced(int completions);

    /// <summary>Latches the queue broken from outside (for example after a transport failure).</summary>
    void MarkBroken(VirtqueueError error, string message);
}
