using System.Runtime.InteropServices;

namespace Orion.Pmd.Linux.Interop;

/// <summary>
/// The io_uring constants from include/uapi/linux/io_uring.h that <see cref="IoUring"/> uses. They are the same on
/// every architecture: the ABI is made of fixed-width fields only.
/// </summary>
internal static class IoUringAbi
{
    // io_uring_setup flags.
    internal const uint IORING_SETUP_CQSIZE = 1u << 3;          // 5.5: the CQ size is ours (cq_entries)
    internal const uint IORING_SETUP_SUBMIT_ALL = 1u << 7;      // 5.18: a bad SQE does not stop the batch
    internal const uint IORING_SETUP_COOP_TASKRUN = 1u << 8;    // 5.19: no IPI to run completion task work
    internal const uint IORING_SETUP_TASKRUN_FLAG = 1u << 9;    // 5.19: ...but say so in the SQ flags
    internal const uint IORING_SETUP_NO_SQARRAY = 1u << 16;     // 6.6: SQ indices are SQE indices

    // io_uring_params.features.
    internal const uint IORING_FEAT_SINGLE_MMAP = 1u << 0;
    internal const uint IORING_FEAT_NODROP = 1u << 1;
    internal const uint IORING_FEAT_EXT_ARG = 1u << 8;

    // mmap offsets of the three regions.
    internal const long IORING_OFF_SQ_RING = 0;
    internal const long IORING_OFF_CQ_RING = 0x8000000;
    internal const long IORING_OFF_SQES = 0x10000000;

    // The SQ ring's flags word, written by the kernel.
    internal const uint IORING_SQ_CQ_OVERFLOW = 1u << 1;
    internal const uint IORING_SQ_TASKRUN = 1u << 2;

    // The CQ ring's flags word, written by us (5.8): no eventfd signal per completion while set.
    internal const uint IORING_CQ_EVENTFD_DISABLED = 1u << 0;

    // io_uring_enter flags.
    internal const uint IORING_ENTER_GETEVENTS = 1u << 0;
    internal const uint IORING_ENTER_EXT_ARG = 1u << 3;

    // Opcodes (enum io_uring_op).
    internal const byte IORING_OP_NOP = 0;
    internal const byte IORING_OP_READV = 1;
    internal const byte IORING_OP_WRITEV = 2;
    internal const byte IORING_OP_FSYNC = 3;
    internal const byte IORING_OP_READ_FIXED = 4;
    internal const byte IORING_OP_POLL_ADD = 6;
    internal const byte IORING_OP_WRITE_FIXED = 5;
    internal const byte IORING_OP_ASYNC_CANCEL = 14;
    internal const byte IORING_OP_FALLOCATE = 17;
    internal const byte IORING_OP_READ = 22;
    internal const byte IORING_OP_WRITE = 23;

    internal const uint IORING_FSYNC_DATASYNC = 1u << 0;
    internal const uint IORING_ASYNC_CANCEL_ANY = 1u << 2;

    // io_uring_register opcodes.
    internal const uint IORING_REGISTER_BUFFERS = 0;
    internal const uint IORING_UNREGISTER_BUFFERS = 1;
    internal const uint IORING_REGISTER_FILES = 2;
    internal const uint IORING_UNREGISTER_FILES = 3;
    internal const uint IORING_REGISTER_EVENTFD = 4;

    /// <summary>IORING_MAX_ENTRIES: the most SQ entries a ring may have (the CQ may have twice that).</summary>
    internal const uint MaxEntries = 32768;

    /// <summary>UIO_MAXIOV: the most iovecs one readv/writev takes.</summary>
    internal const int MaxIovecs = 1024;
}

/// <summary>struct io_sqring_offsets (40 bytes): where each SQ ring field lies in the SQ ring mapping.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct SqRingOffsets
{
    public uint Head;
    public uint Tail;
    public uint RingMask;
    public uint RingEntries;
    public uint Flags;
    public uint Dropped;
    public uint Array;
    public uint Resv1;
    public ulong UserAddr;
}

/// <summary>struct io_cqring_offsets (40 bytes): where each CQ ring field lies in the CQ ring mapping.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct CqRingOffsets
{
    public uint Head;
    public uint Tail;
    public uint RingMask;
    public uint RingEntries;
    public uint Overflow;
    public uint Cqes;
    public uint Flags;
    public uint Resv1;
    public ulong UserAddr;
}

/// <summary>struct io_uring_params (120 bytes): what we ask io_uring_setup for, and what it answers.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct IoUringParams
{
    public uint SqEntries;
    public uint CqEntries;
    public uint Flags;
    public uint SqThreadCpu;
    public uint SqThreadIdle;
    public uint Features;
    public uint WqFd;
    public fixed uint Resv[3];
    public SqRingOffsets SqOff;
    public CqRingOffsets CqOff;
}

/// <summary>
/// struct io_uring_sqe (64 bytes). The C struct is mostly unions; only the members the prepared opcodes use are named,
/// each at its union's offset. Fields no opcode here sets must stay zero (the kernel rejects stray values), which is
/// why every SQE is cleared before it is filled.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
internal struct IoUringSqe
{
    [FieldOffset(0)] public byte Opcode;
    [FieldOffset(1)] public byte Flags;
    [FieldOffset(2)] public ushort IoPrio;
    [FieldOffset(4)] public int Fd;
    [FieldOffset(8)] public ulong Off;          // union with addr2
    [FieldOffset(16)] public ulong Addr;        // union with splice_off_in
    [FieldOffset(24)] public uint Len;
    [FieldOffset(28)] public uint OpFlags;      // rw_flags, fsync_flags, cancel_flags...
    [FieldOffset(32)] public ulong UserData;
    [FieldOffset(40)] public ushort BufIndex;   // union with buf_group
    [FieldOffset(42)] public ushort Personality;
    [FieldOffset(44)] public uint FileIndex;    // union with splice_fd_in
    [FieldOffset(48)] public ulong Addr3;
    [FieldOffset(56)] public ulong Pad2;
}

/// <summary>struct io_uring_cqe (16 bytes; the ring is never set up with CQE32).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct IoUringCqe
{
    public ulong UserData;
    public int Res;
    public uint Flags;
}

/// <summary>struct __kernel_timespec (16 bytes on every architecture, unlike struct timespec).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct KernelTimespec
{
    public long Seconds;
    public long Nanoseconds;
}

/// <summary>struct io_uring_getevents_arg (24 bytes), passed with IORING_ENTER_EXT_ARG to bound a wait.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct IoUringGetEventsArg
{
    public ulong SigMask;
    public uint SigMaskSize;
    public uint MinWaitUsec;
    public ulong Ts;            // KernelTimespec*, or 0 for no timeout
}
