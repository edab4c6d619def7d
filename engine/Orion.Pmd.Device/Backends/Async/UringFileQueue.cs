using System.Diagnostics;
using System.Runtime.InteropServices;
using Orion.Pmd.Device.Execution;
using Orion.Pmd.Linux;
using Orion.Pmd.Virtio.Blk;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Device.Backends.Async;

/// <summary>
/// One device queue's io_uring over a file or block device: each popped read, write or flush becomes one SQE whose
/// iovecs point straight into guest memory (zero copy), all SQEs of a pass go to the kernel with one
/// <c>io_uring_enter</c>, and completions are reaped without a system call and pushed to the used ring in the order
/// they finish (the specification allows any order).
/// </summary>
/// <remarks>
/// Flush ordering: FLUSH must cover every write whose completion the driver could have seen before it made the flush
/// available (VirtIO 1.2 §5.2.6.2). A write's used element is pushed only after its CQE was reaped, so every such write
/// had finished in the kernel before the FLUSH's SQE was even prepared, and <c>fdatasync</c> covers all writes that
/// completed before it started. This device promises more (the engine relies on it to send a write and its flush
/// together, see <c>BlockDevice.WriteDurableAsync</c>): a FLUSH also covers every write made available before it that is
/// still in flight. Such a flush is held in its slot until every write started before it has completed (short writes'
/// rests included), and only then goes to the kernel — a barrier kept here rather than with <c>IOSQE_IO_DRAIN</c>,
/// which would also hold every later request and wait for the owner's wake poll (see <see cref="SleepInKernel"/>).
/// In write-through mode a write carries <c>RWF_DSYNC</c>, so its completion already means durable.
/// </remarks>
internal sealed unsafe class UringFileQueue : IBackendQueueIo
{
    private const ulong CancelTag = ulong.MaxValue;
    private const ulong WakePollTag = ulong.MaxValue - 1;     // the owner's wake eventfd, polled while it sleeps in this ring
    private const int RwfDsync = 2;
    private const int ECanceled = 125;  // the kernel cancelled the request (a drain past its bound)     // RWF_DSYNC: this write is durable when it completes (write-through mode)

    private sealed class Slot
    {
        public DescriptorChain? Chain;
        public ChainIovecs Iov;         // struct iovec[], native
        public int First;               // first iovec not fully transferred yet (short transfers advance it)
        public int Count;               // iovecs in use
        public PlannedIoKind Kind;
        public long Offset;             // where the rest goes in the file
        public ulong Total;             // bytes the request moves
        public ulong Remaining;
        public int RwFlags;
        public bool Active;                 // in flight (started, not complete); a held flush too
        public bool Linked;                 // a flush linked behind the write prepared just before it (IOSQE_IO_LINK)
        public long WriteSeq;               // a write: when it started (_writeSeq); a held flush: the last write it must wait for
    }

    private readonly IoUring _ring;
    private readonly int _fd;
    private readonly IoSqeFlags _fileFlag;
    private readonly int _memAlign, _ioAlign;
    private readonly BlkRequestExecutor _executor;
    private readonly Slot[] _slots;
    private readonly int[] _free;
    private int _freeCount;
    private readonly IoCompletion[] _reaped = new IoCompletion[64];
    private long _started, _resubmitted, _fallbacks, _canceled, _orderedFlushes, _linkedFlushes;
    private int _lastPreparedWrite = -1;    // the slot of the write whose SQE was prepared last (TryStart), -1 after any other
    private int _writesInFlight;        // writes started and not complete: a flush started now must wait for them
    private long _writeSeq;             // writes started, ever (each write's WriteSeq)
    private readonly List<int> _heldFlushes = [];   // flush slots waiting for the writes started before them
    private bool _canceling;

    // The poll of the owner's wake eventfd (SleepInKernel). Armed once and left armed across sleeps; it completes when
    // the fd becomes readable (then it is re-armed at the next sleep), or cancelled by a drain past its bound.
    private enum WakePoll { None, Armed }
    private WakePoll _wakePoll;
    private int _wakePollFd = -1;
    private bool _wakeFdReady;
    private bool _disposed;

