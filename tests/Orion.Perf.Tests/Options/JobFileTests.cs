using System.Text.Json;
using Orion.Perf.Options;
using Orion.Perf.Reporting;
using Orion.Perf.Workload;

namespace Orion.Perf.Tests.Options;

/// <summary>fio job files through <see cref="JobOptionsParser.ParseJobs"/>, with the files given as text.</summary>
[TestFixture]
public class JobFileTests
{
    private static ParseOutcome Parse(string text, params string[] args) =>
        JobOptionsParser.ParseJobs([.. args, "job.fio"], path => path == "job.fio" ? text : throw new FileNotFoundException($"no file {path}"));

    private static IReadOnlyList<JobOptions> Ok(string text, params string[] args)
    {
        var outcome = Parse(text, args);
        Assert.That(outcome.Kind, Is.EqualTo(ParseOutcomeKind.Success), outcome.Message);
        return outcome.Jobs;
    }

    private static string Error(string text, params string[] args)
    {
        var outcome = Parse(text, args);
        Assert.That(outcome.Kind, Is.EqualTo(ParseOutcomeKind.Error));
        return outcome.Message;
    }

    [Test]
    public void GlobalSectionIsInheritedByEveryJob()
    {
        var jobs = Ok("""
            ; a comment
            # another
            [global]
            bs=8k
            iodepth=16
            time_based
            runtime=2

            [reads]
            rw=randread

            [writes]
            rw=randwrite
            iodepth=4
            """);
        Assert.That(jobs.Select(j => j.Name), Is.EqualTo(new[] { "reads", "writes" }));
        Assert.That(jobs.Select(j => j.Rw), Is.EqualTo(new[] { ReadWriteMode.RandRead, ReadWriteMode.RandWrite }));
        Assert.That(jobs.Select(j => j.IoDepth), Is.EqualTo(new[] { 16, 4 }), "a job's own key wins over the global one");
        Assert.That(jobs.All(j => j.BlockSize == 8192 && j.TimeBased && j.Runtime == TimeSpan.FromSeconds(2)), Is.True);
    }

    [Test]
    public void CommandLineOptionsAreGlobalsTheFileCanOverride()
    {
        var jobs = Ok("[a]\nbs=16k\n[b]\n", "--device=null:16M", "--bs=4k", "--iodepth=2");
        Assert.That(jobs.Select(j => j.BlockSize), Is.EqualTo(new[] { 16384, 4096 }));
        Assert.That(jobs.All(j => j.Device == "null:16M" && j.IoDepth == 2), Is.True);
    }

    [Test]
    public void LaterGlobalSectionsApplyToLaterJobs()
    {
        var jobs = Ok("[global]\niodepth=2\n[a]\n[global]\niodepth=8\n[b]\n");
        Assert.That(jobs.Select(j => j.IoDepth), Is.EqualTo(new[] { 2, 8 }));
    }

    [Test]
    public void AFileWrittenForFiosNullEngineRunsUnchangedApartFromTheDevice()
    {
        var outcome = Parse("""
            [global]
            ioengine=null
            filename=/dev/null
            size=8m
            bs=4k
            iodepth=8
            direct=1
            group_reporting

            [seq]
            rw=read
            runtime=1
            time_based
            stonewall

            [rand]
            new_group
            rw=randread
            """, "--device=null:16M");
        Assert.That(outcome.Kind, Is.EqualTo(ParseOutcomeKind.Success), outcome.Message);
        Assert.That(outcome.Jobs, Has.Count.EqualTo(2));
        Assert.That(outcome.Options, Is.SameAs(outcome.Jobs[0]));
        Assert.That(outcome.Jobs.All(j => j.Size == 8L << 20 && j.IoDepth == 8 && j.Device == "null:16M"), Is.True);
        Assert.That(outcome.Notes, Is.EqualTo(new[]
        {
            "the jobs run on the Orion engine (a polled virtio-blk queue per job) rather than the ioengine named: null",
            "filename=/dev/null not used: the jobs run on --device=null:16M",
        }));
    }

