using Orion.Perf.Options;

namespace Orion.Perf.Tests.Options;

/// <summary>Job files and command lines as fio parses them: comments, include, ${VAR}, several --name jobs, accepted and ignored options.</summary>
[TestFixture]
public class JobFileSyntaxTests
{
    private static ParseOutcome Parse(IReadOnlyDictionary<string, string> files, IReadOnlyDictionary<string, string>? env, params string[] args) =>
        JobOptionsParser.ParseJobs(args, path => files.TryGetValue(path, out var t) ? t : throw new FileNotFoundException($"no file {path}"),
                                   name => env is not null && env.TryGetValue(name, out var v) ? v : null);

    private static ParseOutcome File(string text, params string[] args) =>
        Parse(new Dictionary<string, string> { ["job.fio"] = text }, null, [.. args, "job.fio"]);

    private static IReadOnlyList<JobOptions> Ok(ParseOutcome outcome)
    {
        Assert.That(outcome.Kind, Is.EqualTo(ParseOutcomeKind.Success), outcome.Message);
        return outcome.Jobs;
    }

    [Test]
    public void InlineCommentsEndTheValue()
    {
        var job = Ok(File("[a]\nsize=8m ; 8 MiB\niodepth=4\t# four\nname_ok=1\n".Replace("name_ok=1\n", ""), "--device=null:16M"))[0];
        Assert.That(job.Size, Is.EqualTo(8L << 20));
        Assert.That(job.IoDepth, Is.EqualTo(4));
        Assert.That(JobFileSource.StripComment("description=a#b"), Is.EqualTo("description=a#b"), "a # inside a value is not a comment");
        Assert.That(JobFileSource.StripComment("   ; all comment"), Is.EqualTo("   "));
    }

    [Test]
    public void IncludePullsInOptionsRelativeToTheFile()
    {
        var files = new Dictionary<string, string>
        {
            ["dir/job.fio"] = "[global]\ninclude common.fio\n[a]\nrw=read\ninclude more.fio\n",
            ["dir/common.fio"] = "bs=8k\n",
            ["dir/more.fio"] = "iodepth=16\n",
        };
        var job = Ok(Parse(files, null, "--device=null:16M", "dir/job.fio"))[0];
        Assert.That((job.BlockSize, job.IoDepth, job.Rw), Is.EqualTo((8192, 16, ReadWriteMode.Read)));
    }

    [Test]
    public void IncludeErrorsNameTheLine()
    {
        var files = new Dictionary<string, string> { ["job.fio"] = "[a]\ninclude x.fio\ninclude self.fio\n", ["x.fio"] = "[b]\n", ["self.fio"] = "include self.fio\n" };
        var outcome = Parse(files, null, "job.fio");
        Assert.That(outcome.Errors, Has.Some.StartWith("x.fio:1: '[b]': an included file may not contain sections"));
        Assert.That(outcome.Errors, Has.Some.Contains("includes nest deeper than 16"));
        Assert.That(Parse(new Dictionary<string, string> { ["job.fio"] = "[a]\ninclude gone.fio\n" }, null, "job.fio").Message,
            Does.StartWith("job.fio:2: include gone.fio: cannot read 'gone.fio'"));
    }

    [Test]
    public void EnvironmentVariablesExpandInValues()
    {
        var env = new Dictionary<string, string> { ["SIZE"] = "64m", ["NUMJOBS"] = "2" };
        var job = Ok(Parse(new Dictionary<string, string> { ["job.fio"] = "[a]\nsize=${SIZE}\nnumjobs=${NUMJOBS}\ndescription=x${UNSET}y\n" }, env,
                           "--device=null:1G", "job.fio"))[0];
        Assert.That((job.Size, job.NumJobs), Is.EqualTo((64L << 20, 2)));
    }

    [Test]
    public void EachNameStartsAJobAndEarlierOptionsAreGlobal()
    {
        var outcome = JobOptionsParser.Parse(["--bs=8k", "--device=null:16M", "--name=a", "--rw=read", "--name=b", "--iodepth=4"]);
        var jobs = Ok(outcome);
        Assert.That(jobs.Select(j => j.Name), Is.EqualTo(new[] { "a", "b" }));
        Assert.That(jobs.Select(j => j.Rw), Is.EqualTo(new[] { ReadWriteMode.Read, ReadWriteMode.RandRead }), "rw belongs to a only");
        Assert.That(jobs.Select(j => j.IoDepth), Is.EqualTo(new[] { 1, 4 }));
        Assert.That(jobs.All(j => j.BlockSize == 8192), Is.True, "options before the first --name are global");
        Assert.That(JobOptionsParser.Parse(["--name=a", "--iodepth=0", "--name=b"]).Message, Does.StartWith("job 'a': --iodepth=0"));
    }

    [Test]
    public void CommandLineJobsComeBeforeTheFilesJobs()
    {
        var jobs = Ok(File("[f]\nrw=write\n", "--device=null:16M", "--name=c", "--rw=read"));
        Assert.That(jobs.Select(j => (j.Name, j.Rw)), Is.EqualTo(new[] { ("c", ReadWriteMode.Read), ("f", ReadWriteMode.Write) }));
    }

