using Orion.Perf.Workload;
using Orion.Perf;
using Orion.Perf.Options;
using Orion.Pmd.Linux;

using static Orion.Perf.Tests.Options.ParseKit;

namespace Orion.Perf.Tests.Options;

/// <summary>rate_iops, rate_process, verify, verify_fatal, do_verify, cpus_allowed, direct, stonewall and new_group: values, defaults and errors.</summary>
[TestFixture]
public class FioFeatureOptionsTests
{
    [Test]
    public void DefaultsAreFios()
    {
        var o = new JobOptions();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(o.RateIops, Is.Null);
            Assert.That(o.RateProcess, Is.EqualTo(RateProcess.Linear));
            Assert.That(o.Verify, Is.EqualTo(VerifyMode.None));
            Assert.That(o.VerifyFatal, Is.False);
            Assert.That(o.DoVerify, Is.True);
            Assert.That(o.CpusAllowed, Is.Null);
            Assert.That(o.Direct, Is.True);
            Assert.That(o.Stonewall, Is.False);
            Assert.That(o.NewGroup, Is.False);
        }
    }

    // ---- rate_iops / rate_process

    [Test]
    public void RateIops()
    {
        Assert.That(Ok("--rate_iops=5000").RateIops, Is.EqualTo(5000));
        Assert.That(Ok("--rate_iops", "20").RateIops, Is.EqualTo(20));
        Assert.That(Ok("--rate_iops=0").RateIops, Is.Null, "fio: 0 means no limit");
    }

    [TestCase("--rate_iops=fast", "--rate_iops=fast: 'fast' is not a whole number of I/Os per second (for example --rate_iops=5000)")]
    [TestCase("--rate_iops=1.5", "--rate_iops=1.5: '1.5' is not a whole number of I/Os per second (for example --rate_iops=5000)")]
    [TestCase("--rate_iops=-5", "--rate_iops=-5: the rate must be from 1 to 100000000 I/Os per second per job (or 0 for no limit)")]
    [TestCase("--rate_iops=100000001", "--rate_iops=100000001: the rate must be from 1 to 100000000 I/Os per second per job (or 0 for no limit)")]
    [TestCase("--rate_process=bursty", "--rate_process=bursty: use linear or poisson")]
    [TestCase("--rate_iops", "--rate_iops needs a value (for example --rate_iops=INT)")]
    public void RateErrors(string arg, string message) => Assert.That(Error(arg), Is.EqualTo(message));

    [Test]
    public void RateBelowOneIsRefusedWhenSetDirectly() =>
        Assert.That(new JobOptions { RateIops = 0 }.Validate(), Has.Some.StartsWith("--rate_iops=0: the rate must be from 1"));

    [TestCase("linear", RateProcess.Linear)]
    [TestCase("Poisson", RateProcess.Poisson)]
    public void RateProcessValues(string value, RateProcess expected) =>
        Assert.That(Ok("--rate_iops=100", $"--rate_process={value}").RateProcess, Is.EqualTo(expected));

    // ---- verify

    [TestCase("crc32c", VerifyMode.Crc32c)]
    [TestCase("crc32c-intel", VerifyMode.Crc32cIntel)]
    [TestCase("md5", VerifyMode.Md5)]
    [TestCase("sha3-224", VerifyMode.Sha3_224)]
    [TestCase("xxhash", VerifyMode.Xxhash)]
    [TestCase("0", VerifyMode.None)]
    [TestCase("none", VerifyMode.None)]
    public void VerifyValues(string value, VerifyMode expected) =>
        Assert.That(Ok("--rw=randwrite", $"--verify={value}").Verify, Is.EqualTo(expected));

    [Test]
    public void VerifyFlags()
    {
        var o = Ok("--rw=write", "--verify=crc32c", "--verify_fatal", "--do_verify=0");
        Assert.That(o.VerifyFatal, Is.True);
        Assert.That(o.DoVerify, Is.False);
        Assert.That(Ok("--rw=write", "--verify=crc32c", "--verify_fatal=0").VerifyFatal, Is.False);
    }

    [TestCase("--verify=null", "--verify=null: fio's null verify (pretend to verify) tests fio's own internals; use a checksum such as --verify=crc32c, or --verify=0 to turn verification off")]
    [TestCase("--verify=sha257", "--verify=sha257: unknown verify type; use one of md5, crc64, crc32, crc32c, crc32c-intel, crc16, crc7, sha256, sha512, sha3-224, sha3-256, sha3-384, sha3-512, xxhash, sha1, meta, pattern, or --verify=0 (or none) to turn verification off")]
    [TestCase("--verify=yes", "--verify=yes: unknown verify type; use one of md5, crc64, crc32, crc32c, crc32c-intel, crc16, crc7, sha256, sha512, sha3-224, sha3-256, sha3-384, sha3-512, xxhash, sha1, meta, pattern, or --verify=0 (or none) to turn verification off")]
    [TestCase("--verify=pattern", "--verify=pattern: give the pattern every block must hold with --verify_pattern (for example --verify_pattern=0xaa555aa5)")]
    [TestCase("--verify_pattern=aa55", "--verify_pattern=aa55: give a hex number (for example 0xaa555aa5, its bytes in the order written) or a quoted string of up to 512 bytes")]
    [TestCase("--verify_fatal=maybe", "--verify_fatal=maybe: use 1 or 0 (or just --verify_fatal to turn it on)")]
    [TestCase("--do_verify=2", "--do_verify=2: use 1 or 0 (or just --do_verify to turn it on)")]
    public void VerifyValueErrors(string arg, string message) => Assert.That(Error("--rw=write", arg), Is.EqualTo(message));

    [TestCase("trim", "--verify=crc32c --rw=trim: a trim leaves no data to check; verify a workload that writes (write, randwrite, rw or randrw) or reads")]
    public void VerifyNeedsData(string rw, string message) =>
        Assert.That(Error($"--rw={rw}", "--verify=crc32c", "--device=mem:16M"), Is.EqualTo(message));

    [Test]
    public void VerifyPatternAndInterval()
    {
        var o = Ok("--rw=read", "--verify=meta", "--verify_pattern=0xaa555aa5", "--verify_interval=512", "--bs=64k", "--numjobs=2");
        Assert.That(o.VerifyPatternBytes, Is.EqualTo(new byte[] { 0xaa, 0x55, 0x5a, 0xa5 }), "the hex number's bytes in the order written");
        Assert.That(o.VerifyChunkBytes, Is.EqualTo(512));
        Assert.That(Ok("--rw=write", "--verify=pattern", "--verify_pattern='ab'").VerifyPatternBytes, Is.EqualTo("ab"u8.ToArray()));
        Assert.That(Ok("--rw=write", "--verify=crc32c", "--bs=8k").VerifyChunkBytes, Is.EqualTo(8192), "by default the smallest block size");
        Assert.That(Error("--rw=write", "--verify=crc32c", "--verify_interval=1000"),
            Is.EqualTo("--verify_interval=1000: give a multiple of 512 that divides the smallest block size (4k) and holds a verify header"));
    }

    [Test]
    public void VerifyNeedsADeviceThatKeepsData() =>
        Assert.That(Error("--rw=randwrite", "--verify=crc32c", "--device=null:1G"),
            Is.EqualTo("--verify=crc32c --device=null:1G: the null device keeps no data, so nothing could be verified; use a mem: or file: device"));

    [Test]
    public void VerifyWithOneJobOnly() =>
        Assert.That(Error("--rw=randwrite", "--verify=crc32c", "--numjobs=2"),
            Is.EqualTo("--verify=crc32c --numjobs=2: the jobs share one region, so one job's writes would overwrite blocks another checks; verify with --numjobs=1, or give each job a region of its own with --offset_increment (at least --size apart)"));

    [Test]
    public void VerifyWithMixedSizesNeedsMultiplesOfTheSmallest()
    {
        Assert.That(Error("--rw=randwrite", "--verify=crc32c", "--bssplit=4k/50:6k/50"),
            Is.EqualTo("--verify=crc32c --bssplit=4k/50:6k/50: every block size must be a multiple of the smallest (4k), which is the unit each header covers; 6k is not"));
        Assert.That(Ok("--rw=randwrite", "--verify=crc32c", "--bssplit=4k/50:16k/50").Verify, Is.EqualTo(VerifyMode.Crc32c));
    }

    [Test]
    public void VerifyFatalWithoutVerifyIsIgnoredAsInFio() => Assert.That(Ok("--verify_fatal").VerifyFatal, Is.True);

    // ---- cpus_allowed

    [TestCase("0-3,6", new[] { 0, 1, 2, 3, 6 })]
    [TestCase("6,0-1,1", new[] { 0, 1, 6 })]
    [TestCase(" 2 ", new[] { 2 })]
    [TestCase("1023", new[] { 1023 })]
    public void CpuListsParseAsSets(string text, int[] expected)
    {
        Assert.That(CpuList.TryParse(text, out var cpus, out var error), Is.True, error);
        Assert.That(cpus, Is.EqualTo(expected));
    }

    [TestCase("", "the CPU list is empty; give CPU numbers and ranges separated by commas, for example 0-3,6")]
    [TestCase("0,,2", "an empty item between commas; give CPU numbers and ranges separated by commas, for example 0-3,6")]
    [TestCase("a", "'a' is not a CPU number or range; give CPU numbers and ranges separated by commas, for example 0-3,6")]
    [TestCase("-1", "'-1' is not a CPU number or range; give CPU numbers and ranges separated by commas, for example 0-3,6")]
    [TestCase("0-", "'0-' is not a CPU number or range; give CPU numbers and ranges separated by commas, for example 0-3,6")]
    [TestCase("3-1", "the range 3-1 runs backwards; write 1-3")]
    [TestCase("1024", "CPU 1024 is above the largest CPU number supported, 1023")]
    public void CpuListErrors(string text, string message)
    {
        Assert.That(CpuList.TryParse(text, out _, out var error), Is.False);
        Assert.That(error, Is.EqualTo(message));
        Assert.That(Error($"--cpus_allowed={text}"), Is.EqualTo($"--cpus_allowed={text}: {message}"));
    }

    [TestCase(new[] { 0, 1, 2, 3, 6 }, "0-3,6")]
    [TestCase(new[] { 5 }, "5")]
    [TestCase(new[] { 1, 3, 5 }, "1,3,5")]
    public void CpuListFormat(int[] cpus, string text) => Assert.That(CpuList.Format(cpus), Is.EqualTo(text));

    [Test]
    public void CpusInTheAllowedSetAreTaken()
    {
        int first = CpuAffinity.GetAllowedCpus()[0];
        Assert.That(Ok($"--cpus_allowed={first}").CpusAllowed, Is.EqualTo(new[] { first }));
    }

    [Test]
    public void ACpuOutsideTheAllowedSetIsRefusedNamingTheSet()
    {
        var allowed = CpuAffinity.GetAllowedCpus();
        int outside = Enumerable.Range(0, CpuAffinity.MaxCpus).First(c => !allowed.Contains(c));
        Assert.That(Error($"--cpus_allowed={allowed[0]},{outside}"),
            Is.EqualTo($"--cpus_allowed={CpuList.Format([allowed[0], outside])}: CPU {outside} is not in this process's allowed set ({CpuList.Format(allowed)}); choose from those"));
    }

    [Test]
    public void EveryJobNeedsItsOwnCpu()
    {
        int first = CpuAffinity.GetAllowedCpus()[0];
        Assert.That(Error($"--cpus_allowed={first}", "--numjobs=2"),
            Is.EqualTo($"--cpus_allowed={first} --numjobs=2: 2 jobs need 2 CPUs, one per reactor; the list has 1"));
    }

    // ---- direct, stonewall, new_group

    [Test]
    public void DirectZeroIsAcceptedWithANote()
    {
        var o = Ok("--direct=0");
        Assert.That(o.Direct, Is.False);
        Assert.That(PerfCommand.Notes([o], [0]), Has.Some.StartsWith("--direct=0 has no effect"));
        Assert.That(PerfCommand.Notes([Ok("--direct=1")], [0]), Is.Empty);
    }

    [Test]
    public void StonewallAndNewGroupAreFlags()
    {
        Assert.That(Ok("--stonewall").Stonewall, Is.True);
        Assert.That(Ok("--wait_for_previous").Stonewall, Is.True);
        Assert.That(Ok("--new_group").NewGroup, Is.True);
        Assert.That(Error("--stonewall=sometimes"), Is.EqualTo("--stonewall=sometimes: use 1 or 0 (or just --stonewall to turn it on)"));
    }

    [Test]
    public void HelpListsTheNewOptions()
    {
        var help = JobOptionsParser.Usage();
        foreach (var name in new[] { "--rate_iops=INT", "--rate_process=PROC", "--verify=TYPE", "--verify_fatal", "--do_verify", "--cpus_allowed=CPUS",
                                     "--stonewall", "--new_group", "--direct" })
            Assert.That(help, Does.Contain("  " + name), name);
        Assert.That(help, Does.Contain("coordinated-omission corrected"));
    }
}

