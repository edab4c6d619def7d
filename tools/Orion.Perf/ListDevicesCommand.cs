using Orion.Pmd.Engine.Transport.VirtioPci;

namespace Orion.Perf;

/// <summary>
/// <c>orion-perf --list-devices</c>: the virtio-blk PCI functions of this machine (sysfs), each with its driver, IOMMU
/// group, capacity where the kernel shows it, and what it still needs before a user-space driver can take it.
/// </summary>
internal static class ListDevicesCommand
{
    public static int Run(TextWriter stdout, string sysfsRoot = "/sys")
    {
        var functions = VirtioPciDiscovery.List(sysfsRoot);
        if (functions.Count == 0)
        {
            stdout.WriteLine("no virtio-blk PCI functions (1af4:1042 or 1af4:1001) on this machine");
            return 0;
        }
        foreach (var f in functions)
        {
            string capacity = f.CapacityBytes is { } c ? $"{c} bytes ({f.BlockDevice})" : "unknown until opened";
            string state = f.NotReadyBecause is { } why ? $"not ready: {why}" : "ready for VFIO";
            stdout.WriteLine($"{f.Address}  1af4:{f.DeviceId:x4}  driver={f.Driver ?? "none"}  iommu_group={f.IommuGroup?.ToString() ?? "none"}  capacity={capacity}  {state}");
        }
        return 0;
    }
}
