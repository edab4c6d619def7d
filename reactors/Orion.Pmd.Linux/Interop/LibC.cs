using System.Runtime.InteropServices;

namespace Orion.Pmd.Linux.Interop;

/// <summary>
/// Every libc entry point the platform layer uses, hand-written so it stays AOT-friendly and has no
/// package dependency. Nothing outside this assembly sees these: the public types wrap them.
/// Constants are the x86-64 / aarch64 Linux values (identical on both for everything here).
/// </summary>
internal static unsafe partial class LibC
{
    // "libc" resolves to libc.so.6 after the linker-script libc.so fails to load (checked on this machine).
    private const string Lib = "libc";

    internal const uint MFD_CLOEXEC = 0x0001;
    internal const uint MFD_ALLOW_SEALING = 0x0002;
    internal const int F_ADD_SEALS = 1033;
    internal const int F_GET_SEALS = 1034;
    internal const int PROT_READ = 0x1;
    internal const int PROT_WRITE = 0x2;
    internal const int MAP_SHARED = 0x01;
    internal const int F_GETFL = 3;
    internal const int F_SETFL = 4;
    internal const int F_DUPFD_CLOEXEC = 1030;
    internal const int O_NONBLOCK = 0x800;
    internal const int EFD_NONBLOCK = 0x800;
    internal const int EFD_CLOEXEC = 0x80000;
    internal const short POLLIN = 0x001;
    internal const short POLLERR = 0x008;
    internal const short POLLHUP = 0x010;
    internal const short POLLNVAL = 0x020;
    internal const int RUSAGE_SELF = 0;
    internal const int RUSAGE_THREAD = 1;

    /// <summary>MAP_FAILED is (void*)-1, not null.</summary>
    internal static readonly void* MAP_FAILED = (void*)-1;

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int memfd_create(string name, uint flags);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int ftruncate(int fd, long length);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial void* mmap(void* addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int munmap(void* addr, nuint length);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int close(int fd);

    // fcntl is variadic in C; passing the optional int as a fixed argument is ABI-compatible on
    // x86-64 and aarch64 Linux (integer register, and AL only gates saving vector registers).
    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int fcntl(int fd, int cmd, int arg);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int eventfd(uint initval, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial nint read(int fd, void* buf, nuint count);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial nint write(int fd, void* buf, nuint count);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int poll(PollFd* fds, nuint nfds, int timeout);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int sched_getaffinity(int pid, nuint cpusetsize, ulong* mask);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int sched_setaffinity(int pid, nuint cpusetsize, ulong* mask);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int sched_getcpu();

    // glibc 2.36 exports gettid; it cannot fail.
    [LibraryImport(Lib)]
    internal static partial int gettid();

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int getrusage(int who, RUsage* usage);
}
