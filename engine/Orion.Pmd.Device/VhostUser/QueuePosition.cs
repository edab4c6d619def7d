namespace Orion.Pmd.Device;

/// <summary>
/// Where the device side of a ring starts or stopped: the next ring position to pop and the next to complete, with
/// their wrap counters (packed rings only; split rings ignore the wrap counters). A split ring is positioned by one
/// free-running 16-bit avail index, the used index being the same when nothing is in flight, which is always the case
/// once the software device has stopped a queue (it completes every chain it popped before it stops).
/// </summary>
/// <param name="AvailIndex">Split: the next avail index to pop (vhost-user's <c>last_avail_idx</c>). Packed: the next ring position to pop.</param>
/// <param name="AvailWrap">Packed: the wrap counter a descriptor available at <paramref name="AvailIndex"/> carries.</param>
/// <param name="UsedIndex">Split: the used index (equal to <paramref name="AvailIndex"/>). Packed: the next ring position a used descriptor goes to.</param>
/// <param name="UsedWrap">Packed: the Device Ring Wrap Counter.</param>
public readonly record struct QueuePosition(ushort AvailIndex, bool AvailWrap, ushort UsedIndex, bool UsedWrap)
{
    /// <summary>A fresh ring: index 0, both wrap counters 1 (VirtIO 1.1 §2.7.1).</summary>
    public static QueuePosition Fresh => new(0, true, 0, true);

    /// <summary>A split ring resumed at <paramref name="availIndex"/> (vhost-user SET_VRING_BASE).</summary>
    public static QueuePosition Split(ushort availIndex) => new(availIndex, true, availIndex, true);
}
