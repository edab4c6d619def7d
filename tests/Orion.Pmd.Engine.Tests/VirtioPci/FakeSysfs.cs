namespace Orion.Pmd.Engine.Tests.VirtioPci;

/// <summary>A sysfs tree in a temporary directory: PCI functions with vendor/device files and driver and iommu_group links.</summary>
internal sealed class FakeSysfs : IDisposable
{
    public FakeSysfs() => Root = Directory.CreateTempSubdirectory("orion-sysfs-").FullName;

    public string Root { get; }

    /// <summary>Adds a PCI function; <paramref name="disk"/> adds virtio0/block/NAME/size (sectors).</summary>
    public FakeSysfs Add(string address, string vendor, string device, string? driver, int? group, (string Name, long Sectors)? disk = null)
    {
        string dev = Path.Combine(Root, "bus", "pci", "devices", address);
        Directory.CreateDirectory(dev);
        File.WriteAllText(Path.Combine(dev, "vendor"), vendor + "\n");
        File.WriteAllText(Path.Combine(dev, "device"), device + "\n");
        if (driver is not null)
        {
            string target = Path.Combine(Root, "bus", "pci", "drivers", driver);
            Directory.CreateDirectory(target);
            File.CreateSymbolicLink(Path.Combine(dev, "driver"), target);
        }
        if (group is not null)
        {
            string target = Path.Combine(Root, "kernel", "iommu_groups", group.Value.ToString());
            Directory.CreateDirectory(target);
            File.CreateSymbolicLink(Path.Combine(dev, "iommu_group"), target);
        }
        if (disk is { } d)
        {
            string block = Path.Combine(dev, "virtio0", "block", d.Name);
            Directory.CreateDirectory(block);
            File.WriteAllText(Path.Combine(block, "size"), $"{d.Sectors}\n");
        }
        return this;
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}
