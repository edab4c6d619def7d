using System.Runtime.CompilerServices;

namespace Orion.Pmd.Virtio.Rings;

/// <summary>
/// Driver side of a packed virtqueue (VirtIO 1.1 §2.7), byte-exact in memory shared with the device. One ring holds
/// both directions: the driver writes available descriptors in order, the device overwrites them with used ones, and
/// the AVAIL/USED bits against each side's wrap counter say which is which.
/// </summary>
/// <remarks>
/// <para>Buffer ids are the driver's own (a free-id stack), independent of ring positions. Each id's descriptor count,
/// writable bytes and state live in private shadow arrays, never re-read from shared memory.</para>
/// <para>Batch publish: every request's head flags are written after the rest of its chain, except the first
/// request of a batch, whose head flags are withheld until <see cref="PublishAndCheckKick"/> writes them with one
/// release store. The device polls only the next descriptor in ring order, so it sees the whole batch at once.</para>
/// </remarks>
public sealed unsafe class PackedQueueDriver : IDriverQueue
{
    private const PackedDescriptorFlags AvailUsed = PackedDescriptorFlags.Avail | PackedDescriptorFlags.Used;

    private enum IdState : byte { Free, Added, Published }

    private readonly PackedDescriptor* _desc;
    private readonly byte* _driverEvent;            // ours: interrupt suppression, read by the device
    private readonly byte* _deviceEvent;            // the device's: kick suppression
    private readonly ushort _size;
    private readonly bool _eventIdx;
    private InterruptMode _interrupts;

    private readonly ushort[] _freeIds;             // stack of free buffer ids
    private readonly ushort[] _chainLength;         // descriptors per in-flight id
    private readonly uint[] _writableBytes;         // device-writable bytes per in-flight id
    private readonly IdState[] _state;
    private readonly ushort[] _batchIds;            // ids added since the last publish
    private int _freeIdCount;
    private int _batchCount;

    private int _freeCount;                         // ring positions not in flight
    private int _inFlight;
    private ushort _nextAvail;                      // next ring position to write
    private bool _availWrap = true;                 // Driver Ring Wrap Counter, starts at 1 (§2.7.1)
    private PackedDescriptorFlags _availUsedFlags = PackedDescriptorFlags.Avail;   // AVAIL = wrap, USED = !wrap
    private int _batchDescriptors;                  // descriptors added since the last publish
    private ushort _batchHeadPosition;              // the first head of the batch, whose flags are withheld
    private PackedDescriptorFlags _batchHeadFlags;
    private int _publishedOutstanding;              // published descriptors not yet consumed: [_lastUsed, +this)
    private ushort _lastUsed;                       // next ring position where a used descriptor is expected
    private bool _usedWrap = true;

