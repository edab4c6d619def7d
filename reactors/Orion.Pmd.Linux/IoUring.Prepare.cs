using Orion.Pmd.Linux.Interop;
using static Orion.Pmd.Linux.Interop.IoUringAbi;

namespace Orion.Pmd.Linux;

// Preparing requests: each Prepare method validates its arguments first (so a throw leaves nothing half-prepared),
// then takes the next free SQE, clears it and fills it. Nothing reaches the kernel until Submit publishes the tail.
public sealed unsafe partial class IoUring
{
    private const IoSqeFlags AllSqeFlags =
        IoSqeFlags.FixedFile | IoSqeFlags.IoDrain | IoSqeFlags.IoLink | IoSqeFlags.IoHardLink | IoSqeFlags.Async;

    /// <summary>Prepares a no-op, which completes with result 0: a cheap way to get a completion back (wake-ups, tests).</summary>
    /// <returns>False, preparing nothing, when the submission queue is full.</returns>
    public bool PrepareNop(ulong userData, IoSqeFlags flags = 0)
    {
        CheckFlags(flags);
        IoUringSqe* sqe = NextSqe();
        if (sqe == null) return false;
        sqe->Opcode = IORING_OP_NOP;
        Fill(sqe, -1, 0, 0, 0, userData, flags);
        return true;
    }

    /// <summary>
    /// Prepares a read of <paramref name="length"/> bytes at <paramref name="offset"/> of <paramref name="fd"/> into
    /// <paramref name="buffer"/> (IORING_OP_READ). An <paramref name="offset"/> of -1 reads at the file position. With
    /// <see cref="IoSqeFlags.FixedFile"/> <paramref name="fd"/> is an index into the registered files.
    /// </summary>
    /// <returns>False, preparing nothing, when the submission queue is full.</returns>
    public bool PrepareRead(int fd, nint buffer, uint length, long offset, ulong userData, IoSqeFlags flags = 0, int rwFlags = 0)
        => PrepareRw(IORING_OP_READ, fd, buffer, length, offset, userData, flags, rwFlags, 0);

    /// <summary>Prepares a write, as <see cref="PrepareRead"/> (IORING_OP_WRITE).</summary>
    /// <returns>False, preparing nothing, when the submission queue is full.</returns>
    public bool PrepareWrite(int fd, nint buffer, uint length, long offset, ulong userData, IoSqeFlags flags = 0, int rwFlags = 0)
        => PrepareRw(IORING_OP_WRITE, fd, buffer, length, offset, userData, flags, rwFlags, 0);

    /// <summary>
    /// Prepares a read into registered buffer <paramref name="bufferIndex"/> (IORING_OP_READ_FIXED):
    /// [<paramref name="buffer"/>, +<paramref name="length"/>) must lie inside that buffer. The kernel skips pinning
    /// the pages, which it did once at <see cref="RegisterBuffers"/>.
    /// </summary>
    /// <returns>False, preparing nothing, when the submission queue is full.</returns>
    public bool PrepareReadFixed(int fd, nint buffer, uint length, long offset, ushort bufferIndex, ulong userData,
        IoSqeFlags flags = 0, int rwFlags = 0)
        => PrepareRw(IORING_OP_READ_FIXED, fd, buffer, length, offset, userData, flags, rwFlags, bufferIndex);

    /// <summary>Prepares a write from registered buffer <paramref name="bufferIndex"/>, as <see cref="PrepareReadFixed"/> (IORING_OP_WRITE_FIXED).</summary>
    /// <returns>False, preparing nothing, when the submission queue is full.</returns>
    public bool PrepareWriteFixed(int fd, nint buffer, uint length, long offset, ushort bufferIndex, ulong userData,
        IoSqeFlags flags = 0, int rwFlags = 0)
        => PrepareRw(IORING_OP_WRITE_FIXED, fd, buffer, length, offset, userData, flags, rwFlags, bufferIndex);

    /// <summary>
    /// Prepares a vectored read (IORING_OP_READV) into the <paramref name="iovecCount"/> <c>struct iovec</c>s (16 bytes
    /// each: base, length) at <paramref name="iovecs"/>. The array itself must stay valid until the completion is
    /// reaped, not just until submission.
    /// </summary>
    /// <returns>False, preparing nothing, when the submission queue is full.</returns>
    public bool PrepareReadv(int fd, nint iovecs, int iovecCount, long offset, ulong userData, IoSqeFlags flags = 0, int rwFlags = 0)
    {
        CheckIovecs(iovecs, iovecCount);
        return PrepareRw(IORING_OP_READV, fd, iovecs, (uint)iovecCount, offset, userData, flags, rwFlags, 0);
    }

