using System.Runtime.CompilerServices;

namespace Orion.Pmd.Virtio.Rings;

/// <summary>
/// The packed ring's notification decision, shared by the driver (kick) and the device (interrupt): read the other
/// side's event suppression structure and decide whether the descriptors just published deserve a notification.
/// </summary>
internal static unsafe class PackedEvents
{
    /// <summary>
    /// Reads an event suppression structure as one 32-bit load, so that <c>off_wrap</c> and <c>flags</c> come from the
    /// same moment (Linux takes the same snapshot). The structure is 4-byte aligned, so the load is single-copy atomic.
    /// </summary>
    public static uint Snapshot(byte* eventSuppression) => Volatile.Read(ref Unsafe.AsRef<uint>(eventSuppression));

    /// <summary>
    /// Whether publishing ring positions [<paramref name="oldPos"/>, <paramref name="newPos"/>) asks for a notification,
    /// Linux <c>virtqueue_kick_prepare_packed</c>: DISABLE never, DESC (with EVENT_IDX) when the window crosses
    /// <c>off_wrap</c>, anything else (ENABLE, DESC without EVENT_IDX, the reserved value 3) always, since a spurious
    /// notification is harmless and a missing one hangs the peer.
    /// </summary>
    /// <param name="snapshot">The structure as read by <see cref="Snapshot"/> (little-endian host: <c>off_wrap</c> in the low half).</param>
    /// <param name="eventIdx">Whether EVENT_IDX was negotiated.</param>
    /// <param name="size">Queue size.</param>
    /// <param name="newPos">Ring position after the batch (0..size−1).</param>
    /// <param name="oldPos">Position before the batch, as <c>newPos − descriptors</c> modulo 2^16: below zero when the batch crossed the ring end.</param>
    /// <param name="wrapCounter">The publisher's wrap counter at <paramref name="newPos"/>.</param>
    public static bool NeedsNotification(uint snapshot, bool eventIdx, ushort size, ushort newPos, ushort oldPos, bool wrapCounter)
    {
        ushort flags = (ushort)(snapshot >> 16);
        if (flags != PackedRingLayout.EventFlagDesc || !eventIdx) return flags != PackedRingLayout.EventFlagDisable;
        ushort offWrap = (ushort)snapshot;
        ushort eventPos = (ushort)(offWrap & 0x7FFF);
        // An event in the other lap is taken as the previous one: it lies below zero in the same modulo-2^16 space as
        // oldPos. An event really in the next lap is then not reached yet, and is seen again once the wrap flips.
        if ((offWrap >> PackedRingLayout.EventWrapCounterBit != 0) != wrapCounter) eventPos = RingIndex.Add(eventPos, -size);
        return RingIndex.NeedEvent(eventPos, newPos, oldPos);
    }
}
