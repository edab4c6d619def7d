namespace Orion.Perf.Tests.Cli;

/// <summary>
/// offset_increment as cross-stripe-verify.fio uses it: clones in regions of their own may verify their writes, and
/// with no size each sequential clone's region runs from its own start to the device's end, as in fio.
/// </summary>
public class OffsetIncrementVerifyCliTests
{
    [Test]
    public void ClonesInRegionsOfTheirOwnVerifyTheirWrites()
    {
        var jobs = CliKit.Jobs("--device=mem:16M", "--rw=write", "--bs=4k", "--size=4M", "--numjobs=3", "--offset_increment=4M",
                               "--verify=crc32c", "--verify_backlog=16");
        Assert.That(jobs.GetArrayLength(), Is.EqualTo(3));
        foreach (var job in jobs.EnumerateArray())
        {
            var v = job.GetProperty("orion").GetProperty("verify");
            Assert.That(v.GetProperty("mismatches").GetInt64(), Is.Zero);
            Assert.That(v.GetProperty("checked_after_writes").GetInt64(), Is.EqualTo(3 * 1024), "the clones read their 4 MiB back (the section is the job's)");
            Assert.That(v.GetProperty("checked_inline").GetInt64(), Is.GreaterThan(0), "and checked its backlog while writing");
        }
    }

    [Test]
    public void WithNoSizeEachCloneRunsToTheDevicesEnd()
    {
        // Clone 1 starts at 8 MiB of a 12 MiB device: its region is the last 4 MiB, not 12 MiB past the end.
        var jobs = CliKit.Jobs("--device=mem:12M", "--rw=write", "--bs=4k", "--io_size=2M", "--numjobs=2", "--offset_increment=8M",
                               "--verify=crc32c");
        Assert.That(jobs.EnumerateArray().Select(j => CliKit.Bytes(j, "write")), Is.All.EqualTo(2L << 20));
        Assert.That(jobs.EnumerateArray().Select(j => j.GetProperty("orion").GetProperty("verify").GetProperty("mismatches").GetInt64()), Is.All.Zero);
    }

    [Test]
    public void ACloneStartingPastTheEndIsAnError()
    {
        var err = new StringWriter();
        Assert.That(PerfCommand.Run(["--device=mem:12M", "--rw=write", "--numjobs=3", "--offset_increment=8M"], new StringWriter(), err), Is.EqualTo(1));
        Assert.That(err.ToString(), Does.Contain("job 3 would start at 16m").IgnoreCase.And.Contain("give a smaller --offset_increment"));
    }
}
