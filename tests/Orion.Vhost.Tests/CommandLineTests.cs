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
        Assert.That((o.Queues, o.ReadOnly, o.Serial, o.Mode, o.QueueSizeMax, o.Packed), Is.EqualTo((1, false, "orion-vhost", DeviceServiceMode.Adaptive, 1024, true)));
        Assert.That(o.PollWindow, Is.EqualTo(TimeSpan.FromMicroseconds(50)));
        var d = VhostCommand.DeviceOptions(o, allowedCpus: 2);
        Assert.That((d.Mode, d.AdaptiveSleepAfter), Is.EqualTo((DeviceServiceMode.Adaptive, TimeSpan.FromMicroseconds(50))));
        Assert.That(VhostCommand.DescribeMode(o), Does.StartWith("adaptive (poll 50us"));
    }

    [TestCase("50us", 50.0)]
    [TestCase("20", 20.0)]
    [TestCase("0.2ms", 200.0)]
    [TestCase("1ms", 1000.0)]
    [TestCase("1500ns", 1.5)]
    [TestCase("1s", 1_000_000.0)]
    public void AdaptiveModeTakesAPollWindow(string window, double microseconds)
    {
        var o = Parse("--socket", "/tmp/x.sock", "--device", "null:1G", "--mode", "adaptive", $"--poll-window={window}");
        Assert.That(o.Mode, Is.EqualTo(DeviceServiceMode.Adaptive));
        Assert.That(o.PollWindow.TotalMicroseconds, Is.EqualTo(microseconds).Within(0.01));
        Assert.That(VhostCommand.DeviceOptions(o, allowedCpus: 2).AdaptiveSleepAfter, Is.EqualTo(o.PollWindow));
        // Order does not matter, and adaptive is the default.
        Assert.That(Parse("--poll-window", window, "--socket", "/tmp/x.sock", "--device", "null:1G").PollWindow, Is.EqualTo(o.PollWindow));
    }

    [Test]
    public void EachModeIsNamedOnTheStartupLine()
    {
        Assert.That(VhostCommand.DescribeMode(Parse("--socket", "/tmp/x.sock", "--device", "null:1G", "--poll-window", "200us")),
            Is.EqualTo("adaptive (poll 200us after the last request, then sleep on the kick eventfd)"));
        Assert.That(VhostCommand.DescribeMode(Parse("--socket", "/tmp/x.sock", "--device", "null:1G", "--mode", "kick")), Does.StartWith("kick-driven"));
        Assert.That(VhostCommand.DescribeMode(Parse("--socket", "/tmp/x.sock", "--device", "null:1G", "--mode", "polled")), Does.StartWith("polled"));
    }

    [TestCase("0", "--poll-window '0' is not valid; expected a duration from 1us to 1s")]
    [TestCase("0us", "expected a duration from 1us to 1s")]
    [TestCase("500ns", "expected a duration from 1us to 1s")]
    [TestCase("2s", "expected a duration from 1us to 1s")]
    [TestCase("-5us", "expected a duration from 1us to 1s")]
    [TestCase("fast", "--poll-window 'fast' is not valid")]
    [TestCase("50 us", "expected a duration")]
    public void BadPollWindowsAreExplained(string window, string expected)
    {
        Assert.That(Error("--socket", "/tmp/x.sock", "--device", "mem:1G", "--poll-window", window), Does.Contain(expected));
    }

    [TestCase("0", 0.0)]
    [TestCase("20us", 20.0)]
    [TestCase("1ms", 1000.0)]
    public void AdaptiveModeTakesAnIoPollWindow(string window, double microseconds)
    {
        var o = Parse("--socket", "/tmp/x.sock", "--device", "file:/tmp/x.img", "--io-poll-window", window);
        Assert.That(o.IoPollWindow.TotalMicroseconds, Is.EqualTo(microseconds).Within(0.01));
        Assert.That(VhostCommand.DeviceOptions(o, allowedCpus: 2).AdaptiveSleepWithIoAfter, Is.EqualTo(o.IoPollWindow));
        Assert.That(Parse("--socket", "/tmp/x.sock", "--device", "null:1G").IoPollWindow, Is.EqualTo(TimeSpan.Zero), "default: sleep at once");
    }

    [TestCase("-1us", "--io-poll-window '-1us' is not valid; expected a duration from 0 to 1s")]
    [TestCase("2s", "expected a duration from 0 to 1s")]
    [TestCase("soon", "--io-poll-window 'soon' is not valid")]
    public void BadIoPollWindowsAreExplained(string window, string expected)
    {
        Assert.That(Error("--socket", "/tmp/x.sock", "--device", "mem:1G", "--io-poll-window", window), Does.Contain(expected));
        Assert.That(Error("--socket", "/tmp/x.sock", "--device", "mem:1G", "--mode", "polled", "--io-poll-window", "0"),
            Does.Contain("--io-poll-window applies to --mode adaptive only"));
    }

    [TestCase("kick", "sleeps as soon as a pass finds nothing")]
    [TestCase("polled", "never sleeps")]
    public void APollWindowOutsideAdaptiveModeIsRefused(string mode, string why)
    {
        Assert.That(Error("--socket", "/tmp/x.sock", "--device", "mem:1G", "--mode", mode, "--poll-window", "50us"),
            Does.Contain("--poll-window applies to --mode adaptive only").And.Contain(why));
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
        Assert.That(stdout.ToString(), Does.Contain("--socket PATH").And.Contain("--mode adaptive|kick|polled").And.Contain("--poll-window DURATION"));
    }

    [Test]
    public void VersionIsTheEnginesRelease()
    {
        var stdout = new StringWriter();
        Assert.That(VhostCommand.Run(["--version"], stdout, new StringWriter()), Is.Zero);
        Assert.That(stdout.ToString().Trim(), Is.EqualTo($"orion-vhost {PmdEngine.Version}"));
        Assert.That(PmdEngine.Version, Does.Match(@"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$"), "MAJOR.MINOR.PATCH, no +commit");
    }

    [TestCase(new[] { "--device", "mem:1G" }, "missing --socket")]
    [TestCase(new[] { "--socket", "/tmp/x.sock" }, "missing --device")]
    [TestCase(new[] { "--socket", "/tmp/x.sock", "--device", "mem:1G", "--queues", "0" }, "--queues '0' is not valid; expected a number from 1 to 256")]
    [TestCase(new[] { "--socket", "/tmp/x.sock", "--device", "mem:1G", "--queues" }, "--queues needs a value")]
    [TestCase(new[] { "--socket", "/tmp/x.sock", "--device", "mem:1G", "--poll-window" }, "--poll-window needs a value (a duration from 1us to 1s")]
    [TestCase(new[] { "--socket", "/tmp/x.sock", "--device", "mem:1G", "--mode", "spin" }, "expected adaptive, kick or polled")]
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
    [TestCase(new[] { "--socket", "/tmp/x.sock", "--device", "mem:1G", "--idle-timeout", "10" }, "--idle-timeout '10' is not valid; expected a duration with its unit from 1ms to 1h")]
    [TestCase(new[] { "--socket", "/tmp/x.sock", "--device", "mem:1G", "--message-timeout", "2h" }, "from 1ms to 1h")]
    [TestCase(new[] { "--socket", "/tmp/x.sock", "--device", "mem:1G", "--message-timeout", "500us" }, "from 1ms to 1h")]
    [TestCase(new[] { "--socket", "/tmp/x.sock", "--device", "mem:1G", "--allow-unsealed-memory=1" }, "--allow-unsealed-memory takes no value")]
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

    [Test]
    public void TimeoutsAndTheMemoryRuleReachTheServer()
    {
        var defaults = VhostCommand.ServerOptions(Parse("--socket", "/tmp/x.sock", "--device", "null:1G"), TextWriter.Null);
        Assert.That((defaults.MessageTimeout, defaults.IdleTimeout, defaults.AllowUnsealedMemory), Is.EqualTo((TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10), false)));
        var o = Parse("--socket", "/tmp/x.sock", "--device", "null:1G", "--message-timeout", "750ms", "--idle-timeout=2s", "--allow-unsealed-memory");
        var s = VhostCommand.ServerOptions(o, TextWriter.Null);
        Assert.That((s.MessageTimeout, s.IdleTimeout, s.AllowUnsealedMemory), Is.EqualTo((TimeSpan.FromMilliseconds(750), TimeSpan.FromSeconds(2), true)));
    }
}
