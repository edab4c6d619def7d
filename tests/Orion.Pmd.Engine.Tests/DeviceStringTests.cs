using Orion.Pmd.Device.Backends;
using Orion.Pmd.Engine;

namespace Orion.Pmd.Engine.Tests;

/// <summary>The one parser of device strings, used by the engine options and orion-perf's --device alike.</summary>
public class DeviceStringTests
{
    [TestCase("mem:1G", DeviceKind.Memory, 1L << 30, 512, false, false)]
    [TestCase("null:64G", DeviceKind.Null, 64L << 30, 512, false, false)]
    [TestCase("NULL:64g", DeviceKind.Null, 64L << 30, 512, false, false)]
    [TestCase("memory:512m", DeviceKind.Memory, 512L << 20, 512, false, false)]
    [TestCase(" mem:4k ", DeviceKind.Memory, 4096L, 512, false, false)]
    [TestCase("null:1G,bs=4096", DeviceKind.Null, 1L << 30, 4096, false, false)]
    [TestCase("mem:256M,ro,bs=4k", DeviceKind.Memory, 256L << 20, 4096, true, false)]
    [TestCase("mem:16M,prefill", DeviceKind.Memory, 16L << 20, 512, false, true)]
    public void Parses(string text, DeviceKind kind, long size, int blockSize, bool readOnly, bool prefill)
        => Assert.That(DeviceString.Parse(text), Is.EqualTo(new DeviceString(kind, size, blockSize, readOnly, prefill)));

    [TestCase("", "empty device string")]
    [TestCase("disk:1G", "unknown device kind 'disk'")]
    [TestCase("mem", "has no size")]
    [TestCase("mem:lots", "'lots' is not a size")]
    [TestCase("mem:0", "is not a size")]
    [TestCase("null:1G,bs=1000", "unknown or invalid option 'bs=1000'")]
    [TestCase("null:1G,bs=128k", "unknown or invalid option 'bs=128k'")]
    [TestCase("null:1G,fast", "unknown or invalid option 'fast'")]
    [TestCase("null:1G,prefill", "unknown or invalid option 'prefill'")]
    [TestCase("mem:1000", "not a multiple of the 512-byte block size")]
    [TestCase("mem:6k,bs=4096", "not a multiple of the 4096-byte block size")]
    [TestCase("vhost-user:/tmp/sock", "not supported yet")]
    public void ErrorsSayWhatIsWrongAndWhatWouldBeRight(string text, string fragment)
    {
        Assert.That(DeviceString.TryParse(text, out _, out var error), Is.False);
        Assert.That(error, Does.Contain(fragment));
        Assert.That(() => DeviceString.Parse(text), Throws.TypeOf<FormatException>().With.Message.EqualTo(error));
    }

    [Test]
    public void CreatesTheBackendItDescribes()
    {
        using var mem = DeviceString.Parse("mem:1M,prefill").CreateBackend();
        using var nul = DeviceString.Parse("null:2M").CreateBackend();
        Assert.That(mem, Is.TypeOf<MemoryBackend>());
        Assert.That(mem.Capacity, Is.EqualTo(1L << 20));
        Assert.That(((MemoryBackend)mem).Peek(0, 16).ToArray(), Is.All.Not.Zero, "prefilled pages hold a pattern");
        Assert.That(nul, Is.TypeOf<NullBackend>());
        Assert.That(nul.Capacity, Is.EqualTo(2L << 20));
    }
}
