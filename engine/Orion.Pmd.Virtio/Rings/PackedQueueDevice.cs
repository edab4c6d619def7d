using System.Runtime.CompilerServices;
using Orion.Pmd.Virtio.Memory;

namespace Orion.Pmd.Virtio.Rings;

/// <summary>
/// Device side of a packed virtqueue (VirtIO 1.1 §2.7): pops descriptor chains in ring order and writes used
/// descriptors over them, through a <see cref="MemoryRegionTable"/> of its own mappings. Everything the driver wrote
/// is checked before use (wrap bits, chain length, indirect tables, buffer ids, addresses); an inconsistency latches
/// the queue broken and nothing outside registered memory is ever touched. Single-threaded: one device thread per queue.
/// </summary>
/// <remarks>
/// Completions are written in the order they are pushed, each skipping its chain's descriptor count (remembered per
/// buffer id at pop, never re-read). The first used descriptor of a batch has its flags withheld until
/// <see cref="PublishUsed"/>, so the driver sees the batch at once.
/// </remarks>
public sealed unsafe partial class PackedQueueDevice : IDeviceQueue
{
    private readonly MemoryRegionTable _memory;
    private readonly ChainValidator _check;
    private readonly PackedDescriptor* _desc;
    private readonly byte* _driverEvent;            // the driver's: interrupt suppression
    private readonly byte* _deviceEvent;            // ours: kick suppression
    private readonly ushort _size;
    private readonly bool _eventIdx;
    private readonly bool _indirect;
    private readonly ushort[] _chainLength;         // descriptors per buffer id popped and not yet pushed; 0 = not in flight

    private ushort _nextAvail;                      // next ring position to pop
    private bool _availWrap = true;
    private ushort _usedPosition;                   // next ring position to write a used descriptor
    private bool _usedWrap = true;                  // Device Ring Wrap Counter, starts at 1 (§2.7.1)
    private int _owned;                             // descriptors popped and not yet published as used
    private int _pendingDescriptors;                // descriptors covered by pushed, unpublished completions
    private ushort _pendingFirstPosition;           // the batch's first used descriptor, whose flags are withheld
    private ushort _pendingFirstFlags;

    /// <summary>
    /// Attaches to a queue whose three areas are at <paramref name="areas"/> in guest memory (descriptor ring, driver
    /// event suppression, device event suppression). Throws <see cref="ArgumentException"/> when the size is invalid,
    /// an area is misaligned or lies outside registered memory.
    /// </summary>
    /// <remarks>
    /// A fresh ring starts at position 0 with both wrap counters 1. A ring taken over mid-life (a vhost-user back-end
    /// re-armed with SET_VRING_BASE) starts at <paramref name="availPosition"/>/<paramref name="availWrap"/> for the next
    /// descriptor to pop and <paramref name="usedPosition"/>/<paramref name="usedWrap"/> for the next used descriptor to
    /// write; with nothing in flight the two are the same.
    /// </remarks>
    public PackedQueueDevice(MemoryRegionTable memory, SplitRingAddresses areas, int size, bool eventIdx, bool indirect,
                             ushort availPosition = 0, bool availWrap = true, ushort usedPosition = 0, bool usedWrap = true)
    {
        if (!PackedRingLayout.IsValidSize(size))
            throw new ArgumentException($"packed queue size {size} is not between 1 and {PackedRingLayout.MaxQueueSize}", nameof(size));
        _memory = memory;
        _check = new ChainValidator(memory, packed: true);
        _size = (ushort)size;
        _eventIdx = eventIdx;
        _indirect = indirect;
        _desc = (PackedDescriptor*)Map(areas.DescriptorTable, (ulong)PackedRingLayout.DescriptorRingBytes(size), 16, "descriptor ring");
        _driverEvent = Map(areas.AvailRing, PackedRingLayout.EventSuppressionSize, 4, "driver area (driver event suppression)");
        _deviceEvent = Map(areas.UsedRing, PackedRingLayout.EventSuppressionSize, 4, "device area (device event suppression)");
        _chainLength = new ushort[size];
        if (availPosition >= size || usedPosition >= size)
            throw new ArgumentException($"start positions {availPosition} (avail) and {usedPosition} (used) must lie inside the {size}-entry ring", nameof(availPosition));
        // Descriptors between the used and the avail position belong to chains popped before the take-over: the device
        // still owns them. The avail position is ahead of the used one by less than a lap, on the same lap or the next.
        int owned = availWrap == usedWrap ? availPosition - usedPosition : availPosition + size - usedPosition;
        if (owned < 0 || owned > size)
            throw new ArgumentException(
                $"avail position {availPosition} (wrap {(availWrap ? 1 : 0)}) is not within one lap ahead of used position {usedPosition} (wrap {(usedWrap ? 1 : 0)})",
                nameof(availPosition));
        _owned = owned;
        _nextAvail = availPosition;
        _availWrap = availWrap;
        _usedPosition = usedPosition;
        _usedWrap = usedWrap;
    }

    private byte* Map(ulong address, ulong length, ulong alignment, string what) => _memory.TranslateRingArea(address, length, alignment, what);

    /// <inheritdoc />
    public ushort Size => _size;
    /// <inheritdoc />
    public bool IsBroken => _check.IsBroken;
    /// <inheritdoc />
    public VirtqueueError Error => _check.Error;
    /// <inheritdoc />
    public string? ErrorMessage => _check.ErrorMessage;

