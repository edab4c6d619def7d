using System.Diagnostics;
using System.Runtime.InteropServices;
using Orion.Pmd.Linux.Interop;
using static Orion.Pmd.Linux.Interop.IoUringAbi;

namespace Orion.Pmd.Linux;

// Submitting and reaping. The memory-ordering rules are liburing's (queue.c): the SQ tail is published with a release
// store after the SQEs are written, the CQ tail is read with an acquire load before the CQEs it covers, and the CQ head
// is released after they were copied out. Volatile.Read/Write are exactly acquire/release on x86-64 and aarch64.
public sealed unsafe partial class IoUring
{
    /// <summary>
    /// Submits the prepared SQEs with one <c>io_uring_enter</c>, and makes no system call when nothing is prepared.
    /// EINTR is retried. When the kernel is short of resources (EAGAIN) or is holding back a completion backlog
    /// (EBUSY), it returns what it did submit, maybe 0, and the rest stay prepared for the next call.
    /// </summary>
    /// <returns>The number of SQEs the kernel consumed.</returns>
    /// <exception cref="LinuxException"><c>io_uring_enter</c> failed otherwise.</exception>
    public int Submit()
    {
        ThrowIfDisposed();
        int submitted = 0;
        while (true)
        {
            uint pending = PublishPrepared();
            if (pending == 0) return submitted;
            int n = Enter(pending, 0, 0, null, 0);
            if (n >= 0) return submitted + n;
            int errno = Marshal.GetLastPInvokeError();
            if (errno == Errno.EAGAIN || errno == Errno.EBUSY) return submitted;
            if (errno != Errno.EINTR) throw new LinuxException("io_uring_enter", errno);
        }
    }

