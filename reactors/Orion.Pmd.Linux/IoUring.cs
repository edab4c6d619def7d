using System.Numerics;
using System.Runtime.InteropServices;
using Orion.Pmd.Linux.Interop;
using static Orion.Pmd.Linux.Interop.IoUringAbi;

namespace Orion.Pmd.Linux;

/// <summary>
/// An io_uring instance: a submission queue (SQ) of requests and a completion queue (CQ) of results, both shared with
/// the kernel through mapped memory, so preparing requests and reaping completions costs no system call; one
/// <c>io_uring_enter</c> submits a batch. Built for a polling thread: it prepares with the Prepare methods, calls
/// <see cref="Submit"/> once per turn, and reaps with <see cref="TryReap"/> or <see cref="Reap"/>.
/// </summary>
/// <remarks>
/// <para>
/// Not thread-safe: one thread at a time prepares, submits and reaps. It need not always be the same thread (the ring
/// is set up without IORING_SETUP_SINGLE_ISSUER or DEFER_TASKRUN precisely so another thread can drain it after the
/// owner stopped), but handing it over needs the usual happens-before (a join, a lock).
/// </para>
/// <para>
/// The ring uses IORING_SETUP_COOP_TASKRUN: completions that need the submitting task to run kernel task work do not
/// interrupt it with an IPI, they wait for its next transition into the kernel, and IORING_SETUP_TASKRUN_FLAG raises
/// IORING_SQ_TASKRUN so <see cref="TryReap"/> knows when one <c>io_uring_enter</c> is due. Kernels older than 5.19
/// (or 6.6 for IORING_SETUP_NO_SQARRAY, 5.18 for SUBMIT_ALL) get a ring without those flags.
/// </para>
/// <para>
/// Buffers, iovec arrays and registered memory must stay valid until the request's completion is reaped: the kernel
/// reads or writes them asynchronously. No finalizer, as for <see cref="SharedMemory"/>: closing the ring under
/// requests in flight would cancel I/O some other object still counts on; owners dispose explicitly.
/// </para>
/// </remarks>
public sealed unsafe partial class IoUring : IDisposable
{
    private readonly int _fd;
    private readonly uint _setupFlags;

    // The mappings: the SQ ring (which is also the CQ ring with IORING_FEAT_SINGLE_MMAP), the CQ ring when it is a
    // mapping of its own, and the SQE array, which is always separate.
    private byte* _sqRing;
    private readonly nuint _sqRingSize;
    private byte* _cqRing;
    private readonly nuint _cqRingSize;
    private IoUringSqe* _sqes;
    private readonly nuint _sqesSize;

    // Pointers into the rings. The kernel writes the SQ head, the SQ flags and the CQ tail; we write the SQ tail and
    // the CQ head.
    private readonly uint* _sqHead;
    private readonly uint* _sqTail;
    private readonly uint* _sqFlags;
    private readonly uint* _cqHead;
    private readonly uint* _cqTail;
    private readonly uint* _cqFlags;       // null when the kernel has no CQ flags word (before 5.8)
    private readonly IoUringCqe* _cqes;
    private readonly uint _sqMask;
    private readonly uint _cqMask;

    // Our own copies of the indices only we write, so the hot paths need not read them back from shared memory:
    // _sqeTail is the next SQE to prepare (published to *_sqTail by Submit), _cqHeadLocal the next CQE to reap.
    private uint _sqeTail;
    private uint _cqHeadLocal;
    private long _enters;
    private int _disposed;

    private IoUring(int fd, in IoUringParams p, byte* sqRing, nuint sqRingSize, byte* cqRing, nuint cqRingSize,
        IoUringSqe* sqes, nuint sqesSize)
    {
        _fd = fd;
        _setupFlags = p.Flags;
        SubmissionEntries = p.SqEntries;
        CompletionEntries = p.CqEntries;
        Features = p.Features;
        _sqRing = sqRing;
        _sqRingSize = sqRingSize;
        _cqRing = cqRing;
        _cqRingSize = cqRingSize;
        _sqes = sqes;
        _sqesSize = sqesSize;

        _sqHead = (uint*)(sqRing + p.SqOff.Head);
        _sqTail = (uint*)(sqRing + p.SqOff.Tail);
        _sqFlags = (uint*)(sqRing + p.SqOff.Flags);
        _sqMask = *(uint*)(sqRing + p.SqOff.RingMask);
        _cqHead = (uint*)(cqRing + p.CqOff.Head);
        _cqTail = (uint*)(cqRing + p.CqOff.Tail);
        _cqFlags = p.CqOff.Flags == 0 ? null : (uint*)(cqRing + p.CqOff.Flags);
        _cqes = (IoUringCqe*)(cqRing + p.CqOff.Cqes);
        _cqMask = *(uint*)(cqRing + p.CqOff.RingMask);

        WaitWithExtArg = (p.Features & IORING_FEAT_EXT_ARG) != 0;
        _sqeTail = *_sqTail;
        _cqHeadLocal = *_cqHead;

        // Without IORING_SETUP_NO_SQARRAY the kernel reads SQE indices from sq_array. SQEs are used in ring order,
        // so a fixed identity map (slot i holds i) is written once and never touched again.
        if ((p.Flags & IORING_SETUP_NO_SQARRAY) == 0)
        {
            uint* array = (uint*)(sqRing + p.SqOff.Array);
            for (uint i = 0; i < p.SqEntries; i++) array[i] = i;
        }
    }

