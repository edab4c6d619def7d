namespace Orion.Pmd.Virtio.Rings;

/// <summary>
/// Device-side ring operations that exist only to misbehave on purpose (fault injection, hostile-device tests): they
/// write what a broken device would, so that the driver's validation can be proved. Never used on a normal path.
/// </summary>
internal interface IDeviceQueueFaults
{
    /// <summary>
    /// Completes the popped chain <paramref name="consumedId"/> with a used element that reports
    /// <paramref name="reportedId"/> and <paramref name="length"/>, neither checked (an id out of range, not in flight, a
    /// length beyond the buffers). Packed: the element covers <paramref name="consumedId"/>'s descriptors (one when it is
    /// not in flight, as for a second completion of the same chain), and with <paramref name="backwardsWrap"/> its
    /// AVAIL/USED bits carry the previous lap's wrap counter. Split rings ignore <paramref name="consumedId"/> and
    /// refuse <paramref name="backwardsWrap"/>. Visible after <see cref="IDeviceQueue.PublishUsed"/>.
    /// </summary>
    void PushUsedRaw(ushort consumedId, uint reportedId, uint length, bool backwardsWrap = false);

    /// <summary>
    /// Forgets the popped chain <paramref name="id"/> without completing it (a dropped request: the driver keeps it in
    /// flight). Packed: its descriptors are no longer counted as owned by the device; split: nothing to do.
    /// </summary>
    void AbandonChain(ushort id);

    /// <summary>Sets <c>ids[id]</c> for every id the driver has made available that the device has not popped yet.</summary>
    void MarkAvailableIds(Span<bool> ids);
}