    /// <summary>Prepares a vectored write (IORING_OP_WRITEV), as <see cref="PrepareReadv"/>.</summary>
    /// <returns>False, preparing nothing, when the submission queue is full.</returns>
    public bool PrepareWritev(int fd, nint iovecs, int iovecCount, long offset, ulong userData, IoSqeFlags flags = 0, int rwFlags = 0)
    {
        CheckIovecs(iovecs, iovecCount);
        return PrepareRw(IORING_OP_WRITEV, fd, iovecs, (uint)iovecCount, offset, userData, flags, rwFlags, 0);
    }

    /// <summary>
    /// Prepares an <c>fsync</c> of the whole file (IORING_OP_FSYNC), or an <c>fdatasync</c> with
    /// <paramref name="dataSync"/>. It covers writes completed before it starts: to order it after writes still in
    /// flight, link it behind them (<see cref="IoSqeFlags.IoLink"/>) or drain (<see cref="IoSqeFlags.IoDrain"/>).
    /// </summary>
    /// <returns>False, preparing nothing, when the submission queue is full.</returns>
    public bool PrepareFsync(int fd, bool dataSync, ulong userData, IoSqeFlags flags = 0)
    {
        CheckFlags(flags);
        IoUringSqe* sqe = NextSqe();
        if (sqe == null) return false;
        sqe->Opcode = IORING_OP_FSYNC;
        Fill(sqe, fd, 0, 0, 0, userData, flags);
        sqe->OpFlags = dataSync ? IORING_FSYNC_DATASYNC : 0;
        return true;
    }

    /// <summary>
    /// Links the SQE prepared last to the next one prepared (<see cref="IoSqeFlags.IoLink"/>): the kernel starts the
    /// next only once this one completed in full, and completes it with <c>-ECANCELED</c> instead when this one failed
    /// or transferred less than asked. Only an SQE the kernel has not been handed yet can be linked, and only if it is
    /// the one tagged <paramref name="userData"/> (so a caller links exactly the request it means).
    /// </summary>
    /// <returns>False, changing nothing, when the last prepared SQE was already submitted or is another request's.</returns>
    public bool LinkLastPrepared(ulong userData)
    {
        ThrowIfDisposed();
        uint tail = _sqeTail;
        if (tail == *_sqTail) return false;                 // nothing prepared since the last submit
        IoUringSqe* sqe = _sqes + ((tail - 1) & _sqMask);
        if (sqe->UserData != userData) return false;
        sqe->Flags |= (byte)IoSqeFlags.IoLink;
        return true;
    }

    /// <summary>
    /// Prepares a <c>fallocate(fd, mode, offset, length)</c> (IORING_OP_FALLOCATE); <paramref name="mode"/> is a
    /// combination of <see cref="FallocateMode"/> bits, 0 to allocate.
    /// </summary>
    /// <returns>False, preparing nothing, when the submission queue is full.</returns>
    public bool PrepareFallocate(int fd, int mode, long offset, long length, ulong userData, IoSqeFlags flags = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        CheckFlags(flags);
        IoUringSqe* sqe = NextSqe();
        if (sqe == null) return false;
        sqe->Opcode = IORING_OP_FALLOCATE;
        // The odd one out: the length travels in addr and the mode in len (liburing's io_uring_prep_fallocate).
        Fill(sqe, fd, (ulong)length, (uint)mode, (ulong)offset, userData, flags);
        return true;
    }

