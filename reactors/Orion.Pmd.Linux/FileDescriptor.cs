using System.Runtime.InteropServices;
using Orion.Pmd.Linux.Interop;

namespace Orion.Pmd.Linux;

/// <summary>Raw fd operations for handing fds between owners.</summary>
public static class FileDescriptor
{
    /// <summary>Duplicates <paramref name="fd"/> with close-on-exec set (<c>fcntl(F_DUPFD_CLOEXEC)</c>); the caller owns the result.</summary>
    public static int Duplicate(int fd)
    {
        int dup = LibC.fcntl(fd, LibC.F_DUPFD_CLOEXEC, 0);
        if (dup < 0) throw LinuxException.FromLastError("fcntl(F_DUPFD_CLOEXEC)");
        return dup;
    }

    /// <summary>
    /// Closes <paramref name="fd"/>. EINTR is not retried: on Linux the fd is released even then, and a retry
    /// could close an fd another thread just got.
    /// </summary>
    public static void Close(int fd)
    {
        if (LibC.close(fd) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno != Errno.EINTR) throw new LinuxException("close", errno);
        }
    }
}
