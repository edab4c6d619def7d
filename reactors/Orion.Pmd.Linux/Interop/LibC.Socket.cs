using System.Runtime.InteropServices;

namespace Orion.Pmd.Linux.Interop;

/// <summary>Unix-domain sockets with descriptor passing (SCM_RIGHTS), which .NET's Socket cannot do (dotnet/runtime#932).</summary>
internal static unsafe partial class LibC
{
    internal const int AF_UNIX = 1;
    internal const int SOCK_STREAM = 1;
    internal const int SOCK_CLOEXEC = 0x80000;
    internal const int SOL_SOCKET = 1;
    internal const int SCM_RIGHTS = 1;
    internal const int MSG_CTRUNC = 0x8;
    internal const int MSG_NOSIGNAL = 0x4000;
    internal const int MSG_CMSG_CLOEXEC = 0x40000000;
    internal const int SHUT_RDWR = 2;
    internal const int SO_PEERCRED = 17;
    internal const int SO_TYPE = 3;
    internal const int SO_ACCEPTCONN = 30;
    internal const int SO_DOMAIN = 39;
    internal const int F_SETFD = 2;
    internal const int FD_CLOEXEC = 1;
    internal const int SO_SNDTIMEO = 21;
    internal const short POLLRDHUP = 0x2000;
    internal const int AT_FDCWD = -100;
    internal const int AT_SYMLINK_NOFOLLOW = 0x100;
    internal const int S_IFSOCK = 0xC000;

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int socket(int domain, int type, int protocol);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int socketpair(int domain, int type, int protocol, int* sv);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int connect(int fd, SockAddrUn* addr, uint len);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int bind(int fd, SockAddrUn* addr, uint len);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int listen(int fd, int backlog);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int accept4(int fd, void* addr, void* len, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial nint sendmsg(int fd, MsgHdr* msg, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial nint recvmsg(int fd, MsgHdr* msg, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int shutdown(int fd, int how);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int getsockopt(int fd, int level, int name, void* value, uint* length);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int setsockopt(int fd, int level, int name, void* value, uint length);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int unlink(string path);
}

/// <summary>struct sockaddr_un (110 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct SockAddrUn
{
    public const int PathCapacity = 108;
    public ushort Family;
    public fixed byte Path[PathCapacity];
}

/// <summary>struct iovec.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct IoVec
{
    public void* Base;
    public nuint Length;
}

/// <summary>struct msghdr on 64-bit Linux (56 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct MsgHdr
{
    public void* Name;
    public uint NameLength;
    public IoVec* Iov;
    public nuint IovLength;
    public void* Control;
    public nuint ControlLength;
    public int Flags;
}

/// <summary>struct cmsghdr on 64-bit Linux: 16 bytes of header, then the data (CMSG_DATA).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct CmsgHdr
{
    public const int HeaderSize = 16;
    public nuint Length;
    public int Level;
    public int Type;

    /// <summary>CMSG_SPACE: room for <paramref name="dataBytes"/> bytes of data, padded to 8.</summary>
    public static int Space(int dataBytes) => HeaderSize + ((dataBytes + 7) & ~7);
}
