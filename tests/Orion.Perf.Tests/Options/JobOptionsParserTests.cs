using Orion.Perf.Options;

using static Orion.Perf.Tests.Options.ParseKit;

namespace Orion.Perf.Tests.Options;

[TestFixture]
public class JobOptionsParserTests
{
    private static string Error(params string[] args)
    {
        var outcome = JobOptionsParser.Parse(args);
        Assert.That(outcome.Kind, Is.EqualTo(ParseOutcomeKind.Error));
        Assert.That(outcome.Errors, Is.Not.Empty);
        return outcome.Message;
    }

    [Test]
    public void NoArgumentsGiveFioDefaults()
    {
        var o = Ok();
        Assert.That(o, Is.EqualTo(new JobOptions()));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(o.Name, Is.EqualTo("orion"));
            Assert.That(o.Rw, Is.EqualTo(ReadWriteMode.RandRead));
            Assert.That(o.BlockSize, Is.EqualTo(4096));
            Assert.That(o.IoDepth, Is.EqualTo(1));
            Assert.That(o.Runtime, Is.Null);
            Assert.That(o.TimeBased, Is.False);
            Assert.That(o.RampTime, Is.EqualTo(TimeSpan.Zero));
            Assert.That(o.Size, Is.Null);
            Assert.That(o.Offset, Is.Zero);
            Assert.That(o.RwMixRead, Is.EqualTo(50));
            Assert.That(o.Device, Is.EqualTo("mem:1G"));
            Assert.That(o.OutputFormat, Is.EqualTo(OutputFormat.Normal));
            Assert.That(o.OutputPath, Is.Null);
        }
    }

    [Test]
    public void EveryOptionWithEquals()
    {
        var o = Ok("--name=lat", "--rw=randrw", "--bs=8k", "--iodepth=32", "--runtime=10", "--time_based", "--ramp_time=2",
                   "--size=256m", "--offset=1m", "--rwmixread=70", "--device=null:64G", "--output-format=json+",
                   "--output=out.json", "--direct=1", "--eta=never", "--group_reporting");
        var expected = new JobOptions
        {
            Name = "lat", Rw = ReadWriteMode.RandRw, BlockSize = 8192, IoDepth = 32, Runtime = TimeSpan.FromSeconds(10),
            TimeBased = true, RampTime = TimeSpan.FromSeconds(2), Size = 256L << 20, Offset = 1L << 20, RwMixRead = 70,
            Device = "null:64G", OutputFormat = OutputFormat.JsonPlus, OutputPath = "out.json", Direct = true, GroupReporting = true,
        };
        // The parsed job also records what was given, for fio's job options (JsonReportTests check those).
        Assert.That(o with { GivenOptions = null }, Is.EqualTo(expected));
    }

    [Test]
    public void EveryOptionWithSpace()
    {
        var o = Ok("--name", "lat", "--rw", "write", "--bs", "512", "--iodepth", "4", "--runtime", "500ms", "--ramp_time", "1s",
                   "--size", "1g", "--offset", "4k", "--rwmixwrite", "30", "--device", "mem:2G", "--output-format", "json",
                   "--output", "r.json", "--eta", "always");
        var expected = new JobOptions
        {
            Name = "lat", Rw = ReadWriteMode.Write, BlockSize = 512, IoDepth = 4, Runtime = TimeSpan.FromMilliseconds(500),
            RampTime = TimeSpan.FromSeconds(1), Size = 1L << 30, Offset = 4096, RwMixRead = 70, Device = "mem:2G",
            OutputFormat = OutputFormat.Json, OutputPath = "r.json",
        };
        Assert.That(o with { GivenOptions = null }, Is.EqualTo(expected));
    }

    [TestCase("read", ReadWriteMode.Read)]
    [TestCase("write", ReadWriteMode.Write)]
    [TestCase("randread", ReadWriteMode.RandRead)]
    [TestCase("randwrite", ReadWriteMode.RandWrite)]
    [TestCase("rw", ReadWriteMode.ReadWrite)]
    [TestCase("readwrite", ReadWriteMode.ReadWrite)]
    [TestCase("randrw", ReadWriteMode.RandRw)]
    [TestCase("RandRead", ReadWriteMode.RandRead)]
    public void RwNamesAsFio(string name, ReadWriteMode mode)
    {
        Assert.That(Ok($"--rw={name}").Rw, Is.EqualTo(mode));
        Assert.That(Ok($"--readwrite={name}").Rw, Is.EqualTo(mode));
    }

    [TestCase("trim", ReadWriteMode.Trim)]
    [TestCase("randtrim", ReadWriteMode.RandTrim)]
    public void TrimModesAsFio(string name, ReadWriteMode mode)
    {
        Assert.That(Ok($"--rw={name}").Rw, Is.EqualTo(mode));
        Assert.That(mode.FioName(), Is.EqualTo(name));
        Assert.That(mode.IsTrim() && mode.HasWrites() && !mode.HasReads() && !mode.IsMixed(), Is.True);
        Assert.That(mode.IsRandom(), Is.EqualTo(name == "randtrim"));
    }

    [TestCase("trimwrite")]
    [TestCase("randtrimwrite")]
    public void TrimWriteIsNotSupportedYet(string name) =>
        Assert.That(Error($"--rw={name}"), Does.Contain("trim-then-write workloads are not supported yet"));

    [Test]
    public void UnknownRwListsTheChoices() =>
        Assert.That(Error("--rw=random"), Does.Contain("use read, write, randread, randwrite, rw (readwrite), randrw, trim or randtrim"));

    [Test]
    public void RwOffsetModifier()
    {
        Assert.That(ParseKit.Ok("--rw=randread:8").RwModifier, Is.EqualTo(8), "random: I/Os in sequence per random offset");
        Assert.That(ParseKit.Ok("--rw=read:-8k").RwModifier, Is.EqualTo(-8192), "sequential: bytes added, negative backwards");
        Assert.That(ParseKit.Ok("--rw=write:112k").RwModifier, Is.EqualTo(112 * 1024));
        Assert.That(Error("--rw=randread:x"), Does.Contain("a whole number of at least 1"));
        Assert.That(Error("--rw=read:lots"), Does.Contain("a size such as 8k"));
    }

    [TestCase("--time_based", true)]
    [TestCase("--time_based=1", true)]
    [TestCase("--time_based=0", false)]
    [TestCase("--time_based=true", true)]
    [TestCase("--time_based=off", false)]
    public void TimeBasedFlag(string flag, bool expected) =>
        Assert.That(Ok("--runtime=5", flag).TimeBased, Is.EqualTo(expected));

    [Test]
    public void BadBooleanSaysHow() => Assert.That(Error("--runtime=5", "--time_based=maybe"), Does.Contain("use 1 or 0"));

    [Test]
    public void FlagValueAfterSpaceIsExplained() =>
        Assert.That(Error("--runtime=5", "--time_based", "1"), Does.Contain("write --time_based=1"));

    [Test]
    public void FlagDoesNotSwallowTheNextOption()
    {
        var o = Ok("--time_based", "--runtime", "3");
        Assert.That(o.TimeBased, Is.True);
        Assert.That(o.Runtime, Is.EqualTo(TimeSpan.FromSeconds(3)));
    }

    [Test]
    public void RuntimeZeroMeansNoLimitAsInFio() => Assert.That(Ok("--runtime=0").Runtime, Is.Null);

    [Test]
    public void TimeoutIsFiosAliasOfRuntime() => Assert.That(Ok("--timeout=2m").Runtime, Is.EqualTo(TimeSpan.FromMinutes(2)));

    [Test]
    public void LastValueWins() => Assert.That(Ok("--iodepth=4", "--iodepth=8").IoDepth, Is.EqualTo(8));

    [Test]
    public void DashesAndUnderscoresAreInterchangeable()
    {
        Assert.That(Ok("--ramp-time=1").RampTime, Is.EqualTo(TimeSpan.FromSeconds(1)));
        Assert.That(Ok("--output_format=json").OutputFormat, Is.EqualTo(OutputFormat.Json));
    }

    [TestCase("normal", OutputFormat.Normal)]
    [TestCase("json", OutputFormat.Json)]
    [TestCase("json+", OutputFormat.JsonPlus)]
    public void OutputFormats(string name, OutputFormat format) =>
        Assert.That(Ok($"--output-format={name}").OutputFormat, Is.EqualTo(format));

    [Test]
    public void OutputFormatErrors()
    {
        Assert.That(Error("--output-format=xml"), Is.EqualTo("--output-format=xml: unknown format 'xml'; use normal, json, json+ or terse, or several joined by commas (for example json,normal)"));
        Assert.That(Error("--output-format=json,xml"), Does.Contain("unknown format 'xml'"));
    }

    [TestCase("terse", OutputFormat.Terse)]
    [TestCase("minimal", OutputFormat.Terse)]
    [TestCase("csv", OutputFormat.Terse)]
    [TestCase("json,normal", OutputFormat.Json | OutputFormat.Normal)]
    [TestCase("json+,terse", OutputFormat.JsonPlus | OutputFormat.Terse)]
    public void OutputFormatCombinationsAsFio(string value, OutputFormat format)
    {
        Assert.That(Ok($"--output-format={value}").OutputFormat, Is.EqualTo(format));
        Assert.That(Ok("--minimal").OutputFormat, Is.EqualTo(OutputFormat.Terse));
    }

    [TestCase("--iodepht=4", "unknown option '--iodepht'; did you mean '--iodepth'?")]
    [TestCase("--blocksise=4k", "unknown option '--blocksise'; did you mean '--blocksize'?")]
    [TestCase("--runtme=4", "unknown option '--runtme'; did you mean '--runtime'?")]
    [TestCase("--time-base", "unknown option '--time-base'; did you mean '--time_based'?")]
    [TestCase("--devic=mem:1G", "unknown option '--devic'; did you mean '--device'?")]
    public void UnknownOptionSuggestsTheNearest(string arg, string message) => Assert.That(Error(arg), Is.EqualTo(message));

    [Test]
    public void UnknownOptionFarFromAnyHasNoSuggestion() =>
        Assert.That(Error("--frobnicate=1"), Is.EqualTo("unknown option '--frobnicate'; run orion-perf --help for the list of options"));

    [TestCase("verify_async")]
    [TestCase("trim_percentage")]
    [TestCase("cpuload")]
    [TestCase("cpumask")]
    public void KnownFioOptionsAreNotSupportedYet(string name) =>
        Assert.That(Error($"--{name}=4"), Is.EqualTo($"fio option '--{name}' is not supported yet"));

    [Test]
    public void AnotherEngineIsNotedAndTheJobRunsOnOrion()
    {
        var outcome = JobOptionsParser.Parse(["--ioengine=libaio", "--device=null:16M"]);
        Assert.That(outcome.IsSuccess, Is.True, outcome.Message);
        Assert.That(outcome.Notes, Is.EqualTo(new[] { "the jobs run on the Orion engine (a polled virtio-blk queue per job) rather than the ioengine named: libaio" }));
    }

    [Test]
    public void FilenameIsAFileDeviceWithoutDevice()
    {
        Assert.That(ParseKit.Ok("--filename=/dev/nvme0n1").Device, Is.EqualTo("file:/dev/nvme0n1"));
        Assert.That(ParseKit.Ok("--filename=/var/tmp/no-such-orion-file", "--size=1m").Device, Is.EqualTo("file:/var/tmp/no-such-orion-file,size=1048576"),
            "a file that does not exist is created at the job's size, as fio lays it out");
        Assert.That(Error("--filename=/var/tmp/no-such-orion-file"), Does.Contain("does not exist; give size="));
        Assert.That(Error("--filename=/a:/b"), Does.Contain("several files"));
        var given = JobOptionsParser.Parse(["--filename=/dev/nvme0n1", "--device=null:16M"]);
        Assert.That(given.Options!.Device, Is.EqualTo("null:16M"));
        Assert.That(given.Notes, Has.Some.EqualTo("filename=/dev/nvme0n1 not used: the jobs run on --device=null:16M"));
    }

    [Test]
    public void UnsupportedOptionWithSpaceValueIsOneError()
    {
        var outcome = JobOptionsParser.Parse(["--offset_align", "256m", "--bs=4k"]);
        Assert.That(outcome.Errors, Is.EqualTo(new[] { "fio option '--offset_align' is not supported yet" }));
    }

    [Test]
    public void EngineOptionsPassThrough()
    {
        var outcome = JobOptionsParser.Parse(["--numjobs=2", "--ring=packed", "--indirect=0", "--event_idx=0", "--poll_mode=adaptive"]);
        Assert.That(outcome.IsSuccess, Is.True, outcome.Message);
        var o = outcome.Options!;
        Assert.That(o.NumJobs, Is.EqualTo(2));
        Assert.That(o.Ring, Is.EqualTo(Orion.Pmd.Engine.RingFormat.Packed));
        Assert.That(o.Indirect, Is.False);
        Assert.That(o.EventIdx, Is.False);
        Assert.That(o.PollMode, Is.EqualTo(Orion.Pmd.Engine.NotificationMode.Adaptive));
    }

    [Test]
    public void JobFilesAreNotSupportedYet() => Assert.That(Error("job.fio"), Does.Contain("job files are not supported yet"));

    [Test]
    public void JobFileLineIsRewrittenAsAnOption() =>
        Assert.That(Error("rw=randread"), Does.Contain("write it as --rw=randread"));

    [Test]
    public void SingleDashOptionIsExplained() => Assert.That(Error("-bs=4k"), Does.Contain("options start with '--'"));

    [Test]
    public void MissingValueGivesAnExample()
    {
        Assert.That(Error("--bs"), Is.EqualTo("--bs needs a value (for example --bs=4k)"));
        Assert.That(Error("--iodepth", "--bs=4k"), Is.EqualTo("--iodepth needs a value (for example --iodepth=32)"));
    }

    [Test]
    public void AllErrorsAreReportedTogether()
    {
        var outcome = JobOptionsParser.Parse(["--iodepht=4", "--bssplit=2", "--bs=abc"]);
        Assert.That(outcome.Errors, Has.Count.EqualTo(3));
        Assert.That(outcome.Message.Split(Environment.NewLine), Has.Length.EqualTo(3));
    }

    [Test]
    public void ValueErrorsNameTheOption()
    {
        Assert.That(Error("--bs=abc"), Does.StartWith("--bs=abc: 'abc' is not a size"));
        Assert.That(Error("--iodepth=x"), Is.EqualTo("--iodepth=x: 'x' is not a whole number"));
        Assert.That(Error("--runtime=soon"), Does.StartWith("--runtime=soon: 'soon' is not a time"));
        Assert.That(Error("--size=x%"), Does.Contain("'x%' is not a percentage"));
        Assert.That(Error("--bs=4k,8k,3"), Does.Contain("block size must be a multiple of 512"));
        Assert.That(Error("--bs=4k,8k,4k,4k"), Does.Contain("at most three values"));
        Assert.That(Error("--rwmixwrite=101"), Does.Contain("from 0 to 100"));
        Assert.That(Error("--eta=sometimes"), Does.Contain("always, never or auto"));
        Assert.That(Error("--bs=2m"), Does.Contain("block size must be at most 1m"));
    }

    [Test]
    public void ParseRunsValidation()
    {
        Assert.That(Error("--bs=1000"), Is.EqualTo("--bs=1000: block size must be a multiple of 512 bytes (for example 4k)"));
        Assert.That(Error("--time_based"), Does.Contain("--time_based needs a --runtime"));
    }

    [Test]
    public void DeviceErrorsComeFromTheEngineParser() => Assert.That(Error("--device=disk:1G"), Does.Contain("unknown device kind 'disk'"));

    [TestCase("--device=disk:1G", "--device=disk:1G: unknown device kind 'disk'; expected mem:SIZE or null:SIZE")]
    [TestCase("--device=1G", "--device=1G: missing the device kind")]
    [TestCase("--device=mem", "--device=mem: missing the size")]
    [TestCase("--device=mem:lots", "--device=mem:lots: 'lots' is not a device size")]
    [TestCase("--device=null:1G,bs=1000", "--device=null:1G,bs=1000: 'bs=1000' is not a valid logical block size")]
    [TestCase("--device=null:1G,fast", "--device=null:1G,fast: unknown device option 'fast'")]
    [TestCase("--device=null:1G,prefill", "--device=null:1G,prefill: 'prefill' applies only to mem: devices")]
    [TestCase("--device=mem:1000", "--device=mem:1000: size 1000 is not a multiple of the 512-byte logical block size")]
    [TestCase("--device=", "--device: empty device string")]
    public void DeviceErrorsNameTheOption(string arg, string start) => Assert.That(Error(arg), Does.StartWith(start));

    [Test]
    public void DeviceOptionsAreKept()
    {
        Assert.That(Ok("--device=mem:256M,ro,bs=4k").DeviceString, Is.EqualTo(new Orion.Pmd.Transport.DeviceString(Orion.Pmd.Transport.DeviceKind.Memory, 256L << 20, 4096, true)));
        Assert.That(Ok("--device=mem:16M,prefill").DeviceString!.Prefill, Is.True);
        Assert.That(Ok("--device= null:64G ").Device, Is.EqualTo("null:64G"));
    }

    [TestCase("--help")]
    [TestCase("-h")]
    public void HelpListsEveryOption(string arg)
    {
        var outcome = JobOptionsParser.Parse(["--bs=4k", arg, "--bogus"]);
        Assert.That(outcome.Kind, Is.EqualTo(ParseOutcomeKind.Help));
        foreach (var name in new[] { "--name=", "--rw=", "--bs=", "--iodepth=", "--runtime=", "--time_based", "--ramp_time=", "--size=",
                                     "--offset=", "--rwmixread=", "--rwmixwrite=", "--device=", "--output-format=", "--output=",
                                     "--direct", "--help", "--version" })
        {
            Assert.That(outcome.Message, Does.Contain("  " + name), name);
        }
        var optionLines = outcome.Message.Split('\n').Where(l => l.StartsWith("  --", StringComparison.Ordinal)).ToList();
        Assert.That(optionLines.Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0]), Is.Unique);
    }

    [Test]
    public void Version()
    {
        var outcome = JobOptionsParser.Parse(["--version"]);
        Assert.That(outcome.Kind, Is.EqualTo(ParseOutcomeKind.Version));
        Assert.That(outcome.Message, Is.EqualTo(JobOptionsParser.ToolVersion));
    }
}
