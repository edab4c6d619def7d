using Orion.Pmd.Device;
using Orion.Pmd.Engine;
using Orion.Pmd.Virtio;

namespace Orion.Vhost.Tests;

/// <summary>Argument errors say what was wrong and what would be right; good arguments map onto the device.</summary>
public class CommandLineTests
{
    private static string Error(params string[] args)
    {
        Assert.That(CommandLine.TryParse(args, out _, out string error), Is.False, string.Join(' ', args));
        return error;
    }

    private static VhostOptions Parse(params string[] args)
    {
        Assert.That(CommandLine.TryParse(args, out var o, out string error), Is.True, error);
        Assert.That(o, Is.Not.Null);
        return o!;
    }

    [Test]
    public void TheSmallestCommandLineTakesTheDefaults()
    {
        var o = Parse("--socket", "/tmp/x.sock", "--device", "mem:16M");
        Assert.That(o.SocketPath, Is.EqualTo("/tmp/x.sock"));
        Assert.That(o.Device.Kind, Is.EqualTo(DeviceKind.Memory));
        Assert.That(o.Device.SizeBytes, Is.EqualTo(16L << 20));
        Assert.That((o.Queues, o.ReadOnly, o.Serial, o.Mode, o.QueueSizeMax, o.Packed), Is.EqualTo((1, false, "orion-vhost", DeviceServiceMode.KickDriven, 1024, true)));
    }

    [Test]
    public void EveryOptionIsTaken()
    {
        var o = Parse("--socket=/tmp/x.sock", "--device", "null:1G,bs=4096", "--queues", "4", "--readonly", "--serial", "disk-7", "--mode", "polled",
            "--queue-size-max", "256", "--packed", "off", "--indirect=off", "--event-idx", "off", "--block-size", "4096", "--cpus", "1,3-4");
        Assert.That((o.Queues, o.ReadOnly, o.Serial, o.Mode, o.QueueSizeMax), Is.EqualTo((4, true, "disk-7", DeviceServiceMode.Polled, 256)));
        Assert.That(o.Device.BlockSize, Is.EqualTo(4096));
        Assert.That(o.Cpus, Is.EqualTo(new[] { 1, 3, 4 }));
        var d = VhostCommand.DeviceOptions(o, allowedCpus: 2);
        Assert.That(d.OfferedFeatures & (VirtioFeatures.RingPacked | VirtioFeatures.RingIndirectDesc | VirtioFeatures.RingEventIdx), Is.EqualTo(VirtioFeatures.None));
        Assert.That((d.NumQueues, d.ReadOnly, d.Serial, d.MaxQueueSize, d.LogicalBlockSize, d.Mode), Is.EqualTo((4, true, "disk-7", 256, 4096, DeviceServiceMode.Polled)));
        Assert.That(d.YieldWhenIdle, Is.False, "pinned threads have their own cores");
    }

    [Test]
    public void PolledThreadsYieldWhenCoresAreFew()
    {
        var o = Parse("--socket", "/tmp/x.sock", "--device", "null:1G", "--queues", "2", "--mode", "polled");
        Assert.That(VhostCommand.DeviceOptions(o, allowedCpus: 2).YieldWhenIdle, Is.True);
        Assert.That(VhostCommand.DeviceOptions(o, allowedCpus: 8).YieldWhenIdle, Is.False);
    }

    [Test]
    public void HelpIsNotAnError()
    {
        Assert.That(CommandLine.TryParse(["--help"], out var o, out _), Is.True);
        Assert.That(o, Is.Null);
        var stdout = new StringWriter();
        Assert.That(VhostCommand.Run(["-h"], stdout, new StringWriter()), Is.Zero);
        Assert.That(stdout.ToString(), Does.Contain("--socket PATH").And.Contain("--mode kick|polled"));
    }

    [TestCase(new[] { "--device", "mem:1G" }, "missing --socket")]
    [TestCase(new[] { "--socket", "/tmp/x.sock" }, "missing --device")]
    [TestCase(new[] { "--socket", "/tmp/x.sock", "--device", "mem:1G", "--queues", "0" }, "--queues '0' is not valid; expected a number from 1 to 256")]
    [TestCase(new[] { "--socket", "/tmp/x.sock", "--device", "mem:1G", "--queues" }, "--queues needs a value")]
    [TestCase(new[] { "--socket", "/tmp/x.sock", "--device", "mem:1G", "--mode", "spin" }, "expected kick or polled")]
    [TestCase(new[] { "--socket", "/tmp/x.sock", "--device", "mem:1G", "--queue" }, "did you mean --queues?")]
    [TestCase(new[] { "--socket", "/tmp/x.sock", "--device", "mem:1G", "--frobnicate", "1" }, "unknown option '--frobnicate'")]
    [TestCase(new[] { "--socket", "/tmp/x.sock", "--device", "mem:1G", "extra" }, "unexpected argument 'extra'")]
    [TestCase(new[] { "--socket", "/tmp/x.sock", "--device", "vhost-user:/tmp/y.sock" }, "orion-vhost serves one")]
    [TestCase(new[] { "--socket", "/tmp/x.sock", "--device", "disk:1G" }, "--device 'disk:1G': unknown device kind")]
    [TestCase(new[] { "--socket", "/tmp/x.sock", "--device", "mem:1G", "--serial", "a-serial-longer-than-20" }, "at most 20 printable ASCII")]
    [TestCase(new[] { "--socket", "/tmp/x.sock", "--device", "mem:1G,bs=4096", "--block-size", "512" }, "contradicts bs=4096")]
    [TestCase(new[] { "--socket", "/tmp/x.sock", "--device", "mem:1G", "--queue-size-max", "100" }, "a power of two from 1 to 32768")]
    [TestCase(new[] { "--socket", "/tmp/x.sock", "--device", "mem:1G", "--packed", "maybe" }, "expected on or off")]
    [TestCase(new[] { "--socket", "/tmp/x.sock", "--device", "mem:1G", "--readonly=yes" }, "--readonly takes no value")]
    [TestCase(new[] { "--socket", "/tmp/x.sock", "--device", "mem:1G", "--cpus", "3-1" }, "a cpu list")]
    public void BadArgumentsAreExplained(string[] args, string expected)
    {
        Assert.That(Error(args), Does.Contain(expected));
    }

    [Test]
    public void ASocketPathTooLongForSunPathIsRefused()
    {
        string path = "/tmp/" + new string('s', 120) + ".sock";
        Assert.That(Error("--socket", path, "--device", "mem:1G"), Does.Contain("at most 107 bytes").Or.Contain("1 to 107 bytes"));
    }

    [Test]
    public void RunReportsArgumentErrorsWithExitCode2()
    {
        var stderr = new StringWriter();
        Assert.That(VhostCommand.Run(["--socket", "/tmp/x.sock"], new StringWriter(), stderr), Is.EqualTo(2));
        Assert.That(stderr.ToString(), Does.StartWith("orion-vhost: error: missing --device"));
    }
}
