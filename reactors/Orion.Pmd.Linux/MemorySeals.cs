using System.Runtime.InteropServices;
using Orion.Pmd.Linux.Interop;

namespace Orion.Pmd.Linux;

/// <summary>The file seals of <c>fcntl(F_ADD_SEALS)</c> (memfd and shmem files; hugetlbfs memfds since Linux 4.16).</summary>
[Flags]
public enum MemorySeal
{
    /// <summary>No seal.</summary>
    None = 0,
    /// <summary>F_SEAL_SEAL: no further seal can be added.</summary>
    Seal = 0x1,
    /// <summary>F_SEAL_SHRINK: the file can never become smaller (so a mapping of it never turns into SIGBUS).</summary>
    Shrink = 0x2,
    /// <summary>F_SEAL_GROW: the file can never become larger.</summary>
    Grow = 0x4,
    /// <summary>F_SEAL_WRITE: the contents can never change.</summary>
    Write = 0x8,
    /// <summary>F_SEAL_FUTURE_WRITE: no new writable mapping or write(2); existing mappings keep writing.</summary>
    FutureWrite = 0x10,
}

/// <summary>
/// Reads and adds file seals. A process that maps memory another process handed over (a vhost-user back-end mapping
/// a front-end's memfd) needs <see cref="MemorySeal.Shrink"/>: without it the owner can truncate the file and the
/// next access in the mapping raises SIGBUS, which no managed code can survive.
/// </summary>
public static class MemorySeals
{
    /// <summary>The seals on <paramref name="fd"/>, or null when the fd cannot carry any (a regular file, a pipe, a socket).</summary>
    public static MemorySeal? Get(int fd)
    {
        int seals = LibC.fcntl(fd, LibC.F_GET_SEALS, 0);
        if (seals >= 0) return (MemorySeal)seals;
        int errno = Marshal.GetLastPInvokeError();
        if (errno == Errno.EINVAL) return null;
        throw new LinuxException("fcntl(F_GET_SEALS)", errno);
    }

    /// <summary>Adds <paramref name="seals"/> to <paramref name="fd"/> (which must be open for writing and not carry <see cref="MemorySeal.Seal"/>).</summary>
    public static void Add(int fd, MemorySeal seals)
    {
        if (LibC.fcntl(fd, LibC.F_ADD_SEALS, (int)seals) != 0) throw LinuxException.FromLastError("fcntl(F_ADD_SEALS)");
    }

    /// <summary>
    /// Makes sure <paramref name="fd"/> can never shrink: true when it carries <see cref="MemorySeal.Shrink"/>, already
    /// or added here; false, with <paramref name="reason"/> naming what the fd is and what would do, when it cannot.
    /// </summary>
    public static bool TryPreventShrinking(int fd, out string reason)
    {
        reason = "";
        MemorySeal? seals;
        try
        {
            seals = Get(fd);
        }
        catch (LinuxException e)
        {
            reason = $"its seals cannot be read ({e.Message})";
            return false;
        }
        if (seals is null)
        {
            reason = "it cannot be sealed (not a memfd or shmem file: a regular or hugetlbfs file, say), so its owner could truncate it; " +
                     "send a memfd created with MFD_ALLOW_SEALING or sealed with F_SEAL_SHRINK";
            return false;
        }
        if (seals.Value.HasFlag(MemorySeal.Shrink)) return true;
        if (seals.Value.HasFlag(MemorySeal.Seal))
        {
            reason = $"it carries F_SEAL_SEAL but not F_SEAL_SHRINK (seals {seals.Value}), so its owner could truncate it; " +
                     "seal it with F_SEAL_SHRINK before F_SEAL_SEAL, or create the memfd with MFD_ALLOW_SEALING";
            return false;
        }
        try
        {
            Add(fd, MemorySeal.Shrink);
            return true;
        }
        catch (LinuxException e)
        {
            reason = $"F_SEAL_SHRINK could not be added ({e.Message}); send it sealed with F_SEAL_SHRINK";
            return false;
        }
    }
}