    /// <summary>
    /// A queue over <paramref name="ring"/> (owned) for <paramref name="fd"/>; <paramref name="memAlign"/> and
    /// <paramref name="ioAlign"/> are what direct I/O needs of buffer addresses and of offsets and lengths (1 for buffered I/O).
    /// </summary>
    public UringFileQueue(IoUring ring, int fd, int depth, int maxSegments, int memAlign, int ioAlign, BlkRequestExecutor executor,
                          ReadOnlySpan<(nint Address, nuint Length)> memory = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        _ring = ring;
        _memAlign = memAlign;
        _ioAlign = ioAlign;
        _executor = executor;
        // A registered file saves the kernel a file-table lookup and reference count per I/O; without it, the plain fd.
        try
        {
            ring.RegisterFiles([fd]);
            _fd = 0;
            _fileFlag = IoSqeFlags.FixedFile;
        }
        catch (LinuxException)
        {
            _fd = fd;
            _fileFlag = IoSqeFlags.None;
        }
        RegisterMemory(memory);
        // Never more in flight than the CQ holds, so the completion queue cannot overflow.
        depth = (int)Math.Min(depth, Math.Min(ring.SubmissionEntries, ring.CompletionEntries));
        _slots = new Slot[depth];
        _free = new int[depth];
        for (int i = 0; i < depth; i++)
        {
            // Every slot's chain exists from the start (a queue deep enough to need the last one would otherwise
            // allocate on its device thread the first time it gets there); 16 bytes per segment.
            _slots[i] = new Slot { Chain = new DescriptorChain(maxSegments) };
            _free[i] = depth - 1 - i;      // slot 0 on top: a shallow queue keeps reusing the same few slots
        }
        _freeCount = depth;
    }

    /// <summary>The kernel's limit on one registered buffer.</summary>
    private const ulong MaxFixedBuffer = 1UL << 30;

    private readonly (nint Start, nint End)[] _fixed = new (nint, nint)[8];
    private int _fixedCount;

    /// <summary>
    /// Registers guest memory as fixed buffers, so a single-buffer transfer inside one skips pinning its pages per I/O
    /// (READ_FIXED/WRITE_FIXED). Regions over the kernel's 1 GiB limit stay unregistered; a kernel that refuses
    /// (RLIMIT_MEMLOCK without CAP_IPC_LOCK) leaves every transfer on plain READ/WRITE.
    /// </summary>
    private void RegisterMemory(ReadOnlySpan<(nint Address, nuint Length)> memory)
    {
        Span<(nint, nuint)> take = stackalloc (nint, nuint)[Math.Min(memory.Length, _fixed.Length)];
        int n = 0;
        foreach (var (address, length) in memory)
        {
            if (n == take.Length || length == 0 || length > MaxFixedBuffer) continue;
            take[n++] = (address, length);
        }
        if (n == 0) return;
        try
        {
            _ring.RegisterBuffers(take[..n]);
        }
        catch (LinuxException)
        {
            return;
        }
        for (int i = 0; i < n; i++) _fixed[i] = (take[i].Item1, take[i].Item1 + (nint)take[i].Item2);
        _fixedCount = n;
    }

    /// <summary>The registered buffer holding [address, +length), or -1.</summary>
    private int FixedIndex(nint address, ulong length)
    {
        for (int i = 0; i < _fixedCount; i++)
        {
            var (start, end) = _fixed[i];
            if (address >= start && (ulong)(end - address) >= length) return i;
        }
        return -1;
    }

    public bool HasFreeSlot => _freeCount > 0;

    public DescriptorChain NextChain
    {
        get
        {
            return _slots[_free[_freeCount - 1]].Chain!;
        }
    }

    public int InFlight => _slots.Length - _freeCount;

    public int CompletionFd => _ring.Fd;

    public bool HasCompletions => _ring.HasCompletions;

    public void SignalCompletionsTo(EventFd eventFd) => _ring.RegisterEventFd(eventFd.Fd);

    public QueueIoCounters Counters => new(
        Volatile.Read(ref _started), Volatile.Read(ref _resubmitted), Volatile.Read(ref _fallbacks), Volatile.Read(ref _canceled),
        Volatile.Read(ref _orderedFlushes), Volatile.Read(ref _linkedFlushes));

