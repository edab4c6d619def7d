using Orion.Pmd.Linux;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Device.VhostUser;

/// <summary>
/// What one connection has told the back-end about one vring: size, addresses (as sent, in user addresses, and
/// translated to guest addresses), base, eventfds, and whether it was kicked (started) and enabled. The device runs
/// the queue while it is both started and enabled; reconfiguring a running queue stops it and starts it again at the
/// position where it stopped.
/// </summary>
internal sealed class VringSlot(int index)
{
    public int Index { get; } = index;

    /// <summary>Entries, from SET_VRING_NUM (0: not set).</summary>
    public int Size;

    /// <summary>Ring areas in user addresses, as SET_VRING_ADDR sent them (kept to re-translate after a new memory table).</summary>
    public ulong DescUser, AvailUser, UsedUser;
    public bool HasAddresses;

    /// <summary>Ring areas translated to guest addresses (what the device attaches to).</summary>
    public SplitRingAddresses Guest;

    /// <summary>SET_VRING_BASE's number (split: avail index; packed: the encoded positions), or where the device last stopped.</summary>
    public uint Base;

    /// <summary>The kick (driver to device) and call (device to driver) eventfds; null when none was sent.</summary>
    public EventFd? Kick, Call;

    /// <summary>SET_VRING_KICK arrived without an fd: the device polls this ring.</summary>
    public bool KickNoFd;

    /// <summary>SET_VRING_KICK arrived (libvhost-user's <c>started</c>); GET_VRING_BASE clears it.</summary>
    public bool Started;

    /// <summary>SET_VRING_ENABLE's last value; null until one arrives.</summary>
    public bool? Enabled;

    /// <summary>Whether the device is serving the queue right now.</summary>
    public bool Running;

    /// <summary>Closes the eventfds (after the device has stopped using them).</summary>
    public void CloseFds()
    {
        Kick?.Dispose();
        Call?.Dispose();
        Kick = Call = null;
        KickNoFd = false;
    }
}
