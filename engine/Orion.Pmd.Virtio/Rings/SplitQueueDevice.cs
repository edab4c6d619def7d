using System.Runtime.CompilerServices;
using Orion.Pmd.Virtio.Memory;

namespace Orion.Pmd.Virtio.Rings;

/// <summary>
/// Device side of a split virtqueue: pops descriptor chains from the avail ring and publishes used entries,
/// through a <see cref="MemoryRegionTable"/> of its own mappings. Everything the driver wrote is checked before
/// use (indices, chain links, indirect tables, addresses); an inconsistency latches the queue broken and nothing
/// outside registered memory is ever touched. Single-threaded: one device thread per queue.
/// </summary>
public sealed unsafe class SplitQueueDevice : IDeviceQueue, IDeviceQueueFaults
{
    private readonly MemoryRegionTable _memory;
    private readonly VirtqDescriptor* _desc;
    private readonly byte* _avail;
    private readonly byte* _used;
    private readonly ushort _size;
    private readonly ushort _mask;
    private readonly bool _eventIdx;
    private readonly bool _indirect;

    private ushort _nextAvail;          // next avail entry to pop
    private ushort _cachedAvailIdx;     // last avail->idx read
    private ushort _usedIdx;            // shadow of used->idx (entries pushed)
    private ushort _lastSignalledUsed;  // used->idx at the last interrupt decision
    private bool _kicksSuppressed;
    private readonly ChainValidator _check;

    /// <summary>
    /// Attaches to a queue whose parts are at <paramref name="addresses"/> in guest memory. Throws
    /// <see cref="ArgumentException"/> when the size is invalid, a part is misaligned or lies outside registered memory.
    /// </summary>
    public SplitQueueDevice(MemoryRegionTable memory, SplitRingAddresses addresses, int size, bool eventIdx, bool indirect, ushort initialIndex = 0)
    {
        if (!SplitRingLayout.IsValidSize(size))
            throw new ArgumentException($"queue size {size} is not a power of two between 1 and {SplitRingLayout.MaxQueueSize}", nameof(size));
        _memory = memory;
        _check = new ChainValidator(memory, packed: false);
        _size = (ushort)size;
        _mask = (ushort)(size - 1);
        _eventIdx = eventIdx;
        _indirect = indirect;
        _desc = (VirtqDescriptor*)Map(addresses.DescriptorTable, (ulong)SplitRingLayout.DescriptorTableBytes(size), 16, "descriptor table");
        _avail = Map(addresses.AvailRing, (ulong)SplitRingLayout.AvailBytes(size), 2, "driver area (avail ring)");
        _used = Map(addresses.UsedRing, (ulong)SplitRingLayout.UsedBytes(size), 4, "device area (used ring)");
        _nextAvail = _cachedAvailIdx = _usedIdx = _lastSignalledUsed = initialIndex;
    }

    private byte* Map(ulong address, ulong length, ulong alignment, string what) => _memory.TranslateRingArea(address, length, alignment, what);

    /// <summary>Number of ring entries.</summary>
    public ushort Size => _size;
    /// <summary>True once the driver wrote something inconsistent.</summary>
    public bool IsBroken => _check.IsBroken;
    /// <summary>Why the queue is broken.</summary>
    public VirtqueueError Error => _check.Error;
    /// <summary>Human description of the error.</summary>
    public string? ErrorMessage => _check.ErrorMessage;
    /// <summary>The next avail index the device will pop (the vhost-user "vring base").</summary>
    public ushort NextAvailIndex => _nextAvail;

    private ref ushort AvailFlagsRef => ref Unsafe.AsRef<ushort>(_avail + SplitRingLayout.AvailFlags);
    private ref ushort AvailIdxRef => ref Unsafe.AsRef<ushort>(_avail + SplitRingLayout.AvailIdx);
    private ref ushort UsedEventRef => ref Unsafe.AsRef<ushort>(_avail + SplitRingLayout.UsedEventOffset(_size));
    private ref ushort UsedFlagsRef => ref Unsafe.AsRef<ushort>(_used + SplitRingLayout.UsedFlags);
    private ref ushort UsedIdxRef => ref Unsafe.AsRef<ushort>(_used + SplitRingLayout.UsedIdx);
    private ref ushort AvailEventRef => ref Unsafe.AsRef<ushort>(_used + SplitRingLayout.AvailEventOffset(_size));