    public bool TryStart(in PlannedIo plan)
    {
        int index = _free[_freeCount - 1];
        var slot = _slots[index];
        var chain = slot.Chain!;
        slot.Kind = plan.Kind;
        slot.Offset = plan.Offset;
        slot.Total = slot.Remaining = plan.Length;
        slot.RwFlags = plan.WriteThrough ? RwfDsync : 0;
        slot.First = 0;
        slot.Count = 0;
        slot.Linked = false;
        if (plan.Kind != PlannedIoKind.Flush && !BuildIovecs(slot, chain, plan))
        {
            Volatile.Write(ref _fallbacks, _fallbacks + 1);
            return false;
        }
        if (plan.Kind == PlannedIoKind.Flush && _writesInFlight > 0)
        {
            // Writes made available before this flush are still in the kernel: it must wait for them. Behind the one
            // write prepared just now (a WAL group: write, flush) it goes to the kernel linked, in the same submission;
            // otherwise it is held until they completed.
            slot.WriteSeq = _writeSeq;
            if (TryLinkBehindLastWrite(index, slot)) Volatile.Write(ref _linkedFlushes, _linkedFlushes + 1);
            else _heldFlushes.Add(index);
            Volatile.Write(ref _orderedFlushes, _orderedFlushes + 1);
            _lastPreparedWrite = -1;
        }
        else
        {
            if (plan.Kind == PlannedIoKind.Write) slot.WriteSeq = ++_writeSeq;
            if (!PrepareOrFlush(index, slot))
            {
                Volatile.Write(ref _fallbacks, _fallbacks + 1);
                return false;
            }
            _lastPreparedWrite = plan.Kind == PlannedIoKind.Write ? index : -1;
        }
        _freeCount--;
        slot.Active = true;
        if (plan.Kind == PlannedIoKind.Write) _writesInFlight++;
        Volatile.Write(ref _started, _started + 1);
        return true;
    }

    /// <summary>
    /// Links the flush in <paramref name="slot"/> behind the only write in flight when that write's SQE is the last one
    /// prepared and not yet handed to the kernel: the kernel then runs the fdatasync as soon as the write completed in
    /// full, with no round trip through this queue, and cancels it (<c>-ECANCELED</c>) if the write failed or was short —
    /// <see cref="Finish"/> then holds the flush like any other until the write's rest completed. Chains of several
    /// writes are not linked: a link would also serialise the writes among themselves.
    /// </summary>
    private bool TryLinkBehindLastWrite(int index, Slot slot)
    {
        if (_writesInFlight != 1 || _lastPreparedWrite < 0 || TransientErrorsForTests > 0) return false;
        // The fsync must go into the same submission as the write it follows: no link without room for it now.
        if (_ring.SubmissionSpace < 1 || !_ring.LinkLastPrepared((ulong)_lastPreparedWrite)) return false;
        slot.Linked = Prepare(index, slot);
        if (!slot.Linked) throw new UnreachableException("an SQE was free a moment ago");
        return true;
    }

    /// <summary>Describes the request's data as iovecs; false when direct I/O could not take them as they are.</summary>
    private bool BuildIovecs(Slot slot, DescriptorChain chain, in PlannedIo plan)
    {
        int n = slot.Iov.Build(chain, plan, _memAlign, _ioAlign);
        if (n < 0) return false;
        slot.Count = n;
        return true;
    }

    private bool Prepare(int index, Slot slot)
    {
        ulong tag = (ulong)index;
        switch (slot.Kind)
        {
            case PlannedIoKind.Flush:
                // Writes made available before this flush may still be in the kernel: drain makes fdatasync wait for them.
                return _ring.PrepareFsync(_fd, dataSync: true, tag, _fileFlag);
            case PlannedIoKind.Read:
            case PlannedIoKind.Write:
            {
                var iov = (ulong*)slot.Iov.Address + 2 * slot.First;
                int count = slot.Count - slot.First;
                bool read = slot.Kind == PlannedIoKind.Read;
                if (count == 1)
                {
                    uint length = (uint)iov[1];
                    if (!read && KernelFailedWritesForTests > 0 && _memAlign > 1) { KernelFailedWritesForTests--; length++; }   // test seam: EINVAL
                    // One buffer inside registered memory: the kernel skips pinning its pages.
                    int buffer = FixedIndex((nint)iov[0], length);
                    if (buffer >= 0)
                        return read
                            ? _ring.PrepareReadFixed(_fd, (nint)iov[0], length, slot.Offset, (ushort)buffer, tag, _fileFlag, slot.RwFlags)
                            : _ring.PrepareWriteFixed(_fd, (nint)iov[0], length, slot.Offset, (ushort)buffer, tag, _fileFlag, slot.RwFlags);
                    // One buffer: a plain READ/WRITE spares the kernel importing an iovec array.
                    return read
                        ? _ring.PrepareRead(_fd, (nint)iov[0], length, slot.Offset, tag, _fileFlag, slot.RwFlags)
                        : _ring.PrepareWrite(_fd, (nint)iov[0], length, slot.Offset, tag, _fileFlag, slot.RwFlags);
                }
                return read
                    ? _ring.PrepareReadv(_fd, (nint)iov, count, slot.Offset, tag, _fileFlag, slot.RwFlags)
                    : _ring.PrepareWritev(_fd, (nint)iov, count, slot.Offset, tag, _fileFlag, slot.RwFlags);
            }
            default:
                throw new UnreachableException();
        }
    }

    public int Submit() => _ring.Prepared == 0 ? 0 : _ring.Submit();

