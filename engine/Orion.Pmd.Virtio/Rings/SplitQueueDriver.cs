using System.Runtime.CompilerServices;

namespace Orion.Pmd.Virtio.Rings;

/// <summary>
/// Driver side of a split virtqueue (VirtIO 1.1 §2.6), byte-exact in memory shared with the device.
/// Index fields are single aligned 16-bit loads and stores: releases on publish, acquires on consume.
/// </summary>
/// <remarks>
/// The free list and every chain's length and writable size live in private shadow arrays, never re-read from the
/// shared descriptor table: a device that scribbles over descriptors cannot corrupt the driver's bookkeeping
/// (Linux <c>desc_extra</c> does the same).
/// </remarks>
public sealed unsafe class SplitQueueDriver : IDriverQueue
{
    private const ushort ChainEnd = 0xFFFF;

    private readonly VirtqDescriptor* _desc;
    private readonly byte* _avail;
    private readonly byte* _used;
    private readonly ushort _size;
    private readonly ushort _mask;
    private readonly bool _eventIdx;
    private InterruptMode _interrupts;

    private readonly ushort[] _shadowNext;       // free-list links and chain links, private copy
    private readonly ushort[] _chainLength;      // descriptors per in-flight head
    private readonly uint[] _writableBytes;      // device-writable bytes per in-flight head
    private readonly bool[] _isHead;             // true while a head is in flight

    private ushort _freeHead;
    private int _freeCount;
    private int _inFlight;
    private ushort _availIdx;                    // next avail index to write (shadow of avail->idx)
    private ushort _lastPublishedIdx;            // avail->idx at the last kick decision
    private ushort _lastUsedIdx;                 // next used entry to consume
    private ushort _cachedUsedIdx;               // last used->idx read from the device

    /// <summary>
    /// Initializes the rings at <paramref name="ring"/> (zeroed here) laid out by <see cref="SplitRingLayout.Compute"/>.
    /// </summary>
    /// <param name="ring">Host pointer to the start of the ring block.</param>
    /// <param name="layout">The block's layout.</param>
    /// <param name="eventIdx">Whether <see cref="VirtioFeatures.RingEventIdx"/> was negotiated.</param>
    /// <param name="suppressInterrupts">Initial interrupt state. True: polled mode, as <see cref="DisableInterrupts"/>. False: an
    /// interrupt for every completion, as <see cref="EnableInterruptsAndRecheck"/>.</param>
    /// <param name="initialIndex">Starting value of the free-running indices (tests start near 65535 to exercise wrap-around; a real device starts at 0).</param>
    public SplitQueueDriver(byte* ring, SplitRingLayout layout, bool eventIdx, bool suppressInterrupts, ushort initialIndex = 0)
    {
        _size = layout.QueueSize;
        _mask = (ushort)(_size - 1);
        _desc = (VirtqDescriptor*)(ring + layout.DescriptorTableOffset);
        _avail = ring + layout.AvailOffset;
        _used = ring + layout.UsedOffset;
        _eventIdx = eventIdx;
        _interrupts = suppressInterrupts ? InterruptMode.Disabled : InterruptMode.Next;
        new Span<byte>(ring, layout.TotalBytes).Clear();

        _shadowNext = new ushort[_size];
        _chainLength = new ushort[_size];
        _writableBytes = new uint[_size];
        _isHead = new bool[_size];
        for (int i = 0; i < _size; i++) _shadowNext[i] = i + 1 < _size ? (ushort)(i + 1) : ChainEnd;
        _freeHead = 0;
        _freeCount = _size;

        _availIdx = _lastPublishedIdx = _lastUsedIdx = _cachedUsedIdx = initialIndex;
        AvailIdxRef = initialIndex;
        UsedIdxRef = initialIndex;      // the device side starts from the same value in tests
        if (suppressInterrupts)
        {
            if (eventIdx) UsedEventRef = UnreachableUsedEvent();
            else AvailFlagsRef = SplitRingLayout.AvailFlagNoInterrupt;
        }
        else if (eventIdx) UsedEventRef = initialIndex;     // interrupt on the first used entry
    }

    /// <inheritdoc />
    public ushort Size => _size;
    /// <inheritdoc />
    public int FreeDescriptors => _freeCount;
    /// <inheritdoc />
    public int InFlight => _inFlight;
    /// <inheritdoc />
    public bool IsBroken => Error != VirtqueueError.None;
    /// <inheritdoc />
    public VirtqueueError Error { get; private set; }
    /// <inheritdoc />
    public string? ErrorMessage { get; private set; }

