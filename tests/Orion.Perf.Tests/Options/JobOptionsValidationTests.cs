using Orion.Perf.Options;

namespace Orion.Perf.Tests.Options;

[TestFixture]
public class JobOptionsValidationTests
{
    [Test]
    public void DefaultsAreValid() => Assert.That(new JobOptions().Validate(), Is.Empty);

    [Test]
    public void EmptyDeviceIsReported()
        => Assert.That(Errors(new JobOptions { Device = "" }), Has.Some.StartsWith("--device: empty device string; expected mem:SIZE or null:SIZE"));

    [Test]
    public void DefaultDeviceParses() => Assert.That(new JobOptions().DeviceString, Is.EqualTo(new Orion.Pmd.Transport.DeviceString(Orion.Pmd.Transport.DeviceKind.Memory, 1L << 30, 512, false)));

    private static IReadOnlyList<string> Errors(JobOptions o) => o.Validate();

    [TestCase(1000, "--bs=1000: block size must be a multiple of 512 bytes (for example 4k)")]
    [TestCase(0, "--bs=0: block size must be a multiple of 512 bytes (for example 4k)")]
    [TestCase(-512, "--bs=-512: block size must be a multiple of 512 bytes (for example 4k)")]
    [TestCase(2 << 20, "--bs=2m: block size must be at most 1m")]
    public void BlockSize(int bs, string message) =>
        Assert.That(Errors(new JobOptions { BlockSize = bs }), Is.EqualTo(new[] { message }));

    [TestCase(0)]
    [TestCase(4097)]
    public void IoDepthRange(int depth) =>
        Assert.That(Errors(new JobOptions { IoDepth = depth }), Is.EqualTo(new[] { $"--iodepth={depth}: queue depth must be from 1 to 4096" }));

    [TestCase(1)]
    [TestCase(4096)]
    public void IoDepthBounds(int depth) => Assert.That(Errors(new JobOptions { IoDepth = depth }), Is.Empty);

    [TestCase(-1)]
    [TestCase(101)]
    public void RwMixReadRange(int mix) =>
        Assert.That(Errors(new JobOptions { RwMixRead = mix }), Is.EqualTo(new[] { $"--rwmixread={mix}: the read percentage must be from 0 to 100" }));

    [Test]
    public void NegativeTimes()
    {
        Assert.That(Errors(new JobOptions { Runtime = TimeSpan.FromSeconds(-1) }), Is.EqualTo(new[] { "--runtime=-1: runtime must not be negative" }));
        Assert.That(Errors(new JobOptions { RampTime = TimeSpan.FromMilliseconds(-5) }), Is.EqualTo(new[] { "--ramp_time=-5ms: ramp time must not be negative" }));
    }

    [Test]
    public void TimeBasedNeedsRuntime()
    {
        Assert.That(Errors(new JobOptions { TimeBased = true }), Has.Some.Contains("--time_based needs a --runtime"));
        Assert.That(Errors(new JobOptions { TimeBased = true, Runtime = TimeSpan.FromSeconds(1) }), Is.Empty);
    }

    [Test]
    public void RegionMustFitTheDevice()
    {
        Assert.That(Errors(new JobOptions { Size = 2L << 30 }), Is.Empty, "as fio, a size beyond the device is cut at its end");
        Assert.That(new JobOptions { Size = 2L << 30, Offset = 1L << 20 }.ResolveRegion(1L << 30, 512), Is.EqualTo((1L << 20, (1L << 30) - (1L << 20))));
        Assert.That(Errors(new JobOptions { Offset = 1L << 30 }), Has.Some.Contains("offset is at or beyond the end of the 1g device"));
        Assert.That(Errors(new JobOptions { Offset = 512L << 20, Size = 512L << 20 }), Is.Empty);
        Assert.That(Errors(new JobOptions { Size = 1024 }), Has.Some.Contains("the region is smaller than one 4k block"));
        Assert.That(Errors(new JobOptions { Offset = -1 }), Has.Some.Contains("offset must not be negative"));
        Assert.That(Errors(new JobOptions { Size = 0 }), Has.Some.Contains("size must be positive"));
    }

    [Test]
    public void AlignmentFollowsTheDeviceBlockSize()
    {
        var device = "null:1G,bs=4096";
        Assert.That(Errors(new JobOptions { Device = device, BlockSize = 512 }),
            Is.EqualTo(new[] { "--bs=512: block size must be a multiple of the device's 4096-byte logical block size" }));
        Assert.That(Errors(new JobOptions { Device = device, Offset = 512 }),
            Is.EqualTo(new[] { "--offset=512: offset must be a multiple of the device's 4096-byte logical block size" }));
        Assert.That(Errors(new JobOptions { Offset = 100 }), Has.Some.Contains("multiple of the device's 512-byte"));
    }

    [Test]
    public void WritesToReadOnlyDeviceAreRefused()
    {
        Assert.That(Errors(new JobOptions { Device = "mem:1G,ro", Rw = ReadWriteMode.RandRw }), Has.Some.Contains("is read-only"));
        Assert.That(Errors(new JobOptions { Device = "mem:1G,ro", Rw = ReadWriteMode.Read }), Is.Empty);
    }

    [Test]
    public void BadDeviceIsReported()
    {
        var o = new JobOptions { Device = "mem:lots" };
        Assert.That(o.DeviceString, Is.Null);
        Assert.That(Errors(o), Has.Some.StartsWith("--device=mem:lots: 'lots' is not a device size"));
    }

    [Test]
    public void EveryProblemIsListed()
    {
        var o = new JobOptions { BlockSize = 1000, IoDepth = 0, RwMixRead = 200, Name = " " };
        Assert.That(Errors(o), Has.Count.EqualTo(4));
    }

    [Test]
    public void ReadWriteModeProperties()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(ReadWriteMode.RandRw.IsMixed(), Is.True);
            Assert.That(ReadWriteMode.RandRw.IsRandom(), Is.True);
            Assert.That(ReadWriteMode.Read.HasWrites(), Is.False);
            Assert.That(ReadWriteMode.Write.HasReads(), Is.False);
            Assert.That(ReadWriteMode.ReadWrite.FioName(), Is.EqualTo("rw"));
            Assert.That(OutputFormat.JsonPlus.FioName(), Is.EqualTo("json+"));
        }
    }
}
