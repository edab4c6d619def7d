using Orion.Perf.Options;
using Orion.Perf.Workload;
using Orion.Pmd.Engine;

using static Orion.Perf.Tests.Options.ParseKit;

namespace Orion.Perf.Tests.Options;

/// <summary>continue_on_error, request_timeout, timeout_policy, recover_queues and audit_log: values, defaults, errors and what reaches the engine.</summary>
[TestFixture]
public class RecoveryOptionsTests
{
    [Test]
    public void DefaultsStopAtTheFirstErrorAndKeepTheEnginesRecovery()
    {
        var o = new JobOptions();
        var engine = JobExecution.EngineOptionsFor(o);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(o.ContinueOnError, Is.EqualTo(ContinueOnError.None));
            Assert.That(o.RequestTimeout, Is.Null);
            Assert.That(o.AuditLogPath, Is.Null);
            Assert.That(engine.RequestTimeout, Is.EqualTo(new EngineOptions().RequestTimeout));
            Assert.That(engine.TimeoutPolicy, Is.EqualTo(TimeoutPolicy.Fail));
            Assert.That(engine.RecoverBrokenQueues, Is.True);
        }
    }

    [TestCase("none", ContinueOnError.None)]
    [TestCase("0", ContinueOnError.None)]
    [TestCase("read", ContinueOnError.Read)]
    [TestCase("write", ContinueOnError.Write)]
    [TestCase("IO", ContinueOnError.Io)]
    [TestCase("verify", ContinueOnError.Verify)]
    [TestCase("all", ContinueOnError.All)]
    [TestCase("1", ContinueOnError.All)]
    public void ContinueOnErrorTakesFiosValues(string value, ContinueOnError expected) =>
        Assert.That(Ok($"--continue_on_error={value}").ContinueOnError, Is.EqualTo(expected));

    [Test]
    public void ContinueOnErrorRefusesOtherValuesSayingWhatWorks() =>
        Assert.That(Error("--continue_on_error=sometimes"),
                    Is.EqualTo("--continue_on_error=sometimes: use none, read, write, io, verify or all (for example --continue_on_error=io to count I/O errors and go on)"));

    [TestCase(ContinueOnError.None, false, false)]
    [TestCase(ContinueOnError.Read, true, false)]
    [TestCase(ContinueOnError.Write, false, true)]
    [TestCase(ContinueOnError.Io, true, true)]
    [TestCase(ContinueOnError.Verify, false, false)]
    [TestCase(ContinueOnError.All, true, true)]
    public void ContinueOnErrorReachesTheWorkloadPerDirection(ContinueOnError mode, bool reads, bool writesAndTrims)
    {
        var o = new JobOptions { ContinueOnError = mode };
        Assert.That(o.ContinuesAfter(0), Is.EqualTo(reads));
        Assert.That(o.ContinuesAfter(1), Is.EqualTo(writesAndTrims));
        Assert.That(o.ContinuesAfter(2), Is.EqualTo(writesAndTrims), "fio files a trim as a write");
    }

    [Test]
    public void RecoveryOptionsReachTheEngine()
    {
        var o = Ok("--request_timeout=250ms", "--timeout_policy=retry", "--recover_queues=0");
        var engine = JobExecution.EngineOptionsFor(o);
        Assert.That(engine.RequestTimeout, Is.EqualTo(TimeSpan.FromMilliseconds(250)));
        Assert.That(engine.TimeoutPolicy, Is.EqualTo(TimeoutPolicy.RetryOnce));
        Assert.That(engine.RecoverBrokenQueues, Is.False);
        Assert.That(JobExecution.EngineOptionsFor(Ok("--request_timeout=0")).RequestTimeout, Is.EqualTo(TimeSpan.Zero), "0 turns it off");
    }

    [Test]
    public void BadRecoveryValuesSayWhatWouldBeRight()
    {
        Assert.That(Error("--request_timeout=soon"), Does.StartWith("--request_timeout=soon: 'soon' is not a time"));
        Assert.That(Error("--request_timeout=2h"), Does.Contain("the timeout must be from 1ms to 1h, or 0 to turn it off"));
        Assert.That(Error("--request_timeout=10us"), Does.Contain("must be at least 1ms"));
        Assert.That(Error("--timeout_policy=maybe"), Is.EqualTo("--timeout_policy=maybe: use fail or retry"));
        Assert.That(Error("--recover_queues=2"), Does.StartWith("--recover_queues=2: use 1 or 0"));
        Assert.That(Error("--timeout_policy=retry", "--request_timeout=0"), Does.Contain("with the timeout off nothing is retried"));
    }

    [Test]
    public void JobsWithDifferentRecoveryDoNotShareAnEngine()
    {
        var a = new JobOptions();
        Assert.That(JobExecution.Incompatibility(a, a with { RequestTimeout = TimeSpan.FromSeconds(1) }), Is.EqualTo("request_timeout differs"));
        Assert.That(JobExecution.Incompatibility(a, a with { TimeoutPolicy = TimeoutPolicy.RetryOnce }), Is.EqualTo("timeout_policy differs"));
        Assert.That(JobExecution.Incompatibility(a, a with { RecoverQueues = false }), Is.EqualTo("recover_queues differs"));
        Assert.That(JobExecution.Incompatibility(a, a with { ContinueOnError = ContinueOnError.Io }), Is.Null, "a workload option, not an engine one");
    }

    [Test]
    public void AnAuditLogInADirectoryThatDoesNotExistIsRefusedBeforeTheRun()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"orion-no-such-dir-{Guid.NewGuid():N}", "audit.jsonl");
        Assert.That(Error($"--audit_log={missing}"), Does.Contain("does not exist; create it first or choose another file"));
        Assert.That(Error($"--audit_log={Path.GetTempPath()}"), Does.Contain("is a directory; give a file name"));
        Assert.That(Error("--audit_log="), Does.Contain("--audit_log: the file name must not be empty"));
    }

    [Test]
    public void HelpListsTheNewOptions()
    {
        string help = JobOptionsParser.Usage();
        foreach (var name in new[] { "--continue_on_error=WHICH", "--request_timeout=TIME", "--timeout_policy=POLICY", "--recover_queues", "--audit_log=FILE" })
            Assert.That(help, Does.Contain(name));
        Assert.That(help, Does.Contain("5 when a failed I/O stopped a job"));
    }
}