    private ref ushort AvailFlagsRef => ref Unsafe.AsRef<ushort>(_avail + SplitRingLayout.AvailFlags);
    private ref ushort AvailIdxRef => ref Unsafe.AsRef<ushort>(_avail + SplitRingLayout.AvailIdx);
    private ref ushort UsedEventRef => ref Unsafe.AsRef<ushort>(_avail + SplitRingLayout.UsedEventOffset(_size));
    private ref ushort UsedFlagsRef => ref Unsafe.AsRef<ushort>(_used + SplitRingLayout.UsedFlags);
    private ref ushort UsedIdxRef => ref Unsafe.AsRef<ushort>(_used + SplitRingLayout.UsedIdx);
    private ref ushort AvailEventRef => ref Unsafe.AsRef<ushort>(_used + SplitRingLayout.AvailEventOffset(_size));

    /// <inheritdoc />
    public uint WriteIndirectTable(Span<byte> table, ReadOnlySpan<BufferSegment> segments) => IndirectTable.WriteSplit(table, segments);

    /// <inheritdoc />
    public int AddIndirect(ulong tableAddress, int entries, uint deviceWritableBytes)
    {
        if (IsBroken || _freeCount == 0) return -1;
        if ((uint)entries - 1 >= 65535u / VirtqDescriptor.Size)
            throw new ArgumentOutOfRangeException(nameof(entries), entries, "an indirect table holds 1 to 4095 descriptors");
        ushort head = _freeHead;
        _freeHead = _shadowNext[head];
        _freeCount--;
        _desc[head] = new VirtqDescriptor(tableAddress, (uint)(entries * VirtqDescriptor.Size), VirtqDescriptorFlags.Indirect);
        _shadowNext[head] = ChainEnd;
        return Expose(head, 1, deviceWritableBytes);
    }

    /// <inheritdoc />
    public int AddChain(ReadOnlySpan<BufferSegment> segments)
    {
        if (segments.IsEmpty) throw new ArgumentException("a request needs at least one buffer", nameof(segments));
        if (IsBroken || _freeCount < segments.Length) return -1;
        ushort head = _freeHead;
        ushort i = head;
        uint writable = 0;
        for (int s = 0; s < segments.Length; s++)
        {
            var seg = segments[s];
            bool last = s == segments.Length - 1;
            var flags = (seg.DeviceWritable ? VirtqDescriptorFlags.Write : 0) | (last ? 0 : VirtqDescriptorFlags.Next);
            ushort next = _shadowNext[i];
            _desc[i] = new VirtqDescriptor(seg.GuestAddress, seg.Length, flags, last ? (ushort)0 : next);
            if (seg.DeviceWritable) writable += seg.Length;
            if (last)
            {
                _freeHead = next;
                _shadowNext[i] = ChainEnd;     // keep the chain's links for freeing; terminate it here
            }
            else i = next;
        }
        _freeCount -= segments.Length;
        return Expose(head, (ushort)segments.Length, writable);
    }

    private int Expose(ushort head, ushort descriptors, uint writable)
    {
        _chainLength[head] = descriptors;
        _writableBytes[head] = writable;
        _isHead[head] = true;
        _inFlight++;
        // The ring slot is written now; the device sees it only after PublishAndCheckKick's release store.
        Unsafe.AsRef<ushort>(_avail + SplitRingLayout.AvailRing + 2 * (_availIdx & _mask)) = head;
        _availIdx++;
        return head;
    }

    /// <inheritdoc />
    public bool PublishAndCheckKick()
    {
        ushort newIdx = _availIdx;
        ushort oldIdx = _lastPublishedIdx;
        if (newIdx == oldIdx) return false;
        if (_interrupts == InterruptMode.Disabled && _eventIdx) UsedEventRef = UnreachableUsedEvent();
        Volatile.Write(ref AvailIdxRef, newIdx);                       // release: descriptors and ring slots first
        _lastPublishedIdx = newIdx;
        // Store (avail idx) then load (avail_event / flags) must not be reordered: a full fence, as Linux's virtio_mb.
        Interlocked.MemoryBarrier();
        if (_eventIdx)
            return RingIndex.NeedEvent(Volatile.Read(ref AvailEventRef), newIdx, oldIdx);
        return (Volatile.Read(ref UsedFlagsRef) & SplitRingLayout.UsedFlagNoNotify) == 0;
    }

    /// <summary>
    /// A <c>used_event</c> the device can never cross: just behind what the driver has consumed. Every used entry the
    /// device can publish before the next publish lies in [consumed, consumed + size), and size ≤ 32768 keeps
    /// consumed − 1 out of that window (SPDK's consumed − size − 1 is reached by a full 32768-entry queue).
    /// </summary>
    private ushort UnreachableUsedEvent() => RingIndex.Add(_lastUsedIdx, -1);

    /// <inheritdoc />
    public bool HasPendingUsed => _lastUsedIdx != _cachedUsedIdx || _lastUsedIdx != Volatile.Read(ref UsedIdxRef);

