namespace Orion.Pmd.Virtio.Memory;

/// <summary>
/// The memory-region table: translates device (guest) addresses to this process's mappings, for the driver and
/// for devices alike. An address range outside every region is refused, never accessed. At most
/// <see cref="MaxRegions"/> regions, the vhost-user limit.
/// </summary>
/// <remarks>
/// Regions are added during setup (single-threaded); lookups afterwards are read-only and may run on
/// several threads at once. Lookup is a linear scan over at most eight regions, which beats any tree at this size.
/// </remarks>
public sealed unsafe class MemoryRegionTable
{
    /// <summary>vhost-user's limit on regions in one <c>SET_MEM_TABLE</c>.</summary>
    public const int MaxRegions = 8;

    private readonly MemoryRegion[] _regions = new MemoryRegion[MaxRegions];
    private int _count;

    /// <summary>The regions registered so far.</summary>
    public ReadOnlySpan<MemoryRegion> Regions => _regions.AsSpan(0, _count);

    /// <summary>Number of registered regions.</summary>
    public int Count => _count;

    /// <summary>Registers a region. Throws when the table is full, the region is empty, wraps, or overlaps another.</summary>
    public void Add(MemoryRegion region)
    {
        if (_count == MaxRegions)
            throw new InvalidOperationException($"memory-region table is full: at most {MaxRegions} regions can be registered");
        if (region.Length == 0)
            throw new ArgumentException("a memory region must not be empty", nameof(region));
        if (region.GuestAddress + region.Length < region.GuestAddress)
            throw new ArgumentException($"region at guest 0x{region.GuestAddress:x} with length 0x{region.Length:x} wraps the address space", nameof(region));
        if (region.Host == 0)
            throw new ArgumentException("a memory region needs a host mapping", nameof(region));
        foreach (var r in Regions)
        {
            if (region.GuestAddress < r.GuestEnd && r.GuestAddress < region.GuestEnd)
                throw new ArgumentException(
                    $"region [0x{region.GuestAddress:x}, 0x{region.GuestEnd:x}) overlaps [0x{r.GuestAddress:x}, 0x{r.GuestEnd:x})", nameof(region));
        }
        _regions[_count++] = region;
    }

    /// <summary>Removes every region.</summary>
    public void Clear()
    {
        Array.Clear(_regions);
        _count = 0;
    }

    /// <summary>
    /// Translates the guest range [<paramref name="guestAddress"/>, +<paramref name="length"/>) to a host pointer.
    /// Succeeds only when the whole range lies inside one region (a zero-length range must still start inside one).
    /// </summary>
    public bool TryTranslate(ulong guestAddress, ulong length, out byte* host)
    {
        var regions = _regions;
        for (int i = 0; i < _count; i++)
        {
            ref readonly var r = ref regions[i];
            ulong offset = guestAddress - r.GuestAddress;          // wraps to huge when below the base
            if (offset < r.Length && length <= r.Length - offset)
            {
                host = (byte*)r.Host + offset;
                return true;
            }
        }
        host = null;
        return false;
    }

    /// <summary>
    /// Translates a ring area a transport handed over (descriptor table or ring, driver area, device area): it must be
    /// aligned as the format requires and lie wholly inside one region. Throws <see cref="ArgumentException"/> naming
    /// <paramref name="what"/> otherwise; the device refuses to set up such a queue.
    /// </summary>
    public byte* TranslateRingArea(ulong address, ulong length, ulong alignment, string what)
    {
        if ((address & (alignment - 1)) != 0)
            throw new ArgumentException($"{what} at 0x{address:x} is not {alignment}-byte aligned");
        if (!TryTranslate(address, length, out var host))
            throw new ArgumentException($"{what} [0x{address:x}, +{length}) lies outside registered memory");
        return host;
    }

    /// <summary>Translates a host pointer inside a region back to its guest address.</summary>
    public bool TryGetGuestAddress(void* host, out ulong guestAddress)
    {
        for (int i = 0; i < _count; i++)
        {
            ref readonly var r = ref _regions[i];
            ulong offset = (ulong)((byte*)host - (byte*)r.Host);
            if ((byte*)host >= (byte*)r.Host && offset < r.Length)
            {
                guestAddress = r.GuestAddress + offset;
                return true;
            }
        }
        guestAddress = 0;
        return false;
    }
}
