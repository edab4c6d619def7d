namespace Orion.Pmd.Virtio;

/// <summary>
/// Free-running 16-bit ring index arithmetic (VirtIO 1.1 §2.6.6: indices wrap at 65536, not at the queue size).
/// Kept in one place so that wrap-around is in the helpers and not in every caller.
/// </summary>
public static class RingIndex
{
    /// <summary>How many entries <paramref name="to"/> is ahead of <paramref name="from"/>, modulo 2^16.</summary>
    public static ushort Distance(ushort from, ushort to) => unchecked((ushort)(to - from));

    /// <summary><paramref name="index"/> + <paramref name="delta"/>, modulo 2^16.</summary>
    public static ushort Add(ushort index, int delta) => unchecked((ushort)(index + delta));

    /// <summary>
    /// <c>vring_need_event</c> (VirtIO 1.1 §2.6.7.2, Linux uapi <c>virtio_ring.h</c>): whether moving an index from
    /// <paramref name="oldIdx"/> to <paramref name="newIdx"/> crossed <paramref name="eventIdx"/>, so the other side asked to be told.
    /// </summary>
    public static bool NeedEvent(ushort eventIdx, ushort newIdx, ushort oldIdx)
        => unchecked((ushort)(newIdx - eventIdx - 1)) < unchecked((ushort)(newIdx - oldIdx));
}