    /// <summary>
    /// Initializes the ring at <paramref name="ring"/> (zeroed here, as §2.7.8 requires) laid out by
    /// <see cref="PackedRingLayout.Compute"/>.
    /// </summary>
    /// <param name="ring">Host pointer to the start of the ring block.</param>
    /// <param name="layout">The block's layout.</param>
    /// <param name="eventIdx">Whether <see cref="VirtioFeatures.RingEventIdx"/> was negotiated.</param>
    /// <param name="suppressInterrupts">Initial interrupt state. True: polled mode, as <see cref="DisableInterrupts"/>. False: an
    /// interrupt for every completion, as <see cref="EnableInterruptsAndRecheck"/>.</param>
    public PackedQueueDriver(byte* ring, PackedRingLayout layout, bool eventIdx, bool suppressInterrupts)
    {
        _size = layout.QueueSize;
        _desc = (PackedDescriptor*)(ring + layout.DescriptorRingOffset);
        _driverEvent = ring + layout.DriverEventOffset;
        _deviceEvent = ring + layout.DeviceEventOffset;
        _eventIdx = eventIdx;
        new Span<byte>(ring, layout.TotalBytes).Clear();

        _freeIds = new ushort[_size];
        _chainLength = new ushort[_size];
        _writableBytes = new uint[_size];
        _state = new IdState[_size];
        _batchIds = new ushort[_size];
        for (int i = 0; i < _size; i++) _freeIds[i] = (ushort)(_size - 1 - i);      // pops 0, 1, 2, ...
        _freeIdCount = _size;
        _freeCount = _size;

        if (suppressInterrupts) DisableInterrupts();
        else EnableInterruptsAndRecheck();
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

    private ref ushort FlagsAt(ushort position) => ref Unsafe.AsRef<ushort>((byte*)(_desc + position) + PackedRingLayout.DescFlags);
    private ref ushort DriverOffWrapRef => ref Unsafe.AsRef<ushort>(_driverEvent + PackedRingLayout.EventOffWrap);
    private ref ushort DriverFlagsRef => ref Unsafe.AsRef<ushort>(_driverEvent + PackedRingLayout.EventFlags);

    /// <inheritdoc />
    public uint WriteIndirectTable(Span<byte> table, ReadOnlySpan<BufferSegment> segments) => IndirectTable.WritePacked(table, segments);

    /// <inheritdoc />
    public int AddIndirect(ulong tableAddress, int entries, uint deviceWritableBytes)
    {
        if (IsBroken || _freeCount == 0) return -1;
        if ((uint)entries - 1 >= IndirectTable.MaxEntries)
            throw new ArgumentOutOfRangeException(nameof(entries), entries, $"an indirect table holds 1 to {IndirectTable.MaxEntries} descriptors");
        ushort id = _freeIds[--_freeIdCount];
        ushort head = _nextAvail;
        WriteHeadFields(head, tableAddress, (uint)(entries * PackedDescriptor.Size), id);
        var headFlags = _availUsedFlags | PackedDescriptorFlags.Indirect;
        Advance();
        _freeCount--;
        return Expose(id, head, headFlags, 1, deviceWritableBytes);
    }

    /// <inheritdoc />
    public int AddChain(ReadOnlySpan<BufferSegment> segments)
    {
        if (segments.IsEmpty) throw new ArgumentException("a request needs at least one buffer", nameof(segments));
        if (IsBroken || _freeCount < segments.Length) return -1;
        ushort id = _freeIds[--_freeIdCount];
        ushort head = _nextAvail;
        PackedDescriptorFlags headFlags = 0;
        uint writable = 0;
        for (int s = 0; s < segments.Length; s++)
        {
            var seg = segments[s];
            // Every descriptor carries the wrap bits of its own lap: a chain may cross the ring end (§2.7.6 note).
            var flags = _availUsedFlags
                | (seg.DeviceWritable ? PackedDescriptorFlags.Write : 0)
                | (s == segments.Length - 1 ? 0 : PackedDescriptorFlags.Next);
            if (s == 0)
            {
                WriteHeadFields(_nextAvail, seg.GuestAddress, seg.Length, id);
                headFlags = flags;
            }
            else _desc[_nextAvail] = new PackedDescriptor(seg.GuestAddress, seg.Length, id, flags);   // id in every descriptor, as Linux; the device reads the last
            if (seg.DeviceWritable) writable += seg.Length;
            Advance();
        }
        _freeCount -= segments.Length;
        return Expose(id, head, headFlags, (ushort)segments.Length, writable);
    }

    /// <summary>Writes a head descriptor except its flags, which make it visible and so are written last.</summary>
    private void WriteHeadFields(ushort position, ulong address, uint length, ushort id)
    {
        var d = _desc + position;
        d->Address = address;
        d->Length = length;
        d->Id = id;
    }

    private void Advance()
    {
        if (++_nextAvail < _size) return;
        _nextAvail = 0;
        _availWrap = !_availWrap;
        _availUsedFlags ^= AvailUsed;
    }

    private int Expose(ushort id, ushort head, PackedDescriptorFlags headFlags, ushort descriptors, uint writable)
    {
        _chainLength[id] = descriptors;
        _writableBytes[id] = writable;
        _state[id] = IdState.Added;
        _inFlight++;
        _batchIds[_batchCount++] = id;
        if (_batchDescriptors == 0)
        {
            _batchHeadPosition = head;
            _batchHeadFlags = headFlags;
        }
        else Volatile.Write(ref FlagsAt(head), (ushort)headFlags);     // release: after the chain's other descriptors
        _batchDescriptors += descriptors;
        return id;
    }

    /// <inheritdoc />
    public bool PublishAndCheckKick()
    {
        if (IsBroken || _batchDescriptors == 0) return false;
        // Release: every descriptor of the batch is written before the one flag store that exposes them all.
        Volatile.Write(ref FlagsAt(_batchHeadPosition), (ushort)_batchHeadFlags);
        for (int i = 0; i < _batchCount; i++) _state[_batchIds[i]] = IdState.Published;
        _publishedOutstanding += _batchDescriptors;
        ushort newPos = _nextAvail;
        ushort oldPos = RingIndex.Add(newPos, -_batchDescriptors);
        _batchDescriptors = 0;
        _batchCount = 0;
        // Store (head flags) then load (device event suppression) must not be reordered: a full fence, as virtio_mb.
        Interlocked.MemoryBarrier();
        return PackedEvents.NeedsNotification(PackedEvents.Snapshot(_deviceEvent), _eventIdx, _size, newPos, oldPos, _availWrap);
    }

    private static bool IsUsed(ushort flags, bool wrap)
    {
        bool avail = (flags & (ushort)PackedDescriptorFlags.Avail) != 0;
        bool used = (flags & (ushort)PackedDescriptorFlags.Used) != 0;
        return avail == used && used == wrap;
    }

    /// <inheritdoc />
    public bool HasPendingUsed => IsUsed(Volatile.Read(ref FlagsAt(_lastUsed)), _usedWrap);

    /// <inheritdoc />
    public bool TryPopUsed(out ushort id, out uint length)
    {
        id = 0;
        length = 0;
        if (IsBroken) return false;
        ushort position = _lastUsed;
        ushort flags = Volatile.Read(ref FlagsAt(position));                   // acquire: id and len after the flags
        if (!IsUsed(flags, _usedWrap)) return CheckNotYetUsed(position, flags);

        ushort usedId = _desc[position].Id;
        uint len = _desc[position].Length;
        if (usedId >= _size)
        {
            Break(VirtqueueError.UsedIdOutOfRange, $"used id {usedId} at ring position {position} out of range for a {_size}-entry queue");
            return false;
        }
        if (_state[usedId] != IdState.Published)
        {
            Break(VirtqueueError.UsedIdNotHead, _state[usedId] == IdState.Added
                ? $"used id {usedId} at ring position {position} was added but not yet made available"
                : $"used id {usedId} at ring position {position} is not a buffer in flight (never made available, or completed twice)");
            return false;
        }
        if (len > _writableBytes[usedId])
        {
            Break(VirtqueueError.UsedLengthTooLarge,
                $"used length {len} for id {usedId} exceeds the {_writableBytes[usedId]} device-writable bytes of its buffers");
            return false;
        }

        // The device skips the chain's other descriptors (§2.7.6): so does the driver, by its own count.
        ushort descriptors = _chainLength[usedId];
        (_lastUsed, _usedWrap) = new PackedPosition(position, _usedWrap).Advance(descriptors, _size);
        _publishedOutstanding -= descriptors;
        _freeCount += descriptors;
        _state[usedId] = IdState.Free;
        _freeIds[_freeIdCount++] = usedId;
        _inFlight--;
        // Interrupt on every completion with EVENT_IDX: move the event to the next used position (Linux get_buf_ctx_packed).
        if (_eventIdx && _interrupts == InterruptMode.Next)
        {
            Volatile.Write(ref DriverOffWrapRef, PackedRingLayout.OffWrap(_lastUsed, _usedWrap));
            Interlocked.MemoryBarrier();
        }
        id = usedId;
        length = len;
        return true;
    }

    /// <summary>
    /// A descriptor that is not used yet. Where the driver has published descriptors it wrote AVAIL = wrap,
    /// USED = !wrap, and the device may only turn that into AVAIL = USED = wrap; any other combination there is the
    /// device writing a wrong wrap counter. Elsewhere the position still holds the previous lap's bits, which prove nothing.
    /// </summary>
    private bool CheckNotYetUsed(ushort position, ushort flags)
    {
        if (_publishedOutstanding == 0) return false;
        bool avail = (flags & (ushort)PackedDescriptorFlags.Avail) != 0;
        bool used = (flags & (ushort)PackedDescriptorFlags.Used) != 0;
        if (avail == _usedWrap && used != _usedWrap) return false;
        Break(VirtqueueError.WrapCounterInvalid,
            $"descriptor at ring position {position} has AVAIL={(avail ? 1 : 0)} USED={(used ? 1 : 0)} (flags 0x{flags:x4}) where the driver's used wrap counter is {(_usedWrap ? 1 : 0)}: neither available nor used");
        return false;
    }

    /// <inheritdoc />
    public void DisableInterrupts()
    {
        if (IsBroken) return;
        _interrupts = InterruptMode.Disabled;
        Volatile.Write(ref DriverFlagsRef, PackedRingLayout.EventFlagDisable);
    }

    /// <inheritdoc />
    public bool EnableInterruptsAndRecheck()
    {
        if (IsBroken) return false;
        _interrupts = InterruptMode.Next;
        return EnableAt(_lastUsed, _usedWrap);
    }

    /// <inheritdoc />
    public bool EnableInterruptsCoalesced(int completions)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(completions, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(completions, (int)_size);
        if (!_eventIdx) return EnableInterruptsAndRecheck();
        if (IsBroken) return false;
        _interrupts = InterruptMode.Coalesced;
        var target = new PackedPosition(_lastUsed, _usedWrap).Advance(completions - 1, _size);
        return EnableAt(target.Index, target.Wrap);
    }

    private bool EnableAt(ushort position, bool wrap)
    {
        if (_eventIdx)
        {
            // off_wrap before flags: the device must never see DESC with a stale offset (Linux: virtio_wmb between).
            Volatile.Write(ref DriverOffWrapRef, PackedRingLayout.OffWrap(position, wrap));
            Volatile.Write(ref DriverFlagsRef, PackedRingLayout.EventFlagDesc);
        }
        else Volatile.Write(ref DriverFlagsRef, PackedRingLayout.EventFlagEnable);
        // Store (the request) then load (the next descriptor's flags) must not be reordered: a full fence.
        Interlocked.MemoryBarrier();
        return HasPendingUsed;
    }

    /// <inheritdoc />
    public void MarkBroken(VirtqueueError error, string message) => Break(error, message);

    private void Break(VirtqueueError error, string message)
    {
        if (IsBroken) return;
        Error = error;
        ErrorMessage = message;
    }

    /// <summary>The ring position the next added descriptor goes to (for tests and diagnostics).</summary>
    public ushort NextAvailPosition => _nextAvail;

    /// <summary>The Driver Ring Wrap Counter (for tests and diagnostics).</summary>
    public bool AvailWrapCounter => _availWrap;

    /// <summary>The ring position of the next expected used descriptor (for tests and diagnostics).</summary>
    public ushort LastUsedPosition => _lastUsed;

    /// <summary>The wrap counter the next used descriptor must carry (for tests and diagnostics).</summary>
    public bool UsedWrapCounter => _usedWrap;

    /// <summary>The descriptor ring in this process's mapping, for tests that play a hostile device.</summary>
    internal PackedDescriptor* DescriptorsForTests => _desc;
}