/// <summary>fio's reporting groups from stonewall and new_group, in job files.</summary>
[TestFixture]
public class JobGroupTests
{
    private static IReadOnlyList<JobOptions> Jobs(string text)
    {
        var outcome = JobOptionsParser.ParseJobs(["job.fio", "--device=null:16M"], _ => text);
        Assert.That(outcome.Kind, Is.EqualTo(ParseOutcomeKind.Success), outcome.Message);
        return outcome.Jobs;
    }

    [Test]
    public void WithoutStonewallEveryJobIsInGroupZero() =>
        Assert.That(PerfCommand.GroupIds(Jobs("[a]\n[b]\n[c]\n")), Is.EqualTo(new[] { 0, 0, 0 }));

    [Test]
    public void StonewallAndNewGroupStartTheNextGroup()
    {
        var jobs = Jobs("[a]\n[b]\nstonewall\n[c]\n[d]\nnew_group\n[e]\nstonewall\n");
        Assert.That(jobs.Select(j => j.Stonewall), Is.EqualTo(new[] { false, true, false, false, true }));
        Assert.That(PerfCommand.GroupIds(jobs), Is.EqualTo(new[] { 0, 1, 1, 2, 3 }));
    }

    [Test]
    public void AStonewallOnTheFirstJobStartsNoEmptyGroup() =>
        Assert.That(PerfCommand.GroupIds(Jobs("[a]\nstonewall\n[b]\n")), Is.EqualTo(new[] { 0, 0 }));

