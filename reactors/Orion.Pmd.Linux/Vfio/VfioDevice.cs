using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Orion.Pmd.Linux.Interop;

namespace Orion.Pmd.Linux.Vfio;

/// <summary>One region of a VFIO device: a BAR, the ROM or the configuration space (VFIO_DEVICE_GET_REGION_INFO).</summary>
/// <param name="Index">The region index (PCI: BARs 0-5, ROM 6, configuration space 7).</param>
/// <param name="Size">Its length in bytes (0: absent).</param>
/// <param name="Offset">Where it lies in the device fd, for pread, pwrite and mmap.</param>
/// <param name="Flags">VFIO_REGION_INFO_FLAG_*: read 1, write 2, mmap 4.</param>
public readonly record struct VfioRegion(int Index, ulong Size, ulong Offset, uint Flags)
{
    /// <summary>Whether the region may be mmapped (as a whole, or in sparse areas the kernel lists).</summary>
    public bool Mappable => (Flags & LibC.VFIO_REGION_INFO_FLAG_MMAP) != 0;
}

/// <summary>
/// A PCI device opened through VFIO, owning its group and container: regions read and written with pread/pwrite or
/// mmapped, interrupts (MSI-X vectors) wired to eventfds, function reset. <see cref="OpenPci"/> checks what sysfs
/// says first, so a refusal names the real cause (no such function, bound to another driver, no IOMMU group).
/// </summary>
public sealed unsafe partial class VfioDevice : IDisposable
{
    /// <summary>PCI region index of the configuration space.</summary>
    public const int PciConfigRegion = 7;
    /// <summary>PCI interrupt index of MSI-X.</summary>
    public const int PciMsixIrq = 2;

    private readonly VfioContainer _container;
    private readonly VfioGroup _group;
    private readonly List<(nint Address, nuint Length)> _maps = [];
    private readonly HashSet<int> _irqsEnabled = [];
    private int _fd;

    private VfioDevice(string address, VfioContainer container, VfioGroup group, int fd, VfioDeviceInfo info)
    {
        Address = address;
        _container = container;
        _group = group;
        _fd = fd;
        RegionCount = (int)info.NumRegions;
        IrqCount = (int)info.NumIrqs;
        CanReset = (info.Flags & LibC.VFIO_DEVICE_FLAGS_RESET) != 0;
    }

    /// <summary>The PCI address (DOMAIN:BUS:SLOT.FUNC).</summary>
    public string Address { get; }
    /// <summary>The container: where the device's DMA is mapped.</summary>
    public VfioContainer Container => _container;
    /// <summary>The IOMMU group number.</summary>
    public int Group => _group.Number;
    /// <summary>Number of regions.</summary>
    public int RegionCount { get; }
    /// <summary>Number of interrupt indexes.</summary>
    public int IrqCount { get; }
    /// <summary>Whether the device supports VFIO_DEVICE_RESET (a function-level or bus reset).</summary>
    public bool CanReset { get; }

    private int Fd => _fd >= 0 ? _fd : throw new ObjectDisposedException(nameof(VfioDevice), $"VFIO device {Address} is closed");

    [GeneratedRegex(@"^[0-9a-f]{4}:[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]$")]
    private static partial Regex PciAddress();

    /// <summary>Whether <paramref name="address"/> is a full PCI address such as 0000:00:03.0 (lower-case hex).</summary>
    public static bool IsPciAddress(string address) => PciAddress().IsMatch(address);