    /// <summary>
    /// Tries to set up a ring with <paramref name="entries"/> submission entries (rounded up to a power of two by the
    /// kernel) and a completion queue of twice that. Returns false, with a one-line reason in
    /// <paramref name="whyNot"/> (for example <c>io_uring_setup: ENOSYS (kernel without io_uring)</c>, or EPERM when
    /// a seccomp filter or <c>/proc/sys/kernel/io_uring_disabled</c> forbids it), when the kernel refuses io_uring.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="entries"/> is 0 or above 32768.</exception>
    public static bool TryCreate(uint entries, out IoUring? ring, out string? whyNot)
    {
        ring = TryCreateCore(entries, SetupAttempts, out _, out _, out whyNot);
        return ring is not null;
    }

    /// <summary>Sets up a ring with exactly <paramref name="setupFlags"/>, no fallback: for tests of the paths older kernels take.</summary>
    internal static IoUring? TryCreateWithFlags(uint entries, uint setupFlags, out string? whyNot)
        => TryCreateCore(entries, [setupFlags], out _, out _, out whyNot);

    // The optional flags, newest first: each EINVAL drops the newest one left (an older kernel rejects flags it does
    // not know rather than ignoring them). CQSIZE (5.5) stays: the CQ must have room for two SQs' worth of completions
    // so a full SQ can be submitted while the previous batch is still unreaped.
    private static ReadOnlySpan<uint> SetupAttempts =>
    [
        IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_NO_SQARRAY,
        IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
        IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL,
        IORING_SETUP_CQSIZE,
    ];

    /// <summary>Sets up a ring as <see cref="TryCreate"/> does.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="entries"/> is 0 or above 32768.</exception>
    /// <exception cref="LinuxException">The kernel refused io_uring.</exception>
    public static IoUring Create(uint entries)
        => TryCreateCore(entries, SetupAttempts, out string? call, out int errno, out _) ?? throw new LinuxException(call!, errno);

    /// <summary>Sets up and maps a ring, or returns null with the failed call, its errno and a one-line reason.</summary>
    private static IoUring? TryCreateCore(uint entries, ReadOnlySpan<uint> attempts, out string? call, out int errno, out string? whyNot)
    {
        ArgumentOutOfRangeException.ThrowIfZero(entries);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(entries, MaxEntries);

        IoUringParams p = default;
        int fd = -1;
        errno = 0;
        call = "io_uring_setup";
        foreach (uint flags in attempts)
        {
            p = default;
            p.Flags = flags;
            p.CqEntries = 2 * BitOperations.RoundUpToPowerOf2(entries);
            fd = LibC.io_uring_setup(entries, &p);
            if (fd >= 0) break;
            errno = Marshal.GetLastPInvokeError();
            if (errno != Errno.EINVAL) break;
        }
        if (fd < 0)
        {
            whyNot = $"{call}: {Errno.GetName(errno) ?? $"errno {errno}"}{ExplainSetupError(errno)}";
            return null;
        }

        // Without NODROP (before 5.5) completions that find the CQ full are dropped, and a dropped completion is an
        // I/O whose buffer we could never reclaim. Every kernel that takes CQSIZE has it; this is a belt and braces check.
        if ((p.Features & IORING_FEAT_NODROP) == 0)
        {
            LibC.close(fd);
            errno = Errno.EOPNOTSUPP;
            whyNot = "io_uring_setup: kernel without IORING_FEAT_NODROP (it could drop completions)";
            return null;
        }

        call = null;
        IoUring? ring = Map(fd, p, ref call, out errno, out whyNot);
        if (ring is null) LibC.close(fd);
        return ring;
    }

    private static string ExplainSetupError(int errno) => errno switch
    {
        Errno.ENOSYS => " (kernel without io_uring)",
        Errno.EPERM => " (io_uring forbidden by /proc/sys/kernel/io_uring_disabled or a seccomp filter)",
        Errno.EACCES => " (io_uring forbidden by a security module)",
        Errno.ENOMEM => " (out of memory, or RLIMIT_MEMLOCK too low on a kernel before 5.12)",
        Errno.EMFILE or Errno.ENFILE => " (out of file descriptors)",
        Errno.EINVAL => " (kernel too old for IORING_SETUP_CQSIZE)",
        _ => "",
    };

