using System.Text.Json;
using Orion.Perf;

namespace Orion.Perf.Tests.Cli;

/// <summary>
/// fio's continue_on_error through the whole command, with the device failing I/O on a fixed schedule: without it
/// the first failure ends the job (exit 5, fio's io_u error line); with it failures are counted and the job goes on.
/// </summary>
[NonParallelizable]
public class ContinueOnErrorCliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = PerfCommand.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static JsonElement Job(string output) => JsonDocument.Parse(output).RootElement.GetProperty("jobs")[0];

    [Test]
    [CancelAfter(60_000)]
    public void WithoutItTheFirstFailedWriteEndsTheJob()
    {
        var (code, output, err) = Run("--rw=randwrite", "--bs=4k", "--iodepth=4", "--runtime=20", "--time_based",
                                      "--device=mem:16M,fault=ioerr:every=50:type=write", "--output-format=json");
        Assert.That(code, Is.EqualTo(PerfCommand.IoErrorExitCode), err);
        Assert.That(err, Does.Contain("orion-perf: job 'orion': I/O error: write offset="));
        Assert.That(err, Does.Contain("IoError; the job stopped at its first failure (--continue_on_error=io counts failures and goes on"));
        var job = Job(output);
        Assert.That(job.GetProperty("error").GetInt32(), Is.EqualTo(5), "fio's err= is EIO");
        Assert.That(job.TryGetProperty("total_err", out _), Is.False, "fio writes total_err and first_error only with continue_on_error");
        // Stopped at the 50th write, long before the 20 s it was given.
        Assert.That(job.GetProperty("write").GetProperty("total_ios").GetInt64(), Is.LessThan(60));
        var errors = job.GetProperty("orion").GetProperty("errors");
        Assert.That(errors.GetProperty("total").GetInt64(), Is.InRange(1, 4), "one failure, and at most what was in flight beside it");
        Assert.That(errors.GetProperty("stopped_job").GetBoolean(), Is.True);
        Assert.That(errors.GetProperty("continue_on_error").GetString(), Is.EqualTo("none"));
        var first = errors.GetProperty("first");
        Assert.That(first.GetProperty("direction").GetString(), Is.EqualTo("write"));
        Assert.That(first.GetProperty("status").GetString(), Is.EqualTo("IoError"));
        Assert.That(first.GetProperty("bytes").GetInt32(), Is.EqualTo(4096));
        Assert.That(first.GetProperty("offset").GetInt64() % 4096, Is.Zero);
        Assert.That(errors.GetProperty("recent").GetArrayLength(), Is.GreaterThanOrEqualTo(1));
        Assert.That(errors.GetProperty("recent")[0].GetProperty("type").GetString(), Is.EqualTo("Out"));
        var completions = errors.GetProperty("completions");
        Assert.That(completions.GetProperty("lost").GetInt64(), Is.Zero);
        Assert.That(completions.GetProperty("doubled").GetInt64(), Is.Zero);
        Assert.That(completions.GetProperty("submitted").GetInt64(), Is.EqualTo(completions.GetProperty("completed").GetInt64()));
    }

    [Test]
    [CancelAfter(60_000)]
    public void WithItFailuresAreCountedAndTheJobGoesOn()
    {
        // 400 writes, every 50th fails: exactly 8 failures, and the job does all 400.
        var (code, output, err) = Run("--rw=randwrite", "--bs=4k", "--iodepth=4", "--number_ios=400", "--size=8M",
                                      "--device=mem:16M,fault=ioerr:every=50:type=write", "--continue_on_error=io", "--output-format=json");
        Assert.That(code, Is.Zero, err);
        var job = Job(output);
        Assert.That(job.GetProperty("write").GetProperty("total_ios").GetInt64(), Is.EqualTo(400));
        Assert.That(job.GetProperty("total_err").GetInt64(), Is.EqualTo(8));
        Assert.That(job.GetProperty("error").GetInt32(), Is.Zero, "continued failures leave fio's err= at 0");
        Assert.That(job.GetProperty("first_error").GetInt32(), Is.EqualTo(5));
        Assert.That(job.GetProperty("job options").GetProperty("continue_on_error").GetString(), Is.EqualTo("io"));
        var errors = job.GetProperty("orion").GetProperty("errors");
        Assert.That(errors.GetProperty("stopped_job").GetBoolean(), Is.False);
        Assert.That(errors.GetProperty("write").GetInt64(), Is.EqualTo(8));
        Assert.That(errors.GetProperty("by_status").GetProperty("IoError").GetInt64(), Is.EqualTo(8));
        Assert.That(errors.GetProperty("recent").GetArrayLength(), Is.EqualTo(8));
        Assert.That(errors.GetProperty("intact").GetBoolean(), Is.True);
        var queue = job.GetProperty("orion").GetProperty("queues")[0];
        foreach (var name in new[] { "errors", "timeouts", "queue_resets", "resubmitted" })
            Assert.That(queue.TryGetProperty(name, out _), Is.True, name);
        Assert.That(queue.GetProperty("timeouts").GetInt64(), Is.Zero);
        Assert.That(queue.GetProperty("queue_resets").GetInt64(), Is.Zero);
    }

    [Test]
    [CancelAfter(60_000)]
    public void ContinuingAfterWritesStillStopsAtAFailedRead()
    {
        var (code, output, err) = Run("--rw=randrw", "--bs=4k", "--iodepth=2", "--runtime=20", "--time_based",
                                      "--device=mem:16M,fault=ioerr:every=20:type=read", "--continue_on_error=write", "--output-format=json");
        Assert.That(code, Is.EqualTo(PerfCommand.IoErrorExitCode), err);
        Assert.That(err, Does.Contain("I/O error: read offset="));
        var first = Job(output).GetProperty("orion").GetProperty("errors").GetProperty("first");
        Assert.That(first.GetProperty("direction").GetString(), Is.EqualTo("read"));
    }

    [Test]
    [CancelAfter(60_000)]
    public void TheHumanReportShowsTotalsKindsAndTheLastFailures()
    {
        var (code, output, err) = Run("--rw=randwrite", "--bs=4k", "--iodepth=4", "--number_ios=200", "--size=8M",
                                      "--device=mem:16M,fault=ioerr:every=50:type=write", "--continue_on_error=write");
        Assert.That(code, Is.Zero, err);
        Assert.That(output, Does.Contain("  errors       : total=4, first_error=5/<IoError>: write offset="));
        Assert.That(output, Does.Contain("  error kinds  : IoError=4"));
        Assert.That(output, Does.Contain("  completions  : submitted=200, completed=200, lost=0, doubled=0"));
        Assert.That(output, Does.Contain("  recent error : "));
        Assert.That(output, Does.Contain("  integrity    : ok (verify mismatches=n/a, lost=0, doubled=0)"));
    }

    [Test]
    [CancelAfter(60_000)]
    public void AJobWithoutFailuresPrintsNoErrorSectionAndReportsZeroInJson()
    {
        var (c0, o0, e0) = Run("--rw=randwrite", "--bs=4k", "--iodepth=2", "--number_ios=50", "--device=mem:16M", "--continue_on_error=io", "--output-format=json");
        Assert.That(c0, Is.Zero, e0);
        Assert.That(Job(o0).GetProperty("total_err").GetInt64(), Is.Zero);
        Assert.That(Job(o0).GetProperty("first_error").GetInt32(), Is.Zero);
        var (code, output, err) = Run("--rw=randwrite", "--bs=4k", "--iodepth=2", "--number_ios=50", "--device=mem:16M");
        Assert.That(code, Is.Zero, err);
        Assert.That(output, Does.Not.Contain("errors       :"));
        (code, output, err) = Run("--rw=randwrite", "--bs=4k", "--iodepth=2", "--number_ios=50", "--device=mem:16M", "--output-format=json");
        Assert.That(code, Is.Zero, err);
        Assert.That(Job(output).GetProperty("orion").GetProperty("errors").GetProperty("total").GetInt64(), Is.Zero);
        Assert.That(Job(output).GetProperty("orion").GetProperty("errors").GetProperty("first").ValueKind, Is.EqualTo(JsonValueKind.Null));
    }
}
