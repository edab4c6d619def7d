using System.Runtime.InteropServices;

namespace Orion.Pmd.Linux.Interop;

/// <summary>
/// The VFIO ioctls (linux/vfio.h, API version 0): <c>_IO(';', 100 + n)</c>, the same numbers on every architecture,
/// and the argument structures they take. No NuGet package wraps VFIO, so these are hand-written like the rest of
/// <see cref="LibC"/>.
/// </summary>
internal static unsafe partial class LibC
{
    private const uint VfioBase = (';' << 8) | 100;
    internal const uint VFIO_GET_API_VERSION = VfioBase + 0;
    internal const uint VFIO_CHECK_EXTENSION = VfioBase + 1;
    internal const uint VFIO_SET_IOMMU = VfioBase + 2;
    internal const uint VFIO_GROUP_GET_STATUS = VfioBase + 3;
    internal const uint VFIO_GROUP_SET_CONTAINER = VfioBase + 4;
    internal const uint VFIO_GROUP_GET_DEVICE_FD = VfioBase + 6;
    internal const uint VFIO_DEVICE_GET_INFO = VfioBase + 7;
    internal const uint VFIO_DEVICE_GET_REGION_INFO = VfioBase + 8;
    internal const uint VFIO_DEVICE_GET_IRQ_INFO = VfioBase + 9;
    internal const uint VFIO_DEVICE_SET_IRQS = VfioBase + 10;
    internal const uint VFIO_DEVICE_RESET = VfioBase + 11;
    internal const uint VFIO_IOMMU_MAP_DMA = VfioBase + 13;
    internal const uint VFIO_IOMMU_UNMAP_DMA = VfioBase + 14;

    internal const int VFIO_API_VERSION = 0;
    internal const int VFIO_TYPE1_IOMMU = 1;
    internal const int VFIO_TYPE1v2_IOMMU = 3;
    internal const uint VFIO_GROUP_FLAGS_VIABLE = 1;
    internal const uint VFIO_DEVICE_FLAGS_RESET = 1;
    internal const uint VFIO_DEVICE_FLAGS_PCI = 2;
    internal const uint VFIO_REGION_INFO_FLAG_READ = 1;
    internal const uint VFIO_REGION_INFO_FLAG_WRITE = 2;
    internal const uint VFIO_REGION_INFO_FLAG_MMAP = 4;
    internal const uint VFIO_IRQ_INFO_EVENTFD = 1;
    internal const uint VFIO_IRQ_SET_DATA_NONE = 1;
    internal const uint VFIO_IRQ_SET_DATA_EVENTFD = 4;
    internal const uint VFIO_IRQ_SET_ACTION_TRIGGER = 32;
    internal const uint VFIO_DMA_MAP_FLAG_READ = 1;
    internal const uint VFIO_DMA_MAP_FLAG_WRITE = 2;

    // ioctl is variadic in C; one pointer-sized argument in a fixed position is ABI-compatible on x86-64 and aarch64,
    // as for fcntl. Ioctls taking an int by value pass it in the same register.
    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int ioctl(int fd, nuint request, nint arg);
}

/// <summary>struct vfio_group_status.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct VfioGroupStatus
{
    public uint ArgSz, Flags;
}

/// <summary>struct vfio_device_info (without the 5.x cap_offset tail, which argsz leaves out).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct VfioDeviceInfo
{
    public uint ArgSz, Flags, NumRegions, NumIrqs;
}

/// <summary>struct vfio_region_info.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct VfioRegionInfo
{
    public uint ArgSz, Flags, Index, CapOffset;
    public ulong Size, Offset;
}

/// <summary>struct vfio_irq_info.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct VfioIrqInfo
{
    public uint ArgSz, Flags, Index, Count;
}

/// <summary>struct vfio_irq_set without its variable data (the eventfds follow it in the same buffer).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct VfioIrqSet
{
    public uint ArgSz, Flags, Index, Start, Count;
}

/// <summary>struct vfio_iommu_type1_dma_map.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct VfioDmaMap
{
    public uint ArgSz, Flags;
    public ulong Vaddr, Iova, Size;
}

/// <summary>struct vfio_iommu_type1_dma_unmap.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct VfioDmaUnmap
{
    public uint ArgSz, Flags;
    public ulong Iova, Size;
}