    /// <summary>Maps the rings and the SQE array (liburing's io_uring_mmap); on failure unmaps what it mapped.</summary>
    private static IoUring? Map(int fd, in IoUringParams p, ref string? call, out int errno, out string? whyNot)
    {
        const int Prot = LibC.PROT_READ | LibC.PROT_WRITE;
        const int Flags = LibC.MAP_SHARED | LibC.MAP_POPULATE;
        nuint cqSize = p.CqOff.Cqes + (nuint)p.CqEntries * (nuint)sizeof(IoUringCqe);
        // With NO_SQARRAY the SQ ring has no array at its end; its fields lie in the same header as the CQ's.
        nuint sqSize = (p.Flags & IORING_SETUP_NO_SQARRAY) != 0
            ? cqSize
            : p.SqOff.Array + (nuint)p.SqEntries * sizeof(uint);
        bool single = (p.Features & IORING_FEAT_SINGLE_MMAP) != 0;
        if (single) sqSize = cqSize = Math.Max(sqSize, cqSize);

        byte* sq = null, cq = null;
        void* sqes = null;
        nuint sqesSize = (nuint)p.SqEntries * (nuint)sizeof(IoUringSqe);
        call = "mmap(IORING_OFF_SQ_RING)";
        void* m = LibC.mmap(null, sqSize, Prot, Flags, fd, IORING_OFF_SQ_RING);
        if (m != LibC.MAP_FAILED)
        {
            sq = (byte*)m;
            if (single)
            {
                cq = sq;
            }
            else
            {
                call = "mmap(IORING_OFF_CQ_RING)";
                m = LibC.mmap(null, cqSize, Prot, Flags, fd, IORING_OFF_CQ_RING);
                if (m != LibC.MAP_FAILED) cq = (byte*)m;
            }
            if (cq != null)
            {
                call = "mmap(IORING_OFF_SQES)";
                m = LibC.mmap(null, sqesSize, Prot, Flags, fd, IORING_OFF_SQES);
                if (m != LibC.MAP_FAILED) sqes = m;
            }
        }
        if (sqes == null)
        {
            errno = Marshal.GetLastPInvokeError();
            if (cq != null && cq != sq) LibC.munmap(cq, cqSize);
            if (sq != null) LibC.munmap(sq, sqSize);
            whyNot = $"{call}: {Errno.GetName(errno) ?? $"errno {errno}"}";
            return null;
        }
        call = null;
        errno = 0;
        whyNot = null;
        return new IoUring(fd, p, sq, sqSize, single ? sq : cq, single ? 0 : cqSize, (IoUringSqe*)sqes, sqesSize);
    }

    /// <summary>
    /// The ring's file descriptor. It polls readable (POLLIN) while a completion is ready, so an idle owner can sleep
    /// in <c>poll</c>/<c>epoll</c> on it alongside other fds.
    /// </summary>
    public int Fd
    {
        get
        {
            ThrowIfDisposed();
            return _fd;
        }
    }

    /// <summary>The number of submission queue entries (the requested count rounded up to a power of two).</summary>
    public uint SubmissionEntries { get; }

    /// <summary>The number of completion queue entries (twice <see cref="SubmissionEntries"/>).</summary>
    public uint CompletionEntries { get; }

    /// <summary>The kernel's <c>io_uring_params.features</c> (IORING_FEAT_* bits: SINGLE_MMAP = 1, NODROP = 2, EXT_ARG = 0x100...).</summary>
    public uint Features { get; }

    /// <summary>The io_uring_setup flags the kernel accepted (IORING_SETUP_*), after dropping those an older kernel refused.</summary>
    internal uint SetupFlags => _setupFlags;

    /// <summary>Whether <see cref="SubmitAndWait"/> bounds its wait in the kernel (IORING_FEAT_EXT_ARG) rather than with poll; tests turn it off.</summary>
    internal bool WaitWithExtArg { get; set; }

    /// <summary>The SQ ring's flags word as the kernel last wrote it (IORING_SQ_CQ_OVERFLOW, IORING_SQ_TASKRUN...).</summary>
    internal uint KernelSqFlags => Volatile.Read(ref *_sqFlags);

    /// <summary>Free SQ slots now: <see cref="SubmissionEntries"/> less the SQEs prepared and not yet consumed by the kernel.</summary>
    public int SubmissionSpace
    {
        get
        {
            ThrowIfDisposed();
            return (int)(SubmissionEntries - (_sqeTail - Volatile.Read(ref *_sqHead)));
        }
    }

    /// <summary>SQEs prepared and not yet consumed by the kernel (a <see cref="Submit"/> that hit EAGAIN leaves some).</summary>
    public int Prepared
    {
        get
        {
            ThrowIfDisposed();
            return (int)(_sqeTail - Volatile.Read(ref *_sqHead));
        }
    }

    /// <summary>
    /// The <c>io_uring_enter</c> calls made so far (submits, waits, and flushes of completions the kernel held back), so
    /// a caller can check that an idle turn costs no system call.
    /// </summary>
    public long Enters => _enters;

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed != 0, this);

    /// <summary>
    /// Unmaps the rings and closes the ring fd, which makes the kernel cancel whatever is still in flight and drop the
    /// registered files and buffers. Idempotent.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        LibC.munmap(_sqes, _sqesSize);
        if (_cqRingSize != 0) LibC.munmap(_cqRing, _cqRingSize);
        LibC.munmap(_sqRing, _sqRingSize);
        _sqes = null;
        _sqRing = _cqRing = null;
        LibC.close(_fd);
    }
}
