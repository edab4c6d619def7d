using System.Text.Json;
using Orion.Perf.Options;
using Orion.Perf.Reporting;

namespace Orion.Perf.Tests.Reporting;

/// <summary>The errors and integrity section: what fails a soak (lost or doubled completions, mismatches) and how it is told.</summary>
public class ErrorSectionTests
{
    private static JobResult WithErrors(ErrorReport errors, ContinueOnError mode = ContinueOnError.Io)
    {
        var job = ReportFixtures.RandRead();
        return new JobResult
        {
            Name = job.Name,
            Options = job.Options with { ContinueOnError = mode },
            Device = job.Device,
            Runtime = job.Runtime,
            Read = job.Read,
            Errors = errors,
        };
    }

    [Test]
    public void LostOrDoubledCompletionsFailTheIntegrityCheckAndAreToldOnStandardError()
    {
        var lost = WithErrors(new ErrorReport { Submitted = 10, Completed = 8 });
        var doubled = WithErrors(new ErrorReport { Submitted = 10, Completed = 10, Doubled = 1 });
        var fine = WithErrors(new ErrorReport { Submitted = 10, Completed = 10 });
        Assert.That(ErrorSection.Intact(lost), Is.False);
        Assert.That(ErrorSection.Intact(doubled), Is.False);
        Assert.That(ErrorSection.Intact(fine), Is.True);

        var stderr = new StringWriter();
        Assert.That(PerfCommand.ReportBrokenCompletions([lost, fine], stderr), Is.True);
        Assert.That(stderr.ToString(), Is.EqualTo("orion-perf: job 'orion': 10 I/Os submitted, 8 completed: 2 lost, 0 completed twice" + Environment.NewLine));
        Assert.That(PerfCommand.ReportBrokenCompletions([fine], new StringWriter()), Is.False);
    }

    [Test]
    public void AVerifyMismatchFailsTheIntegrityCheck()
    {
        var job = WithErrors(new ErrorReport { Submitted = 10, Completed = 10 });
        job.Verify = new Orion.Perf.Verify.VerifySummary { BlockBytes = 4096, CheckedInline = 5, Mismatches = 1 };
        Assert.That(ErrorSection.Intact(job), Is.False);
        var text = new StringWriter();
        ErrorSection.WriteHuman(text, job);
        Assert.That(text.ToString(), Does.Contain("  integrity    : FAILED (verify mismatches=1, lost=0, doubled=0)"));
    }

    [Test]
    public void TheFirstFailureCarriesFiosErrno()
    {
        Assert.That(new FailedIoReport("write", 0, 4096, "IoError", false, null).Errno, Is.EqualTo(5));
        Assert.That(new FailedIoReport("read", 0, 4096, "TimedOut", false, null).Errno, Is.EqualTo(110));
        Assert.That(new FailedIoReport("trim", 0, 4096, "Unsupported", false, null).Errno, Is.EqualTo(95));
        Assert.That(new FailedIoReport("read", 8192, 4096, "QueueBroken", true, "UsedIdOutOfRange: used id 300").Describe(),
                    Is.EqualTo("read (verify read-back) offset=8192, buflen=4096: QueueBroken (UsedIdOutOfRange: used id 300)"));
    }

    [Test]
    public void JsonCarriesFiosFieldsAndTheCompletions()
    {
        var job = WithErrors(new ErrorReport
        {
            Submitted = 100, Completed = 100, Total = 3,
            ByStatus = [KeyValuePair.Create("IoError", 2L), KeyValuePair.Create("TimedOut", 1L)],
            First = new FailedIoReport("read", 4096, 4096, "TimedOut", false, "1 request(s) not completed within 250 ms"),
        });
        var text = new StringWriter();
        JsonReport.Write(text, [job], plus: false);
        var j = JsonDocument.Parse(text.ToString()).RootElement.GetProperty("jobs")[0];
        var keys = j.EnumerateObject().Select(p => p.Name).ToList();
        Assert.That(keys.IndexOf("total_err"), Is.EqualTo(keys.IndexOf("latency_ms") + 1), "where fio writes it");
        Assert.That(keys.IndexOf("first_error"), Is.EqualTo(keys.IndexOf("latency_depth") - 1));
        Assert.That(j.GetProperty("total_err").GetInt64(), Is.EqualTo(3));
        Assert.That(j.GetProperty("first_error").GetInt32(), Is.EqualTo(110));
        var e = j.GetProperty("orion").GetProperty("errors");
        Assert.That(e.GetProperty("by_status").GetProperty("TimedOut").GetInt64(), Is.EqualTo(1));
        Assert.That(e.GetProperty("first").GetProperty("detail").GetString(), Is.EqualTo("1 request(s) not completed within 250 ms"));
        Assert.That(e.GetProperty("completions").GetProperty("lost").GetInt64(), Is.Zero);
        Assert.That(e.GetProperty("intact").GetBoolean(), Is.True);
        Assert.That(j.GetProperty("job options").GetProperty("continue_on_error").GetString(), Is.EqualTo("io"));
    }
}