    public int Unsubmitted => _ring.Prepared;

    public bool SleepInKernel(int wakeFd, int timeoutMs, out bool wakeFdReady)
    {
        wakeFdReady = false;
        if (_wakeFdReady)
        {
            // Found readable by an earlier reap: the owner was woken and has not reset it yet; do not sleep.
            _wakeFdReady = false;
            wakeFdReady = true;
            return true;
        }
        if (_wakePoll == WakePoll.Armed && _wakePollFd != wakeFd) return false;
        if (_wakePoll == WakePoll.None)
        {
            if (!_ring.PreparePollIn(wakeFd, WakePollTag)) return false;
            _wakePoll = WakePoll.Armed;
            _wakePollFd = wakeFd;
        }
        // Nobody sleeps on the completion eventfd meanwhile: spare each completion its signal.
        _ring.EventFdSignals = false;
        try
        {
            _ring.SubmitAndWait(1, timeoutMs < 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(timeoutMs));
        }
        finally
        {
            _ring.EventFdSignals = true;
        }
        return true;
    }

    public int Reap(IDeviceQueue ring) => ReapInto(ring);

    private int ReapInto(IDeviceQueue? ring)
    {
        int completed = 0;
        while (true)
        {
            int n = _ring.Reap(_reaped);
            for (int i = 0; i < n; i++)
            {
                var c = _reaped[i];
                if (c.UserData == CancelTag) continue;
                if (c.UserData == WakePollTag)
                {
                    // Fired (the fd is readable) or cancelled: either way no poll is armed any more.
                    if (c.Result > 0) _wakeFdReady = true;
                    _wakePoll = WakePoll.None;
                    continue;
                }
                if (c.UserData >= (ulong)_slots.Length) continue;       // not ours: nothing else submits on this ring
                if (Finish((int)c.UserData, c.Result, ring)) completed++;
            }
            if (n < _reaped.Length)
            {
                if (_heldFlushes.Count > 0) completed += ReleaseHeldFlushes(ring);
                return completed;
            }
        }
    }

    /// <summary>Test seam (<see cref="FileBackendOptions.TransientErrorsForTests"/>): read and write completions still to turn into EAGAIN/EINTR.</summary>
    internal int TransientErrorsForTests { get; set; }

    /// <summary>Test seam (<see cref="FileBackendOptions.KernelFailedWritesForTests"/>): single-buffer writes still to send one byte too long.</summary>
    internal int KernelFailedWritesForTests { get; set; }

    /// <summary>
    /// Sends each held flush whose writes (those started before it) have all completed to the kernel; a flush the
    /// kernel cannot take now (SQ full even after a submit) fails as IOERR rather than wait. Returns the flushes failed.
    /// </summary>
    private int ReleaseHeldFlushes(IDeviceQueue? ring)
    {
        long oldest = long.MaxValue;
        foreach (var s in _slots)
            if (s.Active && s.Kind == PlannedIoKind.Write && s.WriteSeq < oldest) oldest = s.WriteSeq;
        int failed = 0;
        for (int i = 0; i < _heldFlushes.Count;)
        {
            int index = _heldFlushes[i];
            var flush = _slots[index];
            if (flush.WriteSeq >= oldest)
            {
                i++;
                continue;
            }
            _heldFlushes.RemoveAt(i);
            if (PrepareOrFlush(index, flush)) continue;
            _executor.RecordBackendError(Describe(flush, "could not be handed to the kernel (submission queue full)"));
            Complete(index, flush, BlkStatus.IoError, ring);
            failed++;
        }
        return failed;
    }

    /// <summary>Handles one CQE; true when the request is complete (false: resubmitted for the rest).</summary>
    private bool Finish(int index, int result, IDeviceQueue? ring)
    {
        var slot = _slots[index];
        if (TransientErrorsForTests > 0 && slot.Kind != PlannedIoKind.Flush)
            result = -(TransientErrorsForTests-- % 2 == 0 ? Errno.EAGAIN : Errno.EINTR);
        BlkStatus status = BlkStatus.Ok;
        if (result < 0)
        {
            int errno = -result;
            if (errno == ECanceled && slot.Linked && !_canceling)
            {
                // The write it was linked behind failed or stopped short, so the kernel did not run it: hold it until
                // that write (or its resubmitted rest) completed, as a flush that arrived behind writes in flight.
                slot.Linked = false;
                _heldFlushes.Add(index);
                return false;
            }
            if ((errno == Errno.EAGAIN || errno == Errno.EINTR) && !_canceling && Resubmit(index, slot)) return false;
            if (errno == ECanceled) Volatile.Write(ref _canceled, _canceled + 1);
            _executor.RecordBackendError(Describe(slot, $"failed: {Errno.GetName(errno) ?? "errno " + errno}"));
            status = BlkStatus.IoError;
        }
        else if (slot.Kind != PlannedIoKind.Flush)
        {
            if (result == 0)
            {
                // A read at the end of the file (it shrank underneath) or a write that made no progress: never success.
                _executor.RecordBackendError(Describe(slot, slot.Kind == PlannedIoKind.Read
                    ? "ran past the end of the file" : "made no progress"));
                status = BlkStatus.IoError;
            }
            else if ((ulong)result < slot.Remaining)
            {
                Advance(slot, (ulong)result);
                if (!_canceling && Resubmit(index, slot)) return false;
                _executor.RecordBackendError(Describe(slot, "stopped short"));
                status = BlkStatus.IoError;
            }
        }
        Complete(index, slot, status, ring);
        return true;
    }