    /// <summary>
    /// Opens PCI function <paramref name="address"/> through VFIO: checks sysfs under <paramref name="sysfsRoot"/>
    /// (the function exists, is bound to vfio-pci, has an IOMMU group), opens a container and the group, gets the
    /// device fd and resets the function where it can (a restart starts from a clean device). Every refusal is a
    /// <see cref="VfioException"/> saying what is wrong and what would be right.
    /// </summary>
    public static VfioDevice OpenPci(string address, string sysfsRoot = "/sys")
    {
        if (!IsPciAddress(address))
            throw new ArgumentException($"'{address}' is not a PCI address: give DOMAIN:BUS:SLOT.FUNC in lower-case hex, for example 0000:00:03.0", nameof(address));
        string dev = System.IO.Path.Combine(sysfsRoot, "bus", "pci", "devices", address);
        if (!Directory.Exists(dev)) throw new VfioException($"there is no PCI function {address} ({dev} is missing): list the virtio-blk functions with orion-perf --list-devices");
        string? driver = LinkName(System.IO.Path.Combine(dev, "driver"));
        string? groupText = LinkName(System.IO.Path.Combine(dev, "iommu_group"));
        if (groupText is null || !int.TryParse(groupText, out int groupNumber))
            throw new VfioException($"{address} is in no IOMMU group: the IOMMU is off; enable it (intel_iommu=on or amd_iommu=on; in QEMU -machine q35 -device intel-iommu,intremap=off)");
        if (driver != "vfio-pci")
            throw new VfioException($"{address} is bound to {(driver is null ? "no driver" : driver)}, not vfio-pci: bind it with tools/orion-vfio-bind.sh bind {address} (and back with unbind)");
        var container = VfioContainer.Open();
        VfioGroup? group = null;
        int fd = -1;
        try
        {
            group = VfioGroup.Open(groupNumber, container);
            fd = group.OpenDeviceFd(address);
            var info = new VfioDeviceInfo { ArgSz = (uint)sizeof(VfioDeviceInfo) };
            if (LibC.ioctl(fd, LibC.VFIO_DEVICE_GET_INFO, (nint)(&info)) != 0) throw LinuxException.FromLastError("VFIO_DEVICE_GET_INFO");
            if ((info.Flags & LibC.VFIO_DEVICE_FLAGS_PCI) == 0 || info.NumRegions <= PciConfigRegion)
                throw new VfioException($"{address} is not a PCI device to VFIO (flags 0x{info.Flags:x}, {info.NumRegions} regions)");
            var device = new VfioDevice(address, container, group, fd, info);
            fd = -1;
            if (device.CanReset) device.Reset();
            return device;
        }
        catch
        {
            if (fd >= 0) FileDescriptor.Close(fd);
            group?.Dispose();
            container.Dispose();
            throw;
        }
    }

    private static string? LinkName(string link)
    {
        var info = new FileInfo(link);
        return info.LinkTarget is { } target ? System.IO.Path.GetFileName(target.TrimEnd('/')) : null;
    }

    /// <summary>Region <paramref name="index"/> as the kernel describes it.</summary>
    public VfioRegion GetRegion(int index)
    {
        if ((uint)index >= (uint)RegionCount) throw new ArgumentOutOfRangeException(nameof(index), $"{Address} has regions 0 to {RegionCount - 1}");
        var info = new VfioRegionInfo { ArgSz = (uint)sizeof(VfioRegionInfo), Index = (uint)index };
        if (LibC.ioctl(Fd, LibC.VFIO_DEVICE_GET_REGION_INFO, (nint)(&info)) != 0) throw LinuxException.FromLastError($"VFIO_DEVICE_GET_REGION_INFO({index})");
        return new VfioRegion(index, info.Size, info.Offset, info.Flags);
    }

    /// <summary>Reads <paramref name="destination"/>.Length bytes of <paramref name="region"/> at <paramref name="offset"/> (one access for 1, 2, 4 or 8 aligned bytes).</summary>
    public void Read(VfioRegion region, long offset, Span<byte> destination)
    {
        Check(region, offset, destination.Length);
        fixed (byte* p = destination)
        {
            nint n = LibC.pread(Fd, p, (nuint)destination.Length, (long)region.Offset + offset);
            if (n != destination.Length) throw Short("pread", region, offset, destination.Length, n);
        }
    }

    /// <summary>Writes <paramref name="source"/> into <paramref name="region"/> at <paramref name="offset"/>.</summary>
    public void Write(VfioRegion region, long offset, ReadOnlySpan<byte> source)
    {
        Check(region, offset, source.Length);
        fixed (byte* p = source)
        {
            nint n = LibC.pwrite(Fd, p, (nuint)source.Length, (long)region.Offset + offset);
            if (n != source.Length) throw Short("pwrite", region, offset, source.Length, n);
        }
    }

    private static void Check(VfioRegion region, long offset, int length)
    {
        if (offset < 0 || length < 0 || (ulong)offset + (ulong)length > region.Size)
            throw new ArgumentOutOfRangeException(nameof(offset), $"[{offset}, +{length}) is outside region {region.Index} ({region.Size} bytes)");
    }

    private Exception Short(string call, VfioRegion region, long offset, int length, nint n) =>
        n < 0 ? LinuxException.FromLastError($"{call} of {length} bytes at {offset} of {Address}'s region {region.Index}")
              : new IOException($"{call} of {length} bytes at {offset} of {Address}'s region {region.Index} moved {n}");

