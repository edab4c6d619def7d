using System.Diagnostics;
using System.Text.Json;
using Orion.Perf;
using Orion.Perf.Options;
using Orion.Perf.Workload;

namespace Orion.Perf.Tests.Cli;

/// <summary>Job-control and workload options observed through short real runs.</summary>
[NonParallelizable]
public class JobControlCliTests
{
    private static JsonElement RunJson(params string[] args) => CliKit.Jobs(args);
    private static long Ios(JsonElement job, string d) => CliKit.Ios(job, d);
    private static long Bytes(JsonElement job, string d) => CliKit.Bytes(job, d);

    /// <summary>Runs one job directly, for what JSON does not show (the distinct blocks a verify read-back checked).</summary>
    private static Orion.Perf.Reporting.JobResult Execute(params string[] args)
    {
        var outcome = JobOptionsParser.Parse(args);
        Assert.That(outcome.IsSuccess, Is.True, outcome.Message);
        return JobExecution.Execute(outcome.Options!, status: null, CancellationToken.None);
    }

    [Test]
    [CancelAfter(60_000)]
    public void RandomMapWritesEveryBlockOncePerPass()
    {
        // 256 blocks of 4k, one pass: with the map the read-back finds all 256 written; drawn with replacement about 162.
        var map = Execute("--rw=randwrite", "--bs=4k", "--size=1m", "--iodepth=8", "--verify=crc32c", "--device=mem:16M");
        Assert.That(map.Write.TotalIos, Is.EqualTo(256));
        Assert.That(map.Verify!.CheckedAfterWrites, Is.EqualTo(256));
        var replace = Execute("--rw=randwrite", "--bs=4k", "--size=1m", "--iodepth=8", "--verify=crc32c", "--norandommap", "--device=mem:16M");
        Assert.That(replace.Verify!.CheckedAfterWrites, Is.LessThan(230), "norandommap draws with replacement");
        var lfsr = Execute("--rw=randwrite", "--bs=4k", "--size=1m", "--verify=crc32c", "--random_generator=lfsr", "--device=mem:16M");
        Assert.That(lfsr.Verify!.CheckedAfterWrites, Is.EqualTo(256));
    }

    [Test]
    [CancelAfter(60_000)]
    public void OffsetModifierSkipsOrGoesBackwards()
    {
        // write:4k skips a block after each: 1 MiB of writes wraps twice over the same 128 blocks.
        var skip = Execute("--rw=write:4k", "--bs=4k", "--size=1m", "--verify=crc32c", "--device=mem:16M");
        Assert.That((skip.Write.TotalIos, skip.Verify!.CheckedAfterWrites), Is.EqualTo((256L, 128L)));
        // write:-8k with 4k blocks walks backwards: after the first block fio wraps to the end minus 8k and goes down,
        // so the region's last block is never written (fio's own arithmetic); every other block is.
        var back = Execute("--rw=write:-8k", "--bs=4k", "--size=1m", "--verify=crc32c", "--device=mem:16M");
        Assert.That(back.Verify!.CheckedAfterWrites, Is.EqualTo(255));
        var runs = Execute("--rw=randwrite:4", "--bs=4k", "--size=1m", "--number_ios=64", "--norandommap", "--verify=crc32c", "--device=mem:16M");
        Assert.That(runs.Write.TotalIos, Is.EqualTo(64));
    }

    [Test]
    [CancelAfter(60_000)]
    public void LoopsIoSizeFillDeviceAndPercentSetTheAmount()
    {
        Assert.That(Ios(RunJson("--rw=write", "--bs=64k", "--size=1m", "--loops=3", "--device=null:16M")[0], "write"), Is.EqualTo(48));
        Assert.That(Ios(RunJson("--rw=write", "--bs=64k", "--size=1m", "--io_size=256k", "--device=null:16M")[0], "write"), Is.EqualTo(4));
        Assert.That(Bytes(RunJson("--rw=write", "--bs=64k", "--size=1m", "--fill_device", "--device=null:8M")[0], "write"), Is.EqualTo(8L << 20));
        Assert.That(Bytes(RunJson("--rw=read", "--bs=64k", "--size=50%", "--device=null:8M")[0], "read"), Is.EqualTo(4L << 20));
        Assert.That(Bytes(RunJson("--rw=read", "--bs=64k", "--size=64m", "--device=null:8M")[0], "read"), Is.EqualTo(8L << 20), "a size beyond the device is cut at its end");
    }

