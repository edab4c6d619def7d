using System.Runtime.InteropServices;
using Orion.Pmd.Linux.Interop;

namespace Orion.Pmd.Linux.Vfio;

/// <summary>
/// A VFIO group (<c>/dev/vfio/N</c>): the IOMMU group of a device, joined to a container. It is usable only when
/// viable: every device in the group bound to vfio-pci (or to no driver).
/// </summary>
public sealed class VfioGroup : IDisposable
{
    private int _fd;

    private VfioGroup(int number, int fd)
    {
        Number = number;
        _fd = fd;
    }

    /// <summary>The IOMMU group number.</summary>
    public int Number { get; }

    /// <summary>
    /// Opens group <paramref name="number"/>, checks it is viable, joins it to <paramref name="container"/> and sets the
    /// container's type1 IOMMU. Throws <see cref="VfioException"/> with the reason and the remedy.
    /// </summary>
    public static unsafe VfioGroup Open(int number, VfioContainer container)
    {
        string path = $"/dev/vfio/{number}";
        int fd = LibC.open(path, LibC.O_RDWR | LibC.O_CLOEXEC, 0);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new VfioException($"opening {path}", errno, errno switch
            {
                Errno.ENOENT => $"there is no {path}: no device of IOMMU group {number} is bound to vfio-pci (tools/orion-vfio-bind.sh bind ADDRESS)",
                Errno.EBUSY => $"group {number} is open in another process already (another engine, or QEMU, drives it): stop that one first",
                Errno.EACCES or Errno.EPERM => $"no access to {path}: run as root (or give this user {path})",
                _ => $"{path} cannot be opened",
            });
        }
        var group = new VfioGroup(number, fd);
        try
        {
            var status = new VfioGroupStatus { ArgSz = (uint)sizeof(VfioGroupStatus) };
            if (LibC.ioctl(fd, LibC.VFIO_GROUP_GET_STATUS, (nint)(&status)) != 0) throw LinuxException.FromLastError("VFIO_GROUP_GET_STATUS");
            if ((status.Flags & LibC.VFIO_GROUP_FLAGS_VIABLE) == 0)
                throw new VfioException($"IOMMU group {number} is not viable: every device in it (/sys/kernel/iommu_groups/{number}/devices) must be " +
                                        "bound to vfio-pci or to no driver; unbind the others from their drivers");
            int containerFd = container.Fd;
            if (LibC.ioctl(fd, LibC.VFIO_GROUP_SET_CONTAINER, (nint)(&containerFd)) != 0)
                throw VfioException.FromLastError($"VFIO_GROUP_SET_CONTAINER (group {number})", "the group cannot join the container (it is in another one already?)");
            container.SetIommu();
            return group;
        }
        catch
        {
            group.Dispose();
            throw;
        }
    }

    /// <summary>Opens the device <paramref name="address"/> of this group (VFIO_GROUP_GET_DEVICE_FD); the caller owns the fd.</summary>
    internal int OpenDeviceFd(string address)
    {
        nint name = Marshal.StringToCoTaskMemUTF8(address);
        try
        {
            int fd = LibC.ioctl(_fd >= 0 ? _fd : throw new ObjectDisposedException(nameof(VfioGroup)), LibC.VFIO_GROUP_GET_DEVICE_FD, name);
            if (fd < 0)
                throw VfioException.FromLastError($"VFIO_GROUP_GET_DEVICE_FD ({address})",
                    $"group {Number} has no device {address} bound to vfio-pci, or it is open already");
            return fd;
        }
        finally { Marshal.FreeCoTaskMem(name); }
    }

    /// <summary>Closes the group; the kernel takes it out of its container.</summary>
    public void Dispose()
    {
        if (_fd < 0) return;
        FileDescriptor.Close(_fd);
        _fd = -1;
    }
}