    private bool Resubmit(int index, Slot slot)
    {
        if (!PrepareOrFlush(index, slot)) return false;
        Volatile.Write(ref _resubmitted, _resubmitted + 1);
        return true;
    }

    /// <summary>Prepares the slot's SQE; with the SQ full (the kernel has not taken the last batch: EAGAIN/EBUSY) hands that over and tries once more.</summary>
    private bool PrepareOrFlush(int index, Slot slot)
    {
        if (Prepare(index, slot)) return true;
        _ring.Submit();
        return Prepare(index, slot);
    }

    /// <summary>Moves past <paramref name="bytes"/> transferred: whole iovecs are skipped, a partial one is trimmed.</summary>
    private static void Advance(Slot slot, ulong bytes)
    {
        slot.Offset += (long)bytes;
        slot.Remaining -= bytes;
        var iov = (ulong*)slot.Iov.Address;
        while (bytes > 0 && slot.First < slot.Count)
        {
            ulong length = iov[2 * slot.First + 1];
            if (bytes >= length)
            {
                bytes -= length;
                slot.First++;
                continue;
            }
            iov[2 * slot.First] += bytes;
            iov[2 * slot.First + 1] = length - bytes;
            bytes = 0;
        }
    }

    private void Complete(int index, Slot slot, BlkStatus status, IDeviceQueue? ring)
    {
        var chain = slot.Chain!;
        if (slot.Kind == PlannedIoKind.Write) _writesInFlight--;
        slot.Active = false;
        if (ring is not null)
        {
            ChainData.WriteStatus(chain, (byte)status);
            uint data = status == BlkStatus.Ok && slot.Kind == PlannedIoKind.Read ? (uint)slot.Total : 0;
            ring.PushUsed(chain.Head, data + BlkConstants.StatusBytes);
        }
        _free[_freeCount++] = index;
    }

    private static string Describe(Slot slot, string what) => slot.Kind switch
    {
        PlannedIoKind.Flush => $"flush (fdatasync) {what}",
        PlannedIoKind.Read => $"read of {slot.Total} bytes {what} ({slot.Remaining} left at offset {slot.Offset})",
        _ => $"write of {slot.Total} bytes {what} ({slot.Remaining} left at offset {slot.Offset})",
    };

    public bool Drain(IDeviceQueue? ring, TimeSpan cancelAfter, TimeSpan grace)
    {
        long deadline = Stopwatch.GetTimestamp() + (long)(cancelAfter.TotalSeconds * Stopwatch.Frequency);
        _ring.Submit();
        while (InFlight > 0)
        {
            _ring.SubmitAndWait(1, TimeSpan.FromMilliseconds(50));
            ReapInto(ring);
            if (InFlight == 0 || Stopwatch.GetTimestamp() <= deadline) continue;
            if (_canceling) return false;          // cancelled a grace ago and still in the kernel: the caller quarantines
            // Past the bound: ask the kernel to cancel what it can; what it cannot cancel (I/O already at the device)
            // may still complete, and is waited for up to the grace, because until then the kernel may write guest memory.
            _canceling = true;
            _ring.PrepareCancelAll(CancelTag);
            _ring.Submit();
            deadline = Stopwatch.GetTimestamp() + (long)(grace.TotalSeconds * Stopwatch.Frequency);
        }
        _canceling = false;
        return true;
    }

    public void Dispose()
    {
        if (_disposed) return;
        // Requests the kernel still holds may read the iovecs and write guest memory: then nothing is freed (a leak).
        if (InFlight > 0 && !Drain(null, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5))) return;
        _disposed = true;
        _ring.Dispose();
        foreach (var s in _slots)
        {
            s.Iov.Free();
        }
    }
}