    [Test]
    [CancelAfter(60_000)]
    public void BlockSizesPerDirectionAndRange()
    {
        var job = RunJson("--rw=randrw", "--bs=4k,64k", "--number_ios=400", "--device=null:16M")[0];
        Assert.That(Bytes(job, "read"), Is.EqualTo(Ios(job, "read") * 4096));
        Assert.That(Bytes(job, "write"), Is.EqualTo(Ios(job, "write") * 65536));
        var range = RunJson("--rw=randread", "--bsrange=4k-16k", "--number_ios=2000", "--device=null:16M")[0];
        double mean = Bytes(range, "read") / (double)Ios(range, "read");
        Assert.That(Bytes(range, "read") % 4096, Is.Zero, "every size a multiple of the smallest");
        Assert.That(mean, Is.InRange(7000, 9400), "4k, 8k and 12k equally often and 16k rarely, as fio draws them: a mean near 8k");
    }

    [Test]
    [CancelAfter(60_000)]
    public void RateCapsTheBandwidth()
    {
        var job = RunJson("--rw=read", "--bs=4k", "--rate=400k", "--runtime=1", "--time_based", "--device=null:16M")[0];
        double seconds = job.GetProperty("read").GetProperty("runtime").GetInt64() / 1000.0;
        long ios = Ios(job, "read");
        // 100 I/Os a second: the first is due at once, the schedule never runs ahead of the cap.
        Assert.That(ios, Is.LessThanOrEqualTo((long)(100 * seconds) + 2));
        Assert.That(ios, Is.GreaterThanOrEqualTo((long)(50 * seconds)), "far below the cap would mean the schedule stalls");
        var mixed = RunJson("--rw=randrw", "--bs=4k", "--rate=,200k", "--runtime=1", "--time_based", "--device=null:16M")[0];
        Assert.That(Ios(mixed, "write"), Is.LessThanOrEqualTo(60), "only writes are capped (50 a second)");
    }