    /// <summary>
    /// Maps the whole of <paramref name="region"/> into this process (shared, read-write), or returns 0 when the kernel
    /// does not let it be mapped whole (no mmap flag, or sparse areas around an MSI-X table): the caller then uses
    /// <see cref="Read"/> and <see cref="Write"/>. The mapping lives until <see cref="Dispose"/>.
    /// </summary>
    public nint TryMap(VfioRegion region)
    {
        if (!region.Mappable || region.Size == 0) return 0;
        void* p = LibC.mmap(null, (nuint)region.Size, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED, Fd, (long)region.Offset);
        if (p == LibC.MAP_FAILED) return 0;
        _maps.Add(((nint)p, (nuint)region.Size));
        return (nint)p;
    }

    /// <summary>How many vectors interrupt index <paramref name="index"/> has (0 when it has none or cannot signal an eventfd).</summary>
    public int IrqVectors(int index)
    {
        var info = new VfioIrqInfo { ArgSz = (uint)sizeof(VfioIrqInfo), Index = (uint)index };
        if (LibC.ioctl(Fd, LibC.VFIO_DEVICE_GET_IRQ_INFO, (nint)(&info)) != 0) throw LinuxException.FromLastError($"VFIO_DEVICE_GET_IRQ_INFO({index})");
        return (info.Flags & LibC.VFIO_IRQ_INFO_EVENTFD) != 0 ? (int)info.Count : 0;
    }

    /// <summary>
    /// Wires vectors <paramref name="start"/>.. of interrupt index <paramref name="index"/> to <paramref name="eventFds"/>
    /// (-1 leaves a vector unwired). The first call enables the index (MSI-X: with that many vectors), so enable all
    /// the vectors needed at once, then rewire single ones.
    /// </summary>
    public void SetIrqEventFds(int index, int start, ReadOnlySpan<int> eventFds)
    {
        int bytes = sizeof(VfioIrqSet) + eventFds.Length * sizeof(int);
        byte* buffer = stackalloc byte[bytes];
        var set = (VfioIrqSet*)buffer;
        *set = new VfioIrqSet
        {
            ArgSz = (uint)bytes, Flags = LibC.VFIO_IRQ_SET_DATA_EVENTFD | LibC.VFIO_IRQ_SET_ACTION_TRIGGER,
            Index = (uint)index, Start = (uint)start, Count = (uint)eventFds.Length,
        };
        eventFds.CopyTo(new Span<int>(buffer + sizeof(VfioIrqSet), eventFds.Length));
        if (LibC.ioctl(Fd, LibC.VFIO_DEVICE_SET_IRQS, (nint)buffer) != 0)
            throw VfioException.FromLastError($"VFIO_DEVICE_SET_IRQS (index {index}, vectors {start}-{start + eventFds.Length - 1})",
                $"{Address} cannot signal those vectors (it has {IrqVectors(index)}; the kernel may lack interrupt remapping or vectors)");
        _irqsEnabled.Add(index);
    }

    /// <summary>Turns interrupt index <paramref name="index"/> off (every vector unwired, MSI-X disabled).</summary>
    public void DisableIrqs(int index)
    {
        var set = new VfioIrqSet
        {
            ArgSz = (uint)sizeof(VfioIrqSet), Flags = LibC.VFIO_IRQ_SET_DATA_NONE | LibC.VFIO_IRQ_SET_ACTION_TRIGGER, Index = (uint)index,
        };
        if (LibC.ioctl(Fd, LibC.VFIO_DEVICE_SET_IRQS, (nint)(&set)) != 0) throw LinuxException.FromLastError($"VFIO_DEVICE_SET_IRQS (disable index {index})");
        _irqsEnabled.Remove(index);
    }

    /// <summary>Resets the function (VFIO_DEVICE_RESET: a function-level reset or what the kernel can do instead).</summary>
    public void Reset()
    {
        if (!CanReset) throw new NotSupportedException($"{Address} offers no reset through VFIO");
        if (LibC.ioctl(Fd, LibC.VFIO_DEVICE_RESET, 0) != 0) throw LinuxException.FromLastError($"VFIO_DEVICE_RESET ({Address})");
    }

    /// <summary>Interrupts off, mappings of regions removed, the device, its group and container closed (which unmaps its DMA).</summary>
    public void Dispose()
    {
        if (_fd < 0) return;
        foreach (int index in _irqsEnabled.ToArray())
        {
            try { DisableIrqs(index); }
            catch (LinuxException) { }           // closing the device frees the vectors anyway
        }
        foreach (var (address, length) in _maps) LibC.munmap((void*)address, length);
        _maps.Clear();
        FileDescriptor.Close(_fd);
        _fd = -1;
        _container.UnmapAll();
        _group.Dispose();
        _container.Dispose();
    }
}