    /// <summary>Whether the driver has made chains available that the device has not popped (no validation).</summary>
    public bool HasAvailable => _nextAvail != _cachedAvailIdx || _nextAvail != Volatile.Read(ref AvailIdxRef);

    /// <summary>
    /// Pops and validates the next chain into <paramref name="chain"/>. Returns false when none is available or
    /// the queue is (or just became) broken.
    /// </summary>
    public bool TryPopAvail(DescriptorChain chain)
    {
        if (IsBroken) return false;
        if (_nextAvail == _cachedAvailIdx)
        {
            ushort availIdx = Volatile.Read(ref AvailIdxRef);       // acquire: ring slots after the index
            if (availIdx == _nextAvail) return false;
            int ahead = RingIndex.Distance(_nextAvail, availIdx);
            if (ahead > _size)
            {
                Break(VirtqueueError.AvailIndexRunsAhead,
                    $"avail index moved from {_nextAvail} to {availIdx} ({ahead} entries), more than the queue size {_size}");
                return false;
            }
            _cachedAvailIdx = availIdx;
        }
        ushort head = Unsafe.AsRef<ushort>(_avail + SplitRingLayout.AvailRing + 2 * (_nextAvail & _mask));
        _nextAvail++;
        if (_kicksSuppressed && _eventIdx) AvailEventRef = UnreachableAvailEvent();
        return WalkChain(head, chain);
    }

    private bool WalkChain(ushort head, DescriptorChain chain)
    {
        chain.Reset(head);
        if (head >= _size) return Break(VirtqueueError.DescriptorIndexOutOfRange, $"avail ring names head {head}, out of range for a {_size}-entry queue");
        ushort index = head;
        bool sawWritable = false;
        ulong total = 0;
        for (int ttl = _size; ; ttl--)
        {
            if (ttl == 0) return Break(VirtqueueError.DescriptorChainLoop, $"descriptor chain from head {head} is longer than the {_size}-entry table: it loops");
            VirtqDescriptor d = _desc[index];                      // one copy: the driver may change it under us
            if ((d.Flags & VirtqDescriptorFlags.Indirect) != 0)
            {
                if (!_indirect) return Break(VirtqueueError.IndirectNotAllowed, $"descriptor {index} is indirect but INDIRECT_DESC was not negotiated");
                if ((d.Flags & VirtqDescriptorFlags.Next) != 0) return Break(VirtqueueError.IndirectNotAllowed, $"indirect descriptor {index} also has NEXT set");
                if (chain.Count != 0) return Break(VirtqueueError.IndirectNotAllowed, $"indirect descriptor {index} is not alone in its chain");
                return WalkIndirect(head, d, chain);
            }
            if (!AddSegment(head, d, chain, ref sawWritable, ref total)) return false;
            if ((d.Flags & VirtqDescriptorFlags.Next) == 0) return true;
            index = d.Next;
            if (index >= _size) return Break(VirtqueueError.DescriptorIndexOutOfRange, $"descriptor chain from head {head} links to {index}, out of range for a {_size}-entry table");
        }
    }

    private bool WalkIndirect(ushort head, VirtqDescriptor table, DescriptorChain chain)
    {
        if (!_check.MapIndirectTable(head, table.Address, table.Length, out var hostTable, out int count)) return false;
        var entries = (VirtqDescriptor*)hostTable;
        bool sawWritable = false;
        ulong total = 0;
        int i = 0;
        for (int ttl = count; ; ttl--)
        {
            if (ttl == 0) return Break(VirtqueueError.DescriptorChainLoop, $"indirect table of head {head} links in a loop");
            VirtqDescriptor d = entries[i];
            if ((d.Flags & VirtqDescriptorFlags.Indirect) != 0)
                return _check.NestedIndirect(head, i);
            if (!AddSegment(head, d, chain, ref sawWritable, ref total)) return false;
            if ((d.Flags & VirtqDescriptorFlags.Next) == 0) return true;
            i = d.Next;
            if (i >= count) return Break(VirtqueueError.DescriptorIndexOutOfRange, $"indirect table of head {head} links to entry {i} of {count}");
        }
    }

    private bool AddSegment(ushort head, in VirtqDescriptor d, DescriptorChain chain, ref bool sawWritable, ref ulong total)
        => _check.AddSegment(head, d.Address, d.Length, (d.Flags & VirtqDescriptorFlags.Write) != 0, chain, ref sawWritable, ref total);