    [Test]
    [CancelAfter(60_000)]
    public void RateMinEndsAJobThatIsTooSlow()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = PerfCommand.Run(["--rw=read", "--bs=4k", "--rate=40k", "--rate_min=1m", "--runtime=5", "--time_based", "--device=null:16M"], stdout, stderr);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(stderr.ToString(), Does.Contain("min read rate not met"));
    }

    [Test]
    [CancelAfter(60_000)]
    public void ThinkTimePausesBetweenBlocks()
    {
        var job = RunJson("--rw=randread", "--iodepth=8", "--thinktime=100ms", "--thinktime_blocks=2", "--runtime=1", "--time_based", "--device=null:16M")[0];
        Assert.That(Ios(job, "read"), Is.InRange(2, 24), "two I/Os, then 100 ms: about 20 in a second, never more");
    }

    [Test]
    [CancelAfter(60_000)]
    public void StartDelayAndExitAll()
    {
        var watch = Stopwatch.StartNew();
        var jobs = RunJson("--device=null:16M", "--name=quick", "--rw=randread", "--number_ios=200", "--exitall",
                           "--name=long", "--rw=randread", "--runtime=30", "--time_based",
                           "--name=late", "--rw=randread", "--startdelay=20", "--number_ios=10");
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(20)), "exitall stopped the 30 s job and the delayed one");
        Assert.That(Ios(jobs[0], "read"), Is.EqualTo(200));
        Assert.That(Ios(jobs[2], "read"), Is.Zero, "still in its start delay when exitall came");

        watch.Restart();
        var delayed = RunJson("--rw=randread", "--number_ios=10", "--startdelay=300ms", "--device=null:16M")[0];
        Assert.That(watch.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(300)));
        Assert.That(Ios(delayed, "read"), Is.EqualTo(10));
    }

    [Test]
    [CancelAfter(60_000)]
    public void ExitWhatAllCancelsTheLaterGroupsBeforeTheyStart()
    {
        // As fio's exitwhat.fio: 'ender' finishes first and stops 'long' with it; the stonewalled group after never runs.
        var watch = Stopwatch.StartNew();
        var stderr = new StringWriter();
        var stdout = new StringWriter();
        int code = PerfCommand.Run(["--device=null:16M", "--output-format=json",
                                    "--name=ender", "--rw=randread", "--number_ios=100", "--exitall", "--exit_what=all",
                                    "--name=long", "--rw=randread", "--runtime=30", "--time_based",
                                    "--name=never", "--stonewall", "--rw=randread", "--number_ios=50"], stdout, stderr);
        Assert.That(code, Is.Zero, stderr.ToString());
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(20)), "the 30 s job was stopped");
        var jobs = JsonDocument.Parse(stdout.ToString()).RootElement.GetProperty("jobs");
        Assert.That(jobs.GetArrayLength(), Is.EqualTo(3), "a job that never ran is still reported, as fio reports it");
        Assert.That(Ios(jobs[0], "read"), Is.EqualTo(100));
        Assert.That(Ios(jobs[2], "read"), Is.Zero, "cancelled before it started");
        Assert.That(stderr.ToString(), Does.Contain("job 'never' did not run: exit_what=all of job 'ender' ended the run"));

        // exit_what=group (the default) lets the later group run.
        var group = RunJson("--device=null:16M", "--name=ender", "--rw=randread", "--number_ios=100", "--exitall",
                            "--name=next", "--stonewall", "--rw=randread", "--number_ios=50");
        Assert.That(Ios(group[1], "read"), Is.EqualTo(50));
    }

    [Test]
    public void WaitForStartsAfterTheNamedJob()
    {
        var jobs = JobOptionsParser.Parse(["--device=null:16M", "--name=a", "--name=b", "--name=c", "--wait_for=a"]).Jobs;
        Assert.That(PerfCommand.Batches(jobs).Select(b => b.SelectMany(x => x).ToArray()), Is.EqualTo(new[] { new[] { 0, 1 }, new[] { 2 } }));
        var bad = JobOptionsParser.Parse(["--device=null:16M", "--name=a", "--wait_for=z"]).Jobs;
        Assert.That(PerfCommand.WaitForError(bad), Does.Contain("wait_for=z: no earlier job is named 'z'"));
    }

    [Test]
    [CancelAfter(60_000)]
    public void OffsetIncrementGivesEachCloneItsOwnRegion()
    {
        var o = ParseOk("--rw=write", "--bs=4k", "--size=1m", "--offset=1m", "--numjobs=3", "--offset_increment=4m", "--device=null:16M");
        var plan = new WorkloadPlan
        {
            BlockBytes = 4096, IoDepth = 1, RegionStartLba = (1 << 20) / 512, RegionBlocks = (1 << 20) / 512, BlocksPerIo = 8, Random = false,
            ReadPercent = 0, RampTicks = 0, RuntimeTicks = 0, TimeBased = false, SizeBytes = 1 << 20, Sizes = new BlockSizeTable(o, 512),
            RegionStrideBlocks = o.OffsetIncrement / 512,
        };
        Assert.That(Enumerable.Range(0, 3).Select(k => plan.ForClone(k).RegionStartLba * 512), Is.EqualTo(new[] { 1L << 20, 5L << 20, 9L << 20 }));
        Assert.That(plan.ForClone(1).Seed, Is.Not.EqualTo(plan.ForClone(0).Seed));
        Assert.That(Bytes(RunJson("--rw=write", "--bs=64k", "--size=1m", "--numjobs=3", "--group_reporting", "--offset_increment=4m", "--device=null:16M")[0], "write"),
            Is.EqualTo(3L << 20), "each clone writes its own 1 MiB");
    }

    private static JobOptions ParseOk(params string[] args)
    {
        var outcome = JobOptionsParser.Parse(args);
        Assert.That(outcome.IsSuccess, Is.True, outcome.Message);
        return outcome.Options!;
    }

    [Test]
    [CancelAfter(60_000)]
    public void DepthControlsRun()
    {
        var job = RunJson("--rw=randread", "--iodepth=16", "--iodepth_low=4", "--iodepth_batch_submit=8", "--iodepth_batch_complete_min=2",
                          "--number_ios=2000", "--device=null:16M")[0];
        Assert.That(Ios(job, "read"), Is.EqualTo(2000));
    }
}
