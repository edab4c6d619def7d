using Orion.Pmd.Linux.Vfio;

namespace Orion.Pmd.Linux.Tests;

/// <summary>
/// <see cref="VfioDevice.OpenPci"/> refuses, from what sysfs says, every function it cannot drive, naming the cause
/// and the remedy (a sysfs tree of the test's own: the checks run before any /dev/vfio node is opened).
/// </summary>
[TestFixture]
public class VfioDeviceTests
{
    private string _sysfs = null!;

    [SetUp]
    public void SetUp() => _sysfs = Directory.CreateTempSubdirectory("orion-vfio-sysfs-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_sysfs, recursive: true);

    private void Function(string address, string? driver, int? group)
    {
        string dev = Path.Combine(_sysfs, "bus", "pci", "devices", address);
        Directory.CreateDirectory(dev);
        if (driver is not null)
        {
            string target = Path.Combine(_sysfs, "bus", "pci", "drivers", driver);
            Directory.CreateDirectory(target);
            File.CreateSymbolicLink(Path.Combine(dev, "driver"), target);
        }
        if (group is not null)
        {
            string target = Path.Combine(_sysfs, "kernel", "iommu_groups", group.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Directory.CreateDirectory(target);
            File.CreateSymbolicLink(Path.Combine(dev, "iommu_group"), target);
        }
    }

    [TestCase("00:03.0")]
    [TestCase("0000:00:03")]
    [TestCase("0000:00:03.0;rm")]
    public void ABadAddressIsRefused(string address)
    {
        var e = Assert.Throws<ArgumentException>(() => VfioDevice.OpenPci(address, _sysfs));
        Assert.That(e!.Message, Does.Contain("is not a PCI address").And.Contain("0000:00:03.0"));
    }

    [Test]
    public void AMissingFunctionIsNamed()
    {
        var e = Assert.Throws<VfioException>(() => VfioDevice.OpenPci("0000:00:04.0", _sysfs));
        Assert.That(e!.Message, Does.Contain("there is no PCI function 0000:00:04.0").And.Contain("--list-devices"));
    }

    [Test]
    public void AFunctionWithoutAnIommuGroupAsksForTheIommu()
    {
        Function("0000:00:03.0", "vfio-pci", group: null);
        var e = Assert.Throws<VfioException>(() => VfioDevice.OpenPci("0000:00:03.0", _sysfs));
        Assert.That(e!.Message, Does.Contain("in no IOMMU group").And.Contain("intel_iommu=on"));
    }

    [TestCase("virtio-pci", "bound to virtio-pci, not vfio-pci")]
    [TestCase(null, "bound to no driver, not vfio-pci")]
    public void AFunctionOnAnotherDriverAsksForTheBinding(string? driver, string message)
    {
        Function("0000:00:03.0", driver, group: 3);
        var e = Assert.Throws<VfioException>(() => VfioDevice.OpenPci("0000:00:03.0", _sysfs));
        Assert.That(e!.Message, Does.Contain(message).And.Contain("tools/orion-vfio-bind.sh bind 0000:00:03.0"));
    }

    [Test]
    public void ABoundFunctionGetsAsFarAsTheContainer()
    {
        // Bound to vfio-pci in group 3 by sysfs: what is left is the kernel's side. On a host without VFIO (or not
        // root), the refusal names /dev/vfio; where VFIO is there, group 3 is not this fake function's.
        Function("0000:00:03.0", "vfio-pci", group: 3);
        var e = Assert.Throws<VfioException>(() => VfioDevice.OpenPci("0000:00:03.0", _sysfs).Dispose());
        Assert.That(e!.Message, Does.Contain("/dev/vfio"));
    }
}