    [TestCase("[a]\niodepht=4\n", "job.fio:2: unknown option 'iodepht'; did you mean 'iodepth'?")]
    [TestCase("[a]\nverify=md4\n", "job.fio:2: --verify=md4: unknown verify type; use one of md5, crc64")]
    [TestCase("[a]\ntrim_verify_zero=1\n", "job.fio:2: fio option 'trim_verify_zero' is not supported: checking that trimmed blocks")]
    [TestCase("[a]\nbs=abc\n", "job.fio:2: --bs=abc: 'abc' is not a size")]
    [TestCase("[a]\nbs\n", "job.fio:2: bs needs a value")]
    [TestCase("rw=read\n[a]\n", "job.fio:1: 'rw=read' is outside any section")]
    [TestCase("[a\n", "job.fio:1: '[a' is not a section header")]
    [TestCase("[a]\niodepth=0\n", "job.fio:1: [a]: --iodepth=0: queue depth must be from 1 to 4096")]
    [TestCase("; only comments\n", "job.fio: no job sections")]
    public void ErrorsNameTheFileAndLine(string text, string message) => Assert.That(Error(text), Does.StartWith(message));

    [Test]
    public void AllProblemsAreReportedTogether()
    {
        var outcome = Parse("[a]\nfoo=1\n[b]\nbar=2\n");
        Assert.That(outcome.Errors, Has.Count.EqualTo(2));
        Assert.That(outcome.Errors[1], Does.StartWith("job.fio:4: "));
    }

    [Test]
    public void MissingFileIsAnError() =>
        Assert.That(JobOptionsParser.ParseJobs(["missing.fio"], _ => throw new FileNotFoundException("not there")).Message,
            Is.EqualTo("missing.fio: cannot read the job file: not there"));

    [Test]
    public void BadCommandLineIsReportedBeforeTheFile() =>
        Assert.That(Error("[a]\n", "--iodepht=2"), Is.EqualTo("unknown option '--iodepht'; did you mean '--iodepth'?"));

    [Test]
    public void WithoutAFileItIsTheCommandLineJob()
    {
        var outcome = JobOptionsParser.ParseJobs(["--bs=8k"]);
        Assert.That(outcome.IsSuccess, Is.True, outcome.Message);
        Assert.That(outcome.Jobs, Has.Count.EqualTo(1));
        Assert.That(outcome.Jobs[0].BlockSize, Is.EqualTo(8192));
    }

    [Test]
    public void PlainParseStillRefusesJobFiles() =>
        Assert.That(JobOptionsParser.Parse(["job.fio"]).Message, Does.Contain("job files are not supported yet"));

    [Test]
    [NonParallelizable]
    [CancelAfter(60_000)]
    public void JobsRunOneAfterAnotherIntoOneReport()
    {
        var jobs = Ok("[global]\nsize=1m\nbs=64k\n[w]\nrw=write\n[r]\nrw=read\n", "--device=mem:16M");
        var results = jobs.Select(j => JobExecution.Execute(j, status: null, CancellationToken.None)).ToList();
        var json = new StringWriter();
        JsonReport.Write(json, results, plus: false);
        using var doc = JsonDocument.Parse(json.ToString());
        var reported = doc.RootElement.GetProperty("jobs");
        Assert.That(reported.GetArrayLength(), Is.EqualTo(2));
        Assert.That(reported[0].GetProperty("jobname").GetString(), Is.EqualTo("w"));
        Assert.That(reported[0].GetProperty("write").GetProperty("io_bytes").GetInt64(), Is.EqualTo(1L << 20));
        Assert.That(reported[1].GetProperty("jobname").GetString(), Is.EqualTo("r"));
        Assert.That(reported[1].GetProperty("read").GetProperty("io_bytes").GetInt64(), Is.EqualTo(1L << 20));
    }
}