    /// <inheritdoc />
    public bool TryPopUsed(out ushort id, out uint length)
    {
        id = 0;
        length = 0;
        if (IsBroken) return false;
        if (_lastUsedIdx == _cachedUsedIdx)
        {
            ushort usedIdx = Volatile.Read(ref UsedIdxRef);            // acquire: entries are read after the index
            if (usedIdx == _lastUsedIdx) return false;
            int advanced = RingIndex.Distance(_lastUsedIdx, usedIdx);
            if (advanced > _inFlight)
            {
                Break(VirtqueueError.UsedIndexRunsAhead,
                    $"used index moved from {_lastUsedIdx} to {usedIdx} ({advanced} entries) but only {_inFlight} requests are in flight");
                return false;
            }
            _cachedUsedIdx = usedIdx;
        }

        byte* elem = _used + SplitRingLayout.UsedRing + SplitRingLayout.UsedElementSize * (_lastUsedIdx & _mask);
        uint rawId = Unsafe.ReadUnaligned<uint>(elem);
        uint len = Unsafe.ReadUnaligned<uint>(elem + 4);
        if (rawId >= _size)
        {
            Break(VirtqueueError.UsedIdOutOfRange, $"used id {rawId} out of range for a {_size}-entry queue");
            return false;
        }
        ushort head = (ushort)rawId;
        if (!_isHead[head])
        {
            Break(VirtqueueError.UsedIdNotHead, $"used id {head} is not the head of a request in flight (never made available, or completed twice)");
            return false;
        }
        if (len > _writableBytes[head])
        {
            Break(VirtqueueError.UsedLengthTooLarge,
                $"used length {len} for id {head} exceeds the {_writableBytes[head]} device-writable bytes of its buffers");
            return false;
        }

        _lastUsedIdx++;
        // Interrupt-driven with EVENT_IDX: ask for an interrupt on the next used entry (Linux virtqueue_get_buf_ctx_split).
        if (_eventIdx && _interrupts == InterruptMode.Next)
        {
            Volatile.Write(ref UsedEventRef, _lastUsedIdx);
            Interlocked.MemoryBarrier();
        }
        _isHead[head] = false;
        _inFlight--;
        FreeChain(head);
        id = head;
        length = len;
        return true;
    }

    private void FreeChain(ushort head)
    {
        // Walk the private links: the chain's last descriptor links to ChainEnd.
        ushort last = head;
        for (int n = _chainLength[head]; n > 1; n--) last = _shadowNext[last];
        _shadowNext[last] = _freeCount == 0 ? ChainEnd : _freeHead;
        _freeHead = head;
        _freeCount += _chainLength[head];
    }

    /// <inheritdoc />
    public void DisableInterrupts()
    {
        if (IsBroken) return;
        _interrupts = InterruptMode.Disabled;
        // With EVENT_IDX the flags field must stay 0 (§2.6.7.1); used_event does the job and is refreshed on every publish.
        if (_eventIdx) Volatile.Write(ref UsedEventRef, UnreachableUsedEvent());
        else Volatile.Write(ref AvailFlagsRef, SplitRingLayout.AvailFlagNoInterrupt);
    }

    /// <inheritdoc />
    public bool EnableInterruptsAndRecheck()
    {
        if (IsBroken) return false;
        _interrupts = InterruptMode.Next;
        if (_eventIdx) Volatile.Write(ref UsedEventRef, _lastUsedIdx);
        else Volatile.Write(ref AvailFlagsRef, 0);
        return Recheck();
    }

    /// <inheritdoc />
    public bool EnableInterruptsCoalesced(int completions)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(completions, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(completions, (int)_size);
        if (!_eventIdx) return EnableInterruptsAndRecheck();
        if (IsBroken) return false;
        _interrupts = InterruptMode.Coalesced;
        Volatile.Write(ref UsedEventRef, RingIndex.Add(_lastUsedIdx, completions - 1));
        return Recheck();
    }

    /// <summary>
    /// Store (the request) then load (used idx) must not be reordered, or a completion published in between is missed
    /// by both sides: a full fence, as Linux's <c>virtqueue_poll</c>.
    /// </summary>
    private bool Recheck()
    {
        Interlocked.MemoryBarrier();
        return Volatile.Read(ref UsedIdxRef) != _lastUsedIdx;
    }

    /// <inheritdoc />
    public void MarkBroken(VirtqueueError error, string message) => Break(error, message);

    private void Break(VirtqueueError error, string message)
    {
        if (IsBroken) return;
        Error = error;
        ErrorMessage = message;
    }

    /// <summary>The avail index the driver has published last (for tests and diagnostics).</summary>
    public ushort PublishedAvailIndex => _lastPublishedIdx;

    /// <summary>The used ring in this process's mapping, for tests that play a hostile device.</summary>
    internal byte* UsedRingForTests => _used;

    /// <summary>The next used index the driver will consume (for tests and diagnostics).</summary>
    public ushort LastUsedIndex => _lastUsedIdx;
}