    /// <summary>Writes a used element for <paramref name="head"/>; visible to the driver after <see cref="PublishUsed"/>.</summary>
    public void PushUsed(ushort head, uint length)
    {
        byte* elem = _used + SplitRingLayout.UsedRing + SplitRingLayout.UsedElementSize * (_usedIdx & _mask);
        Unsafe.WriteUnaligned(elem, (uint)head);
        Unsafe.WriteUnaligned(elem + 4, length);
        _usedIdx++;
    }

    /// <inheritdoc />
    void IDeviceQueueFaults.PushUsedRaw(ushort consumedId, uint reportedId, uint length, bool backwardsWrap)
    {
        if (backwardsWrap) throw new NotSupportedException("a split ring has no wrap counters to corrupt");
        byte* elem = _used + SplitRingLayout.UsedRing + SplitRingLayout.UsedElementSize * (_usedIdx & _mask);
        Unsafe.WriteUnaligned(elem, reportedId);
        Unsafe.WriteUnaligned(elem + 4, length);
        _usedIdx++;
    }

    /// <inheritdoc />
    void IDeviceQueueFaults.AbandonChain(ushort id) { }

    /// <inheritdoc />
    void IDeviceQueueFaults.MarkAvailableIds(Span<bool> ids)
    {
        ushort availIdx = Volatile.Read(ref AvailIdxRef);
        int ahead = RingIndex.Distance(_nextAvail, availIdx);
        if (ahead > _size) ahead = _size;
        for (int i = 0; i < ahead; i++)
        {
            ushort head = Unsafe.AsRef<ushort>(_avail + SplitRingLayout.AvailRing + 2 * ((_nextAvail + i) & _mask));
            if (head < ids.Length) ids[head] = true;
        }
    }

    /// <summary>
    /// Publishes pushed used entries with one release store, and reports whether the driver asked for an
    /// interrupt about them (<c>used_event</c> with EVENT_IDX, else the absence of <c>NO_INTERRUPT</c>).
    /// </summary>
    public bool PublishUsed()
    {
        ushort newIdx = _usedIdx;
        ushort oldIdx = _lastSignalledUsed;
        if (newIdx == oldIdx) return false;
        Volatile.Write(ref UsedIdxRef, newIdx);
        _lastSignalledUsed = newIdx;
        Interlocked.MemoryBarrier();
        if (_eventIdx) return RingIndex.NeedEvent(Volatile.Read(ref UsedEventRef), newIdx, oldIdx);
        return (Volatile.Read(ref AvailFlagsRef) & SplitRingLayout.AvailFlagNoInterrupt) == 0;
    }

    /// <summary>
    /// Tells the driver not to kick (the device polls): <c>VRING_USED_F_NO_NOTIFY</c>, or with EVENT_IDX an
    /// <c>avail_event</c> kept just behind the device's position.
    /// </summary>
    public void SuppressKicks()
    {
        _kicksSuppressed = true;
        if (_eventIdx) Volatile.Write(ref AvailEventRef, UnreachableAvailEvent());
        else Volatile.Write(ref UsedFlagsRef, SplitRingLayout.UsedFlagNoNotify);
    }

    /// <summary>
    /// An <c>avail_event</c> no publication window can contain. The driver asks whether it lies in [old, new) of its
    /// batch; by the time it looks, the device may already have popped part of that batch, so the value must stay
    /// more than a queue behind the device's position (just behind is not enough: the device can overtake it).
    /// </summary>
    private ushort UnreachableAvailEvent() => RingIndex.Add(_nextAvail, -_size - 1);

    /// <summary>
    /// Asks for a kick on the next available chain, then re-checks the ring to close the race with a driver that
    /// published just before the request became visible (rust-vmm's <c>enable_notification</c>). Returns true when
    /// work is already available, in which case the caller must not sleep.
    /// </summary>
    public bool EnableKicksAndRecheck()
    {
        _kicksSuppressed = false;
        if (_eventIdx) Volatile.Write(ref AvailEventRef, _nextAvail);
        else Volatile.Write(ref UsedFlagsRef, 0);
        Interlocked.MemoryBarrier();
        return Volatile.Read(ref AvailIdxRef) != _nextAvail;
    }

    /// <summary>Latches the queue broken.</summary>
    public void MarkBroken(VirtqueueError error, string message) => Break(error, message);

    private bool Break(VirtqueueError error, string message) => _check.Break(error, message);
}