    /// <summary>The ring position the device pops next (for tests and diagnostics).</summary>
    public ushort NextAvailPosition => _nextAvail;
    /// <summary>The wrap counter an available descriptor at <see cref="NextAvailPosition"/> must carry.</summary>
    public bool AvailWrapCounter => _availWrap;
    /// <summary>The ring position the next used descriptor goes to (for tests and diagnostics).</summary>
    public ushort UsedPosition => _usedPosition;
    /// <summary>The Device Ring Wrap Counter (for tests and diagnostics).</summary>
    public bool UsedWrapCounter => _usedWrap;

    private ref ushort FlagsAt(ushort position) => ref Unsafe.AsRef<ushort>((byte*)(_desc + position) + PackedRingLayout.DescFlags);
    private ref ushort DeviceOffWrapRef => ref Unsafe.AsRef<ushort>(_deviceEvent + PackedRingLayout.EventOffWrap);
    private ref ushort DeviceFlagsRef => ref Unsafe.AsRef<ushort>(_deviceEvent + PackedRingLayout.EventFlags);

    private static bool AvailBit(ushort flags) => (flags & (ushort)PackedDescriptorFlags.Avail) != 0;
    private static bool UsedBit(ushort flags) => (flags & (ushort)PackedDescriptorFlags.Used) != 0;
    private static bool IsAvailable(ushort flags, bool wrap) => AvailBit(flags) == wrap && UsedBit(flags) != wrap;

    /// <summary>
    /// Whether the next descriptor's AVAIL bit matches the device's wrap counter. No validation: a descriptor with a
    /// bad USED bit counts too, so that <see cref="TryPopAvail"/> gets to reject it.
    /// </summary>
    public bool HasAvailable => AvailBit(Volatile.Read(ref FlagsAt(_nextAvail))) == _availWrap;

    /// <inheritdoc />
    public bool TryPopAvail(DescriptorChain chain)
    {
        if (IsBroken) return false;
        ushort position = _nextAvail;
        ushort flags = Volatile.Read(ref FlagsAt(position));                   // acquire: the chain after its head's flags
        if (IsAvailable(flags, _availWrap)) return WalkChain(position, flags, chain);
        // Before the driver reaches a position it holds the previous lap's bits (AVAIL = !wrap). AVAIL = USED = wrap is
        // a used descriptor of this lap, which cannot exist where the device has not popped yet.
        if (AvailBit(flags) == _availWrap)
            Break(VirtqueueError.WrapCounterInvalid,
                $"descriptor at ring position {position} has AVAIL and USED both {(_availWrap ? 1 : 0)} (flags 0x{flags:x4}): a used descriptor where the next available one belongs");
        return false;
    }

    /// <inheritdoc />
    public void PushUsed(ushort id, uint length)
    {
        if (id >= _size || _chainLength[id] == 0)
            throw new ArgumentException($"buffer id {id} is not in flight on this queue: only popped chains can be completed", nameof(id));
        int descriptors = _chainLength[id];
        _chainLength[id] = 0;
        // AVAIL = USED = the device's wrap counter marks it used (§2.7.1); WRITE says whether data was written (§2.7.3).
        ushort flags = (ushort)((_usedWrap ? PackedDescriptorFlags.Avail | PackedDescriptorFlags.Used : 0)
            | (length > 0 ? PackedDescriptorFlags.Write : 0));
        WriteUsed(id, length, flags, descriptors);
    }

    private void WriteUsed(ushort id, uint length, ushort flags, int descriptors)
    {
        var d = _desc + _usedPosition;
        d->Id = id;
        d->Length = length;                          // the address of a used descriptor is unused (§2.7.4)
        if (_pendingDescriptors == 0)
        {
            _pendingFirstPosition = _usedPosition;
            _pendingFirstFlags = flags;
        }
        else Volatile.Write(ref FlagsAt(_usedPosition), flags);
        _pendingDescriptors += descriptors;
        (_usedPosition, _usedWrap) = new PackedPosition(_usedPosition, _usedWrap).Advance(descriptors, _size);
    }

    /// <inheritdoc />
    public bool PublishUsed()
    {
        if (_pendingDescriptors == 0) return false;
        Volatile.Write(ref FlagsAt(_pendingFirstPosition), _pendingFirstFlags);   // release: the whole batch at once
        ushort newPos = _usedPosition;
        ushort oldPos = RingIndex.Add(newPos, -_pendingDescriptors);
        _owned -= _pendingDescriptors;
        _pendingDescriptors = 0;
        Interlocked.MemoryBarrier();
        return PackedEvents.NeedsNotification(PackedEvents.Snapshot(_driverEvent), _eventIdx, _size, newPos, oldPos, _usedWrap);
    }

    /// <summary>Tells the driver not to kick: device event suppression = DISABLE (valid with or without EVENT_IDX).</summary>
    public void SuppressKicks() => Volatile.Write(ref DeviceFlagsRef, PackedRingLayout.EventFlagDisable);

    /// <summary>
    /// Asks for a kick on the next available descriptor (ENABLE, or DESC at the next avail position with EVENT_IDX),
    /// then re-checks the ring to close the race with a driver that published just before the request became
    /// visible. Returns true when work is already available, in which case the caller must not sleep.
    /// </summary>
    public bool EnableKicksAndRecheck()
    {
        if (_eventIdx)
        {
            Volatile.Write(ref DeviceOffWrapRef, PackedRingLayout.OffWrap(_nextAvail, _availWrap));
            Volatile.Write(ref DeviceFlagsRef, PackedRingLayout.EventFlagDesc);
        }
        else Volatile.Write(ref DeviceFlagsRef, PackedRingLayout.EventFlagEnable);
        Interlocked.MemoryBarrier();
        return HasAvailable;
    }

    /// <inheritdoc />
    public void MarkBroken(VirtqueueError error, string message) => Break(error, message);

    private bool Break(VirtqueueError error, string message) => _check.Break(error, message);
}
