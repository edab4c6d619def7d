using System.Globalization;

namespace Orion.Pmd.Engine.Transport.VirtioPci;

/// <summary>One virtio-blk PCI function as sysfs shows it.</summary>
/// <param name="Address">Its PCI address (DOMAIN:BUS:SLOT.FUNC).</param>
/// <param name="DeviceId">The PCI device id: 0x1042 (modern) or 0x1001 (transitional).</param>
/// <param name="Driver">The driver bound to it (virtio-pci, vfio-pci), or null when none is.</param>
/// <param name="IommuGroup">Its IOMMU group, or null without an IOMMU.</param>
/// <param name="CapacityBytes">Its capacity, when the kernel's virtio-blk driver shows the disk; null otherwise (bound to vfio-pci, it is read from the device once opened).</param>
/// <param name="BlockDevice">The kernel's block device name (vda), when the kernel drives it.</param>
public sealed record VirtioPciBlockFunction(string Address, ushort DeviceId, string? Driver, int? IommuGroup, long? CapacityBytes, string? BlockDevice)
{
    /// <summary>Whether the function is modern only (1af4:1042); a transitional one (1af4:1001) may still carry VirtIO 1.x capabilities.</summary>
    public bool ModernOnly => DeviceId == VirtioPciCapabilities.ModernBlockDevice;

    /// <summary>What the engine needs before it can drive the function, or null when it is ready (bound to vfio-pci, in an IOMMU group).</summary>
    public string? NotReadyBecause =>
        IommuGroup is null ? "no IOMMU group: enable the IOMMU (intel_iommu=on or amd_iommu=on; in QEMU -machine q35 -device intel-iommu,intremap=off)"
        : Driver != "vfio-pci" ? $"bound to {Driver ?? "no driver"}: bind it to vfio-pci (tools/orion-vfio-bind.sh bind {Address})"
        : null;
}

/// <summary>Lists the virtio-blk PCI functions of this machine from sysfs (<c>/sys/bus/pci/devices</c>).</summary>
public static class VirtioPciDiscovery
{
    /// <summary>Every virtio-blk PCI function under <paramref name="sysfsRoot"/> (a test passes a tree of its own), by address.</summary>
    public static IReadOnlyList<VirtioPciBlockFunction> List(string sysfsRoot = "/sys")
    {
        string devices = Path.Combine(sysfsRoot, "bus", "pci", "devices");
        if (!Directory.Exists(devices)) return [];
        var found = new List<VirtioPciBlockFunction>();
        foreach (string dev in Directory.GetFileSystemEntries(devices).Order(StringComparer.Ordinal))
        {
            if (Hex(Path.Combine(dev, "vendor")) != VirtioPciCapabilities.VirtioVendor) continue;
            int? device = Hex(Path.Combine(dev, "device"));
            if (device is not (VirtioPciCapabilities.ModernBlockDevice or VirtioPciCapabilities.TransitionalBlockDevice)) continue;
            string? driver = LinkName(Path.Combine(dev, "driver"));
            int? group = int.TryParse(LinkName(Path.Combine(dev, "iommu_group")), NumberStyles.None, CultureInfo.InvariantCulture, out int g) ? g : null;
            var (disk, capacity) = Disk(dev);
            found.Add(new VirtioPciBlockFunction(Path.GetFileName(dev), (ushort)device, driver, group, capacity, disk));
        }
        return found;
    }

    /// <summary>The function's kernel block device (virtioN/block/NAME) and its size (sectors of 512 bytes in sysfs).</summary>
    private static (string? Disk, long? Capacity) Disk(string dev)
    {
        foreach (string virtio in SafeDirectories(dev, "virtio*"))
        {
            foreach (string block in SafeDirectories(Path.Combine(virtio, "block"), "*"))
            {
                string? size = Read(Path.Combine(block, "size"));
                if (long.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out long sectors) && sectors <= long.MaxValue / 512)
                    return (Path.GetFileName(block), sectors * 512);
            }
        }
        return (null, null);
    }

    private static string[] SafeDirectories(string dir, string pattern)
    {
        try { return Directory.Exists(dir) ? Directory.GetDirectories(dir, pattern) : []; }
        catch (IOException) { return []; }
        catch (UnauthorizedAccessException) { return []; }
    }

    private static int? Hex(string file)
    {
        string? text = Read(file);
        if (text is null || !text.StartsWith("0x", StringComparison.Ordinal)) return null;
        return int.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int v) ? v : null;
    }

    private static string? Read(string file)
    {
        try { return File.Exists(file) ? File.ReadAllText(file).Trim() : null; }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    private static string? LinkName(string link)
    {
        var info = new FileInfo(link);
        return info.LinkTarget is { } target ? Path.GetFileName(target.TrimEnd('/')) : null;
    }
}
