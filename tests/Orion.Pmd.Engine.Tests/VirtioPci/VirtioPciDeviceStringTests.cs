using Orion.Pmd.Engine;
using Orion.Pmd.Linux.Vfio;

namespace Orion.Pmd.Engine.Tests.VirtioPci;

/// <summary><c>virtio-pci:ADDRESS</c> device strings, and what the engine says when the function cannot be opened.</summary>
[TestFixture]
public class VirtioPciDeviceStringTests
{
    [TestCase("virtio-pci:0000:00:03.0", "0000:00:03.0", false)]
    [TestCase("VIRTIO-PCI:0000:00:1F.7,ro", "0000:00:1f.7", true)]
    public void Parses(string text, string address, bool readOnly)
    {
        var d = DeviceString.Parse(text);
        Assert.That((d.Kind, d.Path, d.ReadOnly), Is.EqualTo((DeviceKind.VirtioPci, address, readOnly)));
        Assert.That(DeviceString.Parse(d.ToString()), Is.EqualTo(d), "the canonical string parses back");
        Assert.That(d.Describe(), Does.Contain(address).And.Contain("VFIO"));
    }

    [TestCase("virtio-pci:", "missing the PCI address")]
    [TestCase("virtio-pci:00:03.0", "'00:03.0' is not a PCI address; give DOMAIN:BUS:SLOT.FUNC")]
    [TestCase("virtio-pci:0000:00:03.8", "is not a PCI address")]
    [TestCase("virtio-pci:0000:00:03.0,bs=4096", "'bs=4096' does not apply to virtio-pci devices")]
    [TestCase("virtio-pci:0000:00:03.0,size=1G", "the device reports its own capacity")]
    public void RefusesWithTheRemedy(string text, string message)
    {
        Assert.That(DeviceString.TryParse(text, out _, out string error), Is.False);
        Assert.That(error, Does.Contain(message));
    }

    [Test]
    public void AFunctionThatIsNotThereIsNamedWithWhereToLook()
    {
        // 0000:ff:1f.7 exists on no machine this runs on: the engine refuses before touching /dev/vfio.
        var e = Assert.Throws<VfioException>(() => PmdEngine.Start(new EngineOptions { Device = "virtio-pci:0000:ff:1f.7", Queues = 1 }));
        Assert.That(e!.Message, Does.Contain("there is no PCI function 0000:ff:1f.7").And.Contain("--list-devices"));
    }
}