    [Test]
    public void AGlobalStonewallPutsEveryJobInItsOwnGroup() =>
        Assert.That(PerfCommand.GroupIds(Jobs("[global]\nstonewall\n[a]\n[b]\n[c]\n")), Is.EqualTo(new[] { 0, 1, 2 }));

    [Test]
    public void JobsUpToAStonewallRunConcurrentlyOnOneEngine()
    {
        var jobs = Jobs("[a]\n[b]\nnew_group\n[c]\nstonewall\n");
        var batches = PerfCommand.Batches(jobs);
        // new_group starts a group without waiting: a and b share the first batch and its engine; c waits for them.
        Assert.That(batches.Count, Is.EqualTo(2));
        Assert.That(batches[0], Is.EqualTo(new[] { new[] { 0, 1 } }));
        Assert.That(batches[1], Is.EqualTo(new[] { new[] { 2 } }));
        Assert.That(PerfCommand.Notes(jobs, PerfCommand.GroupIds(jobs)), Is.Empty);
    }

    [Test]
    public void JobsWithOtherEngineOptionsFallBackToRunningAfterwardsWithANote()
    {
        var jobs = Jobs("[a]\n[b]\nring=packed\n[c]\n");
        Assert.That(PerfCommand.Batches(jobs), Is.EqualTo(new[] { new[] { new[] { 0, 2 }, new[] { 1 } } }));
        Assert.That(PerfCommand.Notes(jobs, PerfCommand.GroupIds(jobs)).ToList(),
                    Is.EqualTo(new[] { "job 'b' runs after 'a' rather than concurrently with it, on its own engine: ring Packed differs from Split" }));
    }

    [Test]
    public void TheSharedEngineHasEveryJobsQueues()
    {
        var jobs = Jobs("[a]\nnumjobs=2\niodepth=4\n[b]\niodepth=1000\n");
        var engine = JobExecution.EngineOptionsFor(jobs);
        Assert.That(engine.Queues, Is.EqualTo(3));
        Assert.That(engine.QueueSize, Is.EqualTo(1024));
        Assert.That(engine.Device, Does.StartWith("null:16M"));
    }
}
