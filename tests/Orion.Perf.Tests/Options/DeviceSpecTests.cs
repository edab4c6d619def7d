using Orion.Perf.Options;

namespace Orion.Perf.Tests.Options;

[TestFixture]
public class DeviceSpecTests
{
    [Test]
    public void MemoryDevice()
    {
        var d = DeviceSpec.Parse("mem:1G");
        Assert.That(d, Is.EqualTo(new DeviceSpec(DeviceSpecKind.Memory, 1L << 30)));
        Assert.That(d.LogicalBlockSize, Is.EqualTo(512));
        Assert.That(d.ToString(), Is.EqualTo("mem:1g"));
        Assert.That(d.Describe(), Is.EqualTo("RAM disk, 1 GiB, 512-byte blocks"));
    }

    [Test]
    public void NullDeviceWithBlockSize()
    {
        var d = DeviceSpec.Parse("null:1G,bs=4096");
        Assert.That(d, Is.EqualTo(new DeviceSpec(DeviceSpecKind.Null, 1L << 30, 4096)));
        Assert.That(d.LogicalBlockSize, Is.EqualTo(4096));
        Assert.That(d.ToString(), Is.EqualTo("null:1g,bs=4096"));
    }

    [TestCase("null:64G", DeviceSpecKind.Null, 64L << 30)]
    [TestCase("NULL:64g", DeviceSpecKind.Null, 64L << 30)]
    [TestCase("memory:512m", DeviceSpecKind.Memory, 512L << 20)]
    [TestCase("mem:1t", DeviceSpecKind.Memory, 1L << 40)]
    [TestCase(" mem:4k ", DeviceSpecKind.Memory, 4096L)]
    public void KindsAndSizes(string text, DeviceSpecKind kind, long size)
    {
        var d = DeviceSpec.Parse(text);
        Assert.That(d.Kind, Is.EqualTo(kind));
        Assert.That(d.SizeBytes, Is.EqualTo(size));
    }

    [Test]
    public void ReadOnlyAndBlockSizeInAnyOrder()
    {
        var d = DeviceSpec.Parse("mem:256M,ro,bs=4k");
        Assert.That(d, Is.EqualTo(new DeviceSpec(DeviceSpecKind.Memory, 256L << 20, 4096, ReadOnly: true)));
        Assert.That(d.ToString(), Is.EqualTo("mem:256m,bs=4096,ro"));
    }

    [TestCase("", "empty device string")]
    [TestCase("disk:1G", "unknown device kind 'disk'")]
    [TestCase("1G", "missing the device kind")]
    [TestCase("mem", "missing the size")]
    [TestCase("mem:", "'' is not a device size")]
    [TestCase("mem:lots", "'lots' is not a device size")]
    [TestCase("mem:0", "'0' is not a device size")]
    [TestCase("null:1G,bs=1000", "'bs=1000' is not a valid logical block size")]
    [TestCase("null:1G,bs=128k", "'bs=128k' is not a valid logical block size")]
    [TestCase("null:1G,fast", "unknown device option 'fast'")]
    [TestCase("mem:1000", "size 1000 is not a multiple of the 512-byte logical block size")]
    [TestCase("mem:6k,bs=4096", "size 6144 is not a multiple of the 4096-byte logical block size")]
    [TestCase("vhost-user:/tmp/sock", "vhost-user devices are not supported by orion-perf yet")]
    public void ErrorsSayWhatIsWrong(string text, string fragment)
    {
        Assert.That(DeviceSpec.TryParse(text, out var spec, out var error), Is.False);
        Assert.That(spec, Is.Null);
        Assert.That(error, Does.Contain(fragment));
        Assert.That(error, Does.StartWith("--device"));
        var ex = Assert.Throws<FormatException>(() => DeviceSpec.Parse(text));
        Assert.That(ex.Message, Is.EqualTo(error));
    }

    [Test]
    public void ErrorsShowTheSyntax()
    {
        DeviceSpec.TryParse("disk:1G", out _, out var error);
        Assert.That(error, Does.Contain("mem:SIZE or null:SIZE"));
    }
}
