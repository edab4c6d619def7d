using Orion.Pmd.Virtio.VhostUser;

namespace Orion.Pmd.Device.VhostUser;

/// <summary>
/// The memory table as seen through user addresses: SET_VRING_ADDR names ring areas by the front-end's
/// <c>userspace_addr</c>, while descriptors carry guest addresses, so ring areas are translated here (user → guest)
/// and the device then reaches them through its guest-address table like any buffer. A ring area must lie wholly
/// inside one region (reference §6: libvhost-user's <c>qva_to_va</c>).
/// </summary>
internal sealed class UserAddressMap
{
    private VhostMemoryRegion[] _regions = [];

    /// <summary>Whether a table has been set.</summary>
    public bool IsEmpty => _regions.Length == 0;

    /// <summary>Replaces the table (the regions were validated by the caller).</summary>
    public void Set(ReadOnlySpan<VhostMemoryRegion> regions) => _regions = regions.ToArray();

    /// <summary>Forgets the table.</summary>
    public void Clear() => _regions = [];

    /// <summary>
    /// Translates the user range [<paramref name="userAddress"/>, +<paramref name="length"/>) to a guest address; false
    /// when it does not lie wholly inside one region.
    /// </summary>
    public bool TryTranslate(ulong userAddress, ulong length, out ulong guestAddress)
    {
        foreach (var r in _regions)
        {
            ulong offset = userAddress - r.UserAddress;            // wraps to huge below the base
            if (offset < r.Size && length <= r.Size - offset)
            {
                guestAddress = r.GuestAddress + offset;
                return true;
            }
        }
        guestAddress = 0;
        return false;
    }
}