    [Test]
    public void OptionsThatRestateADefaultNeverStopAJob()
    {
        var outcome = File("[global]\nthread\nthreads=1\nmax-jobs=8\nclat_percentiles=1\ndescription=a job\nloops=1\nbuffered=0\ninvalidate=1\n[a]\n",
                           "--device=null:16M", "--max-jobs=4");
        Assert.That(Ok(outcome), Has.Count.EqualTo(1));
        Assert.That(outcome.Notes, Is.Empty, "nothing to say about defaults");
    }

    [Test]
    public void InapplicableOptionsAreNamedInOneNote()
    {
        var outcome = File("[global]\ndirectory=/data\nnice=5\n[a]\nnuma_cpu_nodes=0\nioengine=libaio\n[b]\nioengine=io_uring\n", "--device=null:16M");
        Assert.That(Ok(outcome), Has.Count.EqualTo(2));
        Assert.That(outcome.Notes, Is.EqualTo(new[]
        {
            "the jobs run on the Orion engine (a polled virtio-blk queue per job) rather than the ioengine named: libaio, io_uring",
            "ignored, as they do not apply to a block device on the Orion engine: directory=/data (job.fio:2), nice=5 (job.fio:3), numa_cpu_nodes=0 (job.fio:5)",
        }));
    }

    [Test]
    public void ADefaultRestatedWithAnotherValueIsNotSilentlyAccepted() =>
        Assert.That(File("[a]\ndisable_slat=1\n").Message, Does.StartWith("job.fio:2: fio option 'disable_slat' is not supported yet"));

    [Test]
    public void UnknownOptionNamesFileLineAndTheNearest() =>
        Assert.That(File("[global]\nbs=4k\n\n[a]\n; comment\niodepht=8\n").Message, Is.EqualTo("job.fio:6: unknown option 'iodepht'; did you mean 'iodepth'?"));

    [Test]
    public void MeasuredOptionsNotBuiltAreRefusedWithTheReason() =>
        Assert.That(File("[a]\ntrim_backlog=16\n").Message, Does.StartWith("job.fio:2: fio option 'trim_backlog' is not supported: trimming written blocks every N writes"));

    [Test]
    public void ReadonlyRefusesAWriteJob()
    {
        Assert.That(JobOptionsParser.Parse(["--readonly", "--rw=randwrite"]).Message, Does.Contain("--readonly --rw=randwrite: readonly refuses a job that writes"));
        Assert.That(JobOptionsParser.Parse(["--readonly", "--rw=trim"]).IsSuccess, Is.False);
        Assert.That(JobOptionsParser.Parse(["--readonly", "--rw=randread"]).IsSuccess, Is.True);
    }

    [Test]
    public void PerDirectionValues()
    {
        var o = ParseKit.Ok("--rw=randrw", "--bs=4k,64k", "--rate=1m,,2m", "--rate_iops=100,200");
        Assert.That(o.BlockSizes3, Is.EqualTo(new PerDirection(4096, 65536, 65536)), "a missing trim value takes the write one");
        Assert.That(o.Rate, Is.EqualTo(new PerDirection(1 << 20, 0, 2 << 20)), "an empty field is the default");
        Assert.That(o.RateIopsByDirection, Is.EqualTo(new PerDirection(100, 200, 200)));
        Assert.That(ParseKit.Ok("--bs=,8k").BlockSizes3, Is.EqualTo(new PerDirection(4096, 8192, 8192)));
        Assert.That(ParseKit.Ok("--rate_iops=500").RateIops, Is.EqualTo(500));
        Assert.That(o.MaxBlockBytes, Is.EqualTo(65536));
    }

    [Test]
    public void SizesInPercentAndTheRegion()
    {
        var o = ParseKit.Ok("--size=50%", "--offset=25%", "--device=null:16M");
        Assert.That(o.ResolveRegion(16L << 20, 512), Is.EqualTo((4L << 20, 6L << 20)), "50% of what is left after a 25% offset");
        Assert.That(ParseKit.Ok("--fill_device", "--size=1m", "--rw=write").ResolveRegion(1L << 30, 512), Is.EqualTo((0L, 1L << 30)));
        Assert.That(ParseKit.Error("--size=150%"), Does.Contain("at most 100"));
        Assert.That(ParseKit.Error("--numjobs=4", "--offset_increment=512m", "--size=1m", "--device=null:1G"), Does.Contain("job 4's region would be"));
    }

    [Test]
    public void BsRangeAndBlockAlign()
    {
        var o = ParseKit.Ok("--bsrange=4k-16k", "--blockalign=8k");
        Assert.That(o.BlockSizeRange, Is.EqualTo((4096, 16384)));
        Assert.That((o.MinBlockBytes, o.MaxBlockBytes, o.BlockAlign), Is.EqualTo((4096, 16384, 8192)));
        Assert.That(ParseKit.Error("--bsrange=16k-4k"), Does.Contain("MIN <= MAX"));
        Assert.That(ParseKit.Error("--bsrange=4k"), Does.Contain("give MIN-MAX"));
    }

    [TestCase("--exit_what=everything", "--exit_what=everything: use group, stonewall or all")]
    [TestCase("--random_generator=mt", "use tausworthe, lfsr or tausworthe64")]
    [TestCase("--thinktime_spin=2s", "cannot be longer")]
    [TestCase("--loops=0", "the number of passes must be from 1")]
    public void WorkloadOptionErrors(string arg, string fragment) => Assert.That(ParseKit.Error(arg, "--thinktime=1s"), Does.Contain(fragment));
}
