using System.Runtime.InteropServices;

namespace Orion.Pmd.Linux.Interop;

/// <summary>The file calls behind <see cref="BlockFile"/>: open, positional I/O, sync, fallocate and statx.</summary>
internal static unsafe partial class LibC
{
    internal const int O_RDONLY = 0;
    internal const int O_RDWR = 2;
    internal const int O_CREAT = 0x40;
    internal const int O_EXCL = 0x80;
    internal const int O_CLOEXEC = 0x80000;

    /// <summary>O_DIRECT is one of the few flags that differ between the two architectures.</summary>
    internal static int O_DIRECT => RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 0x10000 : 0x4000;

    internal const int SEEK_END = 2;

    internal const int FALLOC_FL_KEEP_SIZE = 0x01;
    internal const int FALLOC_FL_PUNCH_HOLE = 0x02;
    internal const int FALLOC_FL_ZERO_RANGE = 0x10;

    internal const int AT_EMPTY_PATH = 0x1000;
    internal const uint STATX_TYPE = 0x0001;
    internal const uint STATX_MODE = 0x0002;
    internal const uint STATX_SIZE = 0x0200;
    internal const uint STATX_DIOALIGN = 0x2000;

    internal const int S_IFMT = 0xF000;
    internal const int S_IFREG = 0x8000;
    internal const int S_IFBLK = 0x6000;

    // open is variadic in C (the mode only matters with O_CREAT); a fixed third argument is ABI-compatible on
    // x86-64 and aarch64, as for fcntl. On 64-bit glibc open and open64 are the same function.
    [LibraryImport(Lib, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int open(string path, int flags, uint mode);

    [LibraryImport(Lib, EntryPoint = "pread64", SetLastError = true)]
    internal static partial nint pread(int fd, void* buf, nuint count, long offset);

    [LibraryImport(Lib, EntryPoint = "pwrite64", SetLastError = true)]
    internal static partial nint pwrite(int fd, void* buf, nuint count, long offset);

    [LibraryImport(Lib, EntryPoint = "lseek64", SetLastError = true)]
    internal static partial long lseek(int fd, long offset, int whence);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int fdatasync(int fd);

    [LibraryImport(Lib, EntryPoint = "fallocate64", SetLastError = true)]
    internal static partial int fallocate(int fd, int mode, long offset, long length);

    // glibc 2.28+ wraps statx; struct statx has the same layout on every architecture (unlike struct stat).
    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int statx(int dirfd, string path, int flags, uint mask, Statx* buffer);
}

/// <summary>struct statx (256 bytes, the same on every Linux architecture); only the fields we read are named.</summary>
[StructLayout(LayoutKind.Explicit, Size = 256)]
internal struct Statx
{
    [FieldOffset(0)] public uint Mask;
    [FieldOffset(4)] public uint BlockSize;
    [FieldOffset(28)] public ushort Mode;
    [FieldOffset(40)] public ulong Size;
    [FieldOffset(128)] public uint RdevMajor;
    [FieldOffset(132)] public uint RdevMinor;
    [FieldOffset(136)] public uint DevMajor;
    [FieldOffset(140)] public uint DevMinor;
    [FieldOffset(152)] public uint DioMemAlign;
    [FieldOffset(156)] public uint DioOffsetAlign;
}