    /// <summary>
    /// Submits what is prepared and waits until at least <paramref name="minComplete"/> completions are ready to reap
    /// or <paramref name="timeout"/> (<see cref="Timeout.InfiniteTimeSpan"/> for none) has passed. The wait is bounded
    /// by the kernel (IORING_ENTER_EXT_ARG with a timespec, Linux 5.11); an EINTR resumes it with the time left.
    /// </summary>
    /// <returns>True when <paramref name="minComplete"/> completions are ready; false when the time ran out first.</returns>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="minComplete"/> is negative or above <see cref="CompletionEntries"/>, or the timeout is negative.
    /// </exception>
    /// <exception cref="LinuxException"><c>io_uring_enter</c> failed otherwise.</exception>
    public bool SubmitAndWait(int minComplete, TimeSpan timeout)
    {
        ThrowIfDisposed();
        ArgumentOutOfRangeException.ThrowIfNegative(minComplete);
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)minComplete, CompletionEntries, nameof(minComplete));
        bool forever = timeout == Timeout.InfiniteTimeSpan;
        if (!forever) ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        if (!WaitWithExtArg) return SubmitAndPoll((uint)minComplete, timeout, forever);

        long start = Stopwatch.GetTimestamp();
        KernelTimespec ts;
        IoUringGetEventsArg arg = default;
        arg.Ts = forever ? 0 : (ulong)&ts;
        bool submitRefused = false;
        while (true)
        {
            uint pending = submitRefused ? 0 : PublishPrepared();
            if (pending == 0 && Ready() >= (uint)minComplete) return true;
            if (!forever)
            {
                long left = Math.Max(0, (timeout - Stopwatch.GetElapsedTime(start)).Ticks);
                ts.Seconds = left / TimeSpan.TicksPerSecond;
                ts.Nanoseconds = left % TimeSpan.TicksPerSecond * TimeSpan.NanosecondsPerTick;
            }
            int n = Enter(pending, (uint)minComplete, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, (nuint)sizeof(IoUringGetEventsArg));
            if (n < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == Errno.ETIME) return Ready() >= (uint)minComplete;
                if ((errno == Errno.EAGAIN || errno == Errno.EBUSY) && pending != 0)
                    submitRefused = true;   // keep them prepared, as Submit does, and still wait for completions
                else if (errno != Errno.EINTR)
                    throw new LinuxException("io_uring_enter", errno);
            }
            // The kernel returns the number submitted even when the wait after it timed out, so look for ourselves.
            if (Ready() >= (uint)minComplete) return true;
            if (!forever && Stopwatch.GetElapsedTime(start) >= timeout) return false;
        }
    }

    /// <summary>SubmitAndWait for kernels before 5.11, which cannot bound an io_uring_enter wait: poll the ring fd instead.</summary>
    private bool SubmitAndPoll(uint minComplete, TimeSpan timeout, bool forever)
    {
        Submit();
        long start = Stopwatch.GetTimestamp();
        while (true)
        {
            if (Ready() < minComplete && CompletionsHeldBack()) FlushCompletions();
            if (Ready() >= minComplete) return true;
            int ms = -1;
            if (!forever)
            {
                TimeSpan left = timeout - Stopwatch.GetElapsedTime(start);
                if (left <= TimeSpan.Zero) return false;
                ms = (int)Math.Min(int.MaxValue, Math.Ceiling(left.TotalMilliseconds));
            }
            var pfd = new PollFd { Fd = _fd, Events = LibC.POLLIN };
            if (LibC.poll(&pfd, 1, ms) < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno != Errno.EINTR) throw new LinuxException("poll(io_uring)", errno);
            }
        }
    }

    /// <summary>
    /// Reaps one completion without a system call. When the CQ is empty but the kernel holds completions back for it
    /// (IORING_SQ_CQ_OVERFLOW: a backlog that did not fit; IORING_SQ_TASKRUN: task work to run), it makes one
    /// <c>io_uring_enter(GETEVENTS)</c> to bring them in, then looks again.
    /// </summary>
    /// <returns>False (and a default completion) when there is nothing to reap.</returns>
    public bool TryReap(out IoCompletion completion)
    {
        ThrowIfDisposed();
        uint head = _cqHeadLocal;
        if (head == Volatile.Read(ref *_cqTail))
        {
            if (!CompletionsHeldBack() || !FlushCompletions() || head == Volatile.Read(ref *_cqTail))
            {
                completion = default;
                return false;
            }
        }
        IoUringCqe* cqe = _cqes + (head & _cqMask);
        completion = new IoCompletion(cqe->UserData, cqe->Res, cqe->Flags);
        // Released after the copy: once the kernel sees the new head it may overwrite the slot.
        _cqHeadLocal = head + 1;
        Volatile.Write(ref *_cqHead, head + 1);
        return true;
    }

    /// <summary>
    /// Reaps up to <paramref name="completions"/>.Length completions with one store of the CQ head for the lot. Like
    /// <see cref="TryReap"/>, it makes one <c>io_uring_enter</c> only when the CQ ran dry while the kernel was holding
    /// completions back.
    /// </summary>
    /// <returns>The number of completions written to the start of <paramref name="completions"/>.</returns>
    public int Reap(Span<IoCompletion> completions)
    {
        ThrowIfDisposed();
        uint head = _cqHeadLocal;
        int count = 0;
        bool flushed = false;
        while (count < completions.Length)
        {
            uint tail = Volatile.Read(ref *_cqTail);
            for (; head != tail && count < completions.Length; head++)
            {
                IoUringCqe* cqe = _cqes + (head & _cqMask);
                completions[count++] = new IoCompletion(cqe->UserData, cqe->Res, cqe->Flags);
            }
            if (count == completions.Length || flushed || !CompletionsHeldBack()) break;
            // Hand the slots back first: an overflow backlog is flushed only into free CQ space.
            ReleaseCqHead(head);
            flushed = FlushCompletions();
            if (!flushed) break;
        }
        ReleaseCqHead(head);
        return count;
    }

    private void ReleaseCqHead(uint head)
    {
        if (head == _cqHeadLocal) return;
        _cqHeadLocal = head;
        Volatile.Write(ref *_cqHead, head);
    }

    /// <summary>
    /// Whether a reap would find something: a CQE in the CQ, or completions the kernel holds back until this thread
    /// enters it (task work, an overflow backlog). No system call; for a poller deciding whether it may sleep.
    /// </summary>
    public bool HasCompletions
    {
        get
        {
            ThrowIfDisposed();
            return Ready() != 0 || CompletionsHeldBack();
        }
    }

    /// <summary>Completions ready in the CQ and not yet reaped.</summary>
    private uint Ready() => Volatile.Read(ref *_cqTail) - _cqHeadLocal;

    /// <summary>liburing's cq_ring_needs_flush: the kernel has completions for this ring that are not in the CQ yet.</summary>
    private bool CompletionsHeldBack() => (Volatile.Read(ref *_sqFlags) & (IORING_SQ_CQ_OVERFLOW | IORING_SQ_TASKRUN)) != 0;

    /// <summary>
    /// <c>io_uring_enter(GETEVENTS)</c> with nothing to wait for: runs pending task work and moves an overflow backlog
    /// into the CQ. False when the kernel could not (EAGAIN/EBUSY); the caller just finds nothing new.
    /// </summary>
    private bool FlushCompletions()
    {
        while (Enter(0, 0, IORING_ENTER_GETEVENTS, null, 0) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == Errno.EAGAIN || errno == Errno.EBUSY) return false;
            if (errno != Errno.EINTR) throw new LinuxException("io_uring_enter(GETEVENTS)", errno);
        }
        return true;
    }

    /// <summary>
    /// Publishes the prepared SQEs by storing the SQ tail (release: the kernel must see the SQE contents before the
    /// tail that covers them) and returns how many the kernel has yet to consume. No fence is needed before deciding to
    /// enter: without SQPOLL nobody but our own io_uring_enter consumes the SQ, and we always enter when any are due.
    /// </summary>
    private uint PublishPrepared()
    {
        uint tail = _sqeTail;
        uint pending = tail - Volatile.Read(ref *_sqHead);
        if (pending != 0) Volatile.Write(ref *_sqTail, tail);
        return pending;
    }

    private int Enter(uint toSubmit, uint minComplete, uint flags, void* arg, nuint argSize)
    {
        _enters++;
        return LibC.io_uring_enter(_fd, toSubmit, minComplete, flags, arg, argSize);
    }
}
