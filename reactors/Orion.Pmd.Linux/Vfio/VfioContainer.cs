using Orion.Pmd.Linux.Interop;

namespace Orion.Pmd.Linux.Vfio;

/// <summary>
/// A VFIO container (<c>/dev/vfio/vfio</c>) with the type1 IOMMU: the address space the devices of its groups DMA
/// into. <see cref="MapDma"/> maps process memory at an I/O virtual address (the address the device is given);
/// every mapping still present is unmapped on <see cref="Dispose"/>, before the container closes.
/// </summary>
public sealed unsafe class VfioContainer : IDisposable
{
    /// <summary>The container device node.</summary>
    public const string Path = "/dev/vfio/vfio";

    private readonly Dictionary<ulong, ulong> _mappings = [];
    private int _fd;
    private bool _iommuSet;

    private VfioContainer(int fd) => _fd = fd;

    /// <summary>The container's fd.</summary>
    public int Fd => _fd >= 0 ? _fd : throw new ObjectDisposedException(nameof(VfioContainer));

    /// <summary>
    /// Opens the container and checks the API version and the type1 extension; throws <see cref="VfioException"/>
    /// saying what is wrong (module not loaded, not root, no type1 IOMMU) and what would be right.
    /// </summary>
    public static VfioContainer Open()
    {
        int fd = LibC.open(Path, LibC.O_RDWR | LibC.O_CLOEXEC, 0);
        if (fd < 0)
        {
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            throw new VfioException($"opening {Path}", errno, errno switch
            {
                Errno.ENOENT => $"there is no {Path}: load the vfio-pci module (modprobe vfio-pci)",
                Errno.EACCES or Errno.EPERM => $"no access to {Path}: run as root (or give this user {Path} and /dev/vfio/GROUP)",
                _ => $"{Path} cannot be opened",
            });
        }
        var container = new VfioContainer(fd);
        try
        {
            int version = LibC.ioctl(fd, LibC.VFIO_GET_API_VERSION, 0);
            if (version != LibC.VFIO_API_VERSION)
                throw new VfioException($"the kernel's VFIO API version is {version}; Orion speaks version {LibC.VFIO_API_VERSION} (linux/vfio.h)");
            if (LibC.ioctl(fd, LibC.VFIO_CHECK_EXTENSION, LibC.VFIO_TYPE1v2_IOMMU) <= 0 && LibC.ioctl(fd, LibC.VFIO_CHECK_EXTENSION, LibC.VFIO_TYPE1_IOMMU) <= 0)
                throw new VfioException("the kernel offers no type1 IOMMU for VFIO: enable the IOMMU (intel_iommu=on or amd_iommu=on; in QEMU " +
                                        "-machine q35 -device intel-iommu,intremap=off) and load vfio_iommu_type1");
            return container;
        }
        catch
        {
            container.Dispose();
            throw;
        }
    }

    /// <summary>Selects the type1 IOMMU (v2 where the kernel has it); a group must have joined the container first.</summary>
    internal void SetIommu()
    {
        if (_iommuSet) return;
        int type = LibC.ioctl(Fd, LibC.VFIO_CHECK_EXTENSION, LibC.VFIO_TYPE1v2_IOMMU) > 0 ? LibC.VFIO_TYPE1v2_IOMMU : LibC.VFIO_TYPE1_IOMMU;
        if (LibC.ioctl(Fd, LibC.VFIO_SET_IOMMU, type) != 0)
        {
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            throw new VfioException("VFIO_SET_IOMMU (type1)", errno, errno == Errno.EPERM
                ? "the platform has no interrupt remapping, so the kernel will not give a device to user space: enable it (QEMU: " +
                  "-device intel-iommu,intremap=on) or, knowing the risk, load vfio_iommu_type1 with allow_unsafe_interrupts=1"
                : "the container's group has no IOMMU behind it: enable the IOMMU (intel_iommu=on or amd_iommu=on)");
        }
        _iommuSet = true;
    }

    /// <summary>
    /// Maps <paramref name="length"/> bytes of this process at <paramref name="host"/> for the device to read and write
    /// at I/O virtual address <paramref name="iova"/>. The pages are pinned (they count against RLIMIT_MEMLOCK for a
    /// process without CAP_IPC_LOCK).
    /// </summary>
    public void MapDma(nint host, ulong iova, ulong length)
    {
        if (!_iommuSet) throw new InvalidOperationException("no IOMMU is set on the container yet: open a group into it first (VfioGroup.Open)");
        if (length == 0 || (iova & 0xfff) != 0 || (length & 0xfff) != 0 || (host & 0xfff) != 0)
            throw new ArgumentException($"a DMA mapping must be whole 4 KiB pages: host 0x{host:x}, iova 0x{iova:x}, length {length}");
        var map = new VfioDmaMap
        {
            ArgSz = (uint)sizeof(VfioDmaMap), Flags = LibC.VFIO_DMA_MAP_FLAG_READ | LibC.VFIO_DMA_MAP_FLAG_WRITE,
            Vaddr = (ulong)host, Iova = iova, Size = length,
        };
        if (LibC.ioctl(Fd, LibC.VFIO_IOMMU_MAP_DMA, (nint)(&map)) != 0)
        {
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            throw new VfioException($"VFIO_IOMMU_MAP_DMA of {length} bytes at iova 0x{iova:x}", errno, errno switch
            {
                Errno.ENOMEM => "the pages cannot be pinned: raise RLIMIT_MEMLOCK (ulimit -l) or run as root, or give the engine less memory",
                Errno.EINVAL or Errno.EFAULT => $"the IOMMU does not take iova [0x{iova:x}, +0x{length:x}): its address width may be too small (QEMU intel-iommu aw-bits=48) or the range overlaps a reserved one",
                Errno.EEXIST => $"iova 0x{iova:x} is mapped already",
                _ => "the IOMMU refused the mapping",
            });
        }
        _mappings[iova] = length;
    }

    /// <summary>Unmaps the mapping made at <paramref name="iova"/>; the device can no longer reach that memory.</summary>
    public void UnmapDma(ulong iova)
    {
        if (!_mappings.Remove(iova, out ulong length)) throw new ArgumentException($"nothing is mapped at iova 0x{iova:x}");
        Unmap(iova, length);
    }

    /// <summary>Bytes mapped for DMA now.</summary>
    public ulong MappedBytes => _mappings.Values.Aggregate(0UL, (a, b) => a + b);

    private void Unmap(ulong iova, ulong length)
    {
        var unmap = new VfioDmaUnmap { ArgSz = (uint)sizeof(VfioDmaUnmap), Iova = iova, Size = length };
        if (LibC.ioctl(Fd, LibC.VFIO_IOMMU_UNMAP_DMA, (nint)(&unmap)) != 0) throw LinuxException.FromLastError("VFIO_IOMMU_UNMAP_DMA");
    }

    /// <summary>Unmaps every mapping still present (while the group is still in the container, so the IOMMU is still there).</summary>
    public void UnmapAll()
    {
        if (_fd < 0) return;
        foreach (var (iova, length) in _mappings)
        {
            try { Unmap(iova, length); }
            catch (LinuxException) { }           // closing the container drops the mappings anyway
        }
        _mappings.Clear();
    }

    /// <summary>Unmaps every mapping still present, then closes the container.</summary>
    public void Dispose()
    {
        if (_fd < 0) return;
        UnmapAll();
        FileDescriptor.Close(_fd);
        _fd = -1;
    }
}
