using System.Runtime.InteropServices;

namespace Orion.Pmd.Linux.Interop;

/// <summary>
/// The three io_uring system calls. glibc has no wrappers for them (liburing makes its own), so they go through
/// <c>syscall(2)</c>, which returns -1 and sets errno on failure like any libc call.
/// </summary>
internal static unsafe partial class LibC
{
    // The unified syscall table (5.1+) gives io_uring the same numbers on x86-64 and aarch64 (and every other
    // architecture but alpha): 425 setup, 426 enter, 427 register.
    private const long SYS_io_uring_setup = 425;
    private const long SYS_io_uring_enter = 426;
    private const long SYS_io_uring_register = 427;

    internal const int MAP_POPULATE = 0x8000;   // the same on x86-64 and aarch64

    // syscall is variadic in C. Passing six fixed pointer-sized arguments is ABI-compatible on x86-64 and aarch64
    // Linux (integer registers; on x86-64 AL only gates saving vector registers), and glibc always loads six longs
    // from the va_list, so unused ones are zero rather than garbage. Every argument is widened to 64 bits here so
    // the upper half of a register never carries junk into the kernel.
    [LibraryImport(Lib, EntryPoint = "syscall", SetLastError = true)]
    private static partial long syscall6(long number, nint a1, nint a2, nint a3, nint a4, nint a5, nint a6);

    /// <summary>io_uring_setup(entries, params): the new ring's fd, or -1 with errno.</summary>
    internal static int io_uring_setup(uint entries, IoUringParams* p)
        => (int)syscall6(SYS_io_uring_setup, (nint)entries, (nint)p, 0, 0, 0, 0);

    /// <summary>io_uring_enter(fd, to_submit, min_complete, flags, arg, argsz): SQEs consumed, or -1 with errno.</summary>
    internal static int io_uring_enter(int fd, uint toSubmit, uint minComplete, uint flags, void* arg, nuint argSize)
        => (int)syscall6(SYS_io_uring_enter, fd, (nint)toSubmit, (nint)minComplete, (nint)flags, (nint)arg, (nint)argSize);

    /// <summary>io_uring_register(fd, opcode, arg, nr_args): 0 (or an opcode-specific value), or -1 with errno.</summary>
    internal static int io_uring_register(int fd, uint opcode, void* arg, uint count)
        => (int)syscall6(SYS_io_uring_register, fd, (nint)opcode, (nint)arg, (nint)count, 0, 0);
}
