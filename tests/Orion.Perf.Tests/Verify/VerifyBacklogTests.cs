using System.Text.Json;
using Orion.Perf.Tests.Cli;
using Orion.Perf.Verify;

namespace Orion.Perf.Tests.Verify;

/// <summary>fio's verify_backlog: written I/Os wait for their check, which is due after verify_backlog of them, verify_backlog_batch at a time.</summary>
public class VerifyBacklogTests
{
    [Test]
    public void ACheckIsDueAfterBacklogWritesAndTakesTheOldestBatch()
    {
        var b = new VerifyBacklog(backlog: 4, batch: 2, depth: 2);
        for (int i = 0; i < 3; i++) b.WriteCompleted(lba: i * 8, blocks: 8);
        Assert.That(b.Due, Is.False, "3 of 4");
        b.WriteCompleted(24, 8);
        Assert.That(b.Due, Is.True);
        Assert.That(b.TryTake(out long lba, out int blocks), Is.True);
        Assert.That((lba, blocks), Is.EqualTo((0L, 8)), "oldest first");
        b.Untake(lba, blocks);
        Assert.That(b.TryTake(out lba, out _) && lba == 0, Is.True, "a write put back goes first");
        Assert.That(b.TryTake(out lba, out _) && lba == 8, Is.True);
        Assert.That(b.Due, Is.False, "the batch of 2 is done; 2 wait for the next");
        Assert.That(b.Waiting, Is.EqualTo(2));
        b.WriteCompleted(32, 8);
        Assert.That(b.Due, Is.False);
        b.WriteCompleted(40, 8);
        Assert.That(b.Due, Is.True, "4 waiting again");
    }

    [Test]
    public void AWriteJobReadsItsWritesBackWhileItWrites()
    {
        var job = CliKit.Jobs("--device=mem:16M", "--size=1M", "--bs=4k", "--rw=randwrite", "--verify=crc32c", "--verify_backlog=8",
                              "--do_verify=0", "--iodepth=4")[0];
        var v = job.GetProperty("orion").GetProperty("verify");
        long reads = CliKit.Ios(job, "read");
        Assert.That(reads, Is.GreaterThanOrEqualTo(256 - 8 - 4), "every write but the last few is read back during the job (do_verify=0: no read-back after it)");
        Assert.That(v.GetProperty("checked_inline").GetInt64(), Is.EqualTo(reads), "each backlog read is checked");
        Assert.That(v.GetProperty("mismatches").GetInt64(), Is.Zero);
        Assert.That(CliKit.Ios(job, "write"), Is.EqualTo(256), "the checks do not count against size");
    }

    [TestCase("--verify_backlog=2000000")]
    [TestCase("--verify_backlog_batch=9")]
    public void BadBacklogsAreRefused(string option)
    {
        var err = new StringWriter();
        Assert.That(PerfCommand.Run(["--device=mem:16M", "--size=1M", "--rw=write", "--verify=crc32c", "--verify_backlog=8", option], new StringWriter(), err), Is.EqualTo(1));
        Assert.That(err.ToString(), Does.Contain("--verify_backlog_batch=").And.Contain("a batch of at most that many"));
    }
}