    /// <summary>
    /// Prepares a one-shot poll of <paramref name="fd"/> for readability (IORING_OP_POLL_ADD with POLLIN): it completes
    /// with the ready events once the fd is readable (at once if it already is), so a thread sleeping inside
    /// <see cref="SubmitAndWait"/> also wakes for that fd — an eventfd another thread signals, say.
    /// </summary>
    /// <returns>False, preparing nothing, when the submission queue is full.</returns>
    public bool PreparePollIn(int fd, ulong userData)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fd);
        IoUringSqe* sqe = NextSqe();
        if (sqe == null) return false;
        sqe->Opcode = IORING_OP_POLL_ADD;
        Fill(sqe, fd, 0, 0, 0, userData, IoSqeFlags.None);
        sqe->OpFlags = (ushort)LibC.POLLIN;     // poll32_events, little-endian (IORING_FEAT_POLL_32BITS)
        return true;
    }

    /// <summary>
    /// Prepares the cancellation of the request prepared with user data <paramref name="targetUserData"/>
    /// (IORING_OP_ASYNC_CANCEL). The target completes with <c>-ECANCELED</c>; this request completes with 0, or
    /// <c>-ENOENT</c> when no such request is in flight, or <c>-EALREADY</c> when it is running and cannot be stopped.
    /// </summary>
    /// <returns>False, preparing nothing, when the submission queue is full.</returns>
    public bool PrepareCancel(ulong targetUserData, ulong userData, IoSqeFlags flags = 0)
    {
        CheckFlags(flags);
        IoUringSqe* sqe = NextSqe();
        if (sqe == null) return false;
        sqe->Opcode = IORING_OP_ASYNC_CANCEL;
        Fill(sqe, -1, targetUserData, 0, 0, userData, flags);
        return true;
    }

    /// <summary>
    /// Prepares the cancellation of every request in flight on this ring (IORING_ASYNC_CANCEL_ANY, Linux 5.19). It
    /// completes with the number of requests cancelled, or <c>-ENOENT</c> when there were none.
    /// </summary>
    /// <returns>False, preparing nothing, when the submission queue is full.</returns>
    public bool PrepareCancelAll(ulong userData)
    {
        IoUringSqe* sqe = NextSqe();
        if (sqe == null) return false;
        sqe->Opcode = IORING_OP_ASYNC_CANCEL;
        Fill(sqe, -1, 0, 0, 0, userData, IoSqeFlags.None);
        sqe->OpFlags = IORING_ASYNC_CANCEL_ANY;
        return true;
    }

    private bool PrepareRw(byte opcode, int fd, nint address, uint length, long offset, ulong userData,
        IoSqeFlags flags, int rwFlags, ushort bufferIndex)
    {
        // -1 means "at the file position" (IORING_FEAT_RW_CUR_POS); any other negative offset is a caller's bug.
        ArgumentOutOfRangeException.ThrowIfLessThan(offset, -1);
        CheckFlags(flags);
        IoUringSqe* sqe = NextSqe();
        if (sqe == null) return false;
        sqe->Opcode = opcode;
        Fill(sqe, fd, (ulong)address, length, (ulong)offset, userData, flags);
        sqe->OpFlags = (uint)rwFlags;
        sqe->BufIndex = bufferIndex;
        return true;
    }

    private static void Fill(IoUringSqe* sqe, int fd, ulong address, uint length, ulong offset, ulong userData, IoSqeFlags flags)
    {
        sqe->Flags = (byte)flags;
        sqe->Fd = fd;
        sqe->Addr = address;
        sqe->Len = length;
        sqe->Off = offset;
        sqe->UserData = userData;
    }

    /// <summary>
    /// The next free SQE, cleared, or null when the SQ is full. The SQ head is read with acquire semantics: once the
    /// kernel has moved it past a slot, it no longer reads that SQE, so the slot may be reused.
    /// </summary>
    private IoUringSqe* NextSqe()
    {
        ThrowIfDisposed();
        uint tail = _sqeTail;
        if (tail - Volatile.Read(ref *_sqHead) >= SubmissionEntries) return null;
        IoUringSqe* sqe = _sqes + (tail & _sqMask);
        // Clear it all: the slot holds whatever request used it last, and a stale union member (a buf_index, a
        // personality, addr3) would change what the next opcode does or make the kernel reject it.
        *sqe = default;
        _sqeTail = tail + 1;
        return sqe;
    }

    private static void CheckFlags(IoSqeFlags flags)
    {
        if ((flags & ~AllSqeFlags) != 0)
            throw new ArgumentOutOfRangeException(nameof(flags), flags, "unknown IOSQE flag bits");
    }

    private static void CheckIovecs(nint iovecs, int iovecCount)
    {
        ArgumentOutOfRangeException.ThrowIfZero(iovecs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(iovecCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(iovecCount, MaxIovecs);
    }
}
