using Orion.Pmd.Engine.Transport.VirtioPci;

namespace Orion.Pmd.Engine.Tests.VirtioPci;

/// <summary>Discovery of virtio-blk PCI functions from sysfs, on a fake tree: binding, IOMMU group, capacity, readiness.</summary>
public class VirtioPciDiscoveryTests
{
    [Test]
    public void ListsVirtioBlkFunctionsWithDriverGroupCapacityAndWhatTheyStillNeed()
    {
        using var sysfs = new FakeSysfs()
            .Add("0000:00:02.0", "0x8086", "0x100e", "e1000", 2)                                 // a NIC: not listed
            .Add("0000:00:03.0", "0x1af4", "0x1042", "vfio-pci", 3)
            .Add("0000:00:04.0", "0x1af4", "0x1042", "virtio-pci", 4, ("vda", 131072))
            .Add("0000:00:05.0", "0x1af4", "0x1041", "virtio-pci", 5)                            // virtio-net: not listed
            .Add("0000:00:06.0", "0x1af4", "0x1001", null, null);
        var list = VirtioPciDiscovery.List(sysfs.Root);
        Assert.That(list.Select(f => f.Address), Is.EqualTo(new[] { "0000:00:03.0", "0000:00:04.0", "0000:00:06.0" }));
        Assert.That(list[0], Is.EqualTo(new VirtioPciBlockFunction("0000:00:03.0", 0x1042, "vfio-pci", 3, null, null)));
        Assert.That(list[0].NotReadyBecause, Is.Null);
        Assert.That(list[1], Is.EqualTo(new VirtioPciBlockFunction("0000:00:04.0", 0x1042, "virtio-pci", 4, 64L << 20, "vda")));
        Assert.That(list[1].NotReadyBecause, Does.Contain("bound to virtio-pci: bind it to vfio-pci (tools/orion-vfio-bind.sh bind 0000:00:04.0)"));
        Assert.That((list[2].ModernOnly, list[2].Driver), Is.EqualTo((false, (string?)null)));
        Assert.That(list[2].NotReadyBecause, Does.StartWith("no IOMMU group"));
    }

    [Test]
    public void AMachineWithoutPciListsNothing()
    {
        using var sysfs = new FakeSysfs();
        Assert.That(VirtioPciDiscovery.List(sysfs.Root), Is.Empty);
    }
}
