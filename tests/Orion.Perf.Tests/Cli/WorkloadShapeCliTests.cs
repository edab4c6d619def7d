using System.Text.Json;
using Orion.Perf;

namespace Orion.Perf.Tests.Cli;

/// <summary>number_ios, bssplit, random_distribution, randseed and trim, observed through short real runs' JSON.</summary>
[NonParallelizable]
public class WorkloadShapeCliTests
{
    private static JsonElement RunJson(params string[] args) => CliKit.Jobs(args)[0];

    private static long Ios(JsonElement job, string direction) => CliKit.Ios(job, direction);
    private static long Bytes(JsonElement job, string direction) => CliKit.Bytes(job, direction);

    [Test]
    [CancelAfter(60_000)]
    public void NumberIosStopsEachJobAfterThatMany()
    {
        var job = RunJson("--rw=randread", "--iodepth=4", "--number_ios=100", "--device=null:16M");
        Assert.That(Ios(job, "read"), Is.EqualTo(100));
        Assert.That(job.GetProperty("job options").GetProperty("number_ios").GetString(), Is.EqualTo("100"));

        var two = RunJson("--rw=randwrite", "--numjobs=2", "--group_reporting", "--number_ios=50", "--device=null:16M");
        Assert.That(Ios(two, "write"), Is.EqualTo(100), "per job, as in fio");
    }

    [Test]
    [CancelAfter(60_000)]
    public void NumberIosEndsATimeBasedJobEarly()
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        var job = RunJson("--rw=randread", "--number_ios=64", "--runtime=30", "--time_based", "--device=null:16M");
        Assert.That(Ios(job, "read"), Is.EqualTo(64));
        Assert.That(started.Elapsed, Is.LessThan(TimeSpan.FromSeconds(15)));
    }

    [Test]
    [CancelAfter(60_000)]
    public void SizeStillEndsAJobBeforeNumberIos()
    {
        var job = RunJson("--rw=write", "--bs=64k", "--size=1M", "--number_ios=1000", "--device=mem:16M");
        Assert.That(Ios(job, "write"), Is.EqualTo(16));
    }

    [Test]
    [CancelAfter(60_000)]
    public void BsSplitPicksASizePerIo()
    {
        const int N = 400;
        var job = RunJson("--rw=randwrite", "--bssplit=4k/50:64k/50", "--iodepth=8", "--number_ios=400", "--device=mem:16M");
        Assert.That(Ios(job, "write"), Is.EqualTo(N));
        long bytes = Bytes(job, "write");
        // bytes = small·4k + large·64k with small + large = N.
        Assert.That((bytes - N * 4096L) % (65536 - 4096), Is.Zero, "every I/O was 4k or 64k");
        long large = (bytes - N * 4096L) / (65536 - 4096);
        Assert.That(large, Is.InRange(N * 35 / 100, N * 65 / 100), "about half of them 64k");
        var options = job.GetProperty("job options");
        // fio's job options list what was given: bssplit, and no bs.
        Assert.That(options.TryGetProperty("bs", out _), Is.False);
        Assert.That(options.GetProperty("bssplit").GetString(), Is.EqualTo("4k/50:64k/50"));
    }

    [Test]
    [CancelAfter(60_000)]
    public void BsSplitPerDirectionGivesReadsAndWritesTheirOwnSizes()
    {
        var job = RunJson("--rw=randrw", "--bssplit=4k/50:16k/50,64k/100", "--iodepth=8", "--number_ios=400", "--device=mem:16M");
        long reads = Ios(job, "read"), writes = Ios(job, "write");
        Assert.That(reads + writes, Is.EqualTo(400));
        Assert.That(reads, Is.GreaterThan(50).And.LessThan(350));
        Assert.That(Bytes(job, "write"), Is.EqualTo(writes * 65536), "every write 64k");
        long readBytes = Bytes(job, "read");
        Assert.That((readBytes - reads * 4096L) % (16384 - 4096), Is.Zero, "every read 4k or 16k");
        long large = (readBytes - reads * 4096L) / (16384 - 4096);
        Assert.That(large, Is.InRange(reads * 25 / 100, reads * 75 / 100), "about half of the reads 16k");
        Assert.That(job.GetProperty("job options").GetProperty("bssplit").GetString(), Is.EqualTo("4k/50:16k/50,64k/100"));
    }

    [Test]
    [CancelAfter(60_000)]
    public void BsSplitSequentialReadsCoverTheRegionOnce()
    {
        var job = RunJson("--rw=read", "--bssplit=4k/50:16k/50", "--size=4M", "--device=mem:16M");
        Assert.That(Bytes(job, "read"), Is.InRange(4L << 20, (4L << 20) + 16384));
        Assert.That(job.GetProperty("error").GetInt32(), Is.Zero);
    }

    [Test]
    [CancelAfter(60_000)]
    public void RandomDistributionAndSeedRunAndAreReported()
    {
        var job = RunJson("--rw=randread", "--random_distribution=zipf:1.2", "--randseed=42", "--randrepeat=0", "--norandommap",
                          "--number_ios=200", "--device=mem:16M");
        Assert.That(Ios(job, "read"), Is.EqualTo(200));
        var options = job.GetProperty("job options");
        Assert.That(options.GetProperty("random_distribution").GetString(), Is.EqualTo("zipf:1.2"));
        Assert.That(options.GetProperty("randseed").GetString(), Is.EqualTo("42"));
        Assert.That(options.GetProperty("randrepeat").GetString(), Is.EqualTo("0"));
        Assert.That(options.TryGetProperty("norandommap", out _), Is.False, "fio leaves a flag given without a value out of job options");
    }

    [Test]
    [CancelAfter(60_000)]
    public void RandTrimReportsTrims()
    {
        var job = RunJson("--rw=randtrim", "--bs=64k", "--iodepth=4", "--runtime=200ms", "--time_based", "--device=mem:16M");
        Assert.That(Ios(job, "trim"), Is.GreaterThan(0));
        Assert.That(Bytes(job, "trim"), Is.EqualTo(Ios(job, "trim") * 65536));
        Assert.That(Ios(job, "read") + Ios(job, "write"), Is.Zero);
        Assert.That(job.GetProperty("error").GetInt32(), Is.Zero);
        Assert.That(job.GetProperty("job options").GetProperty("rw").GetString(), Is.EqualTo("randtrim"));
        Assert.That(job.GetProperty("orion").GetProperty("queues")[0].GetProperty("requests").GetInt64(), Is.GreaterThan(0));
    }

    [Test]
    [CancelAfter(60_000)]
    public void SequentialTrimCoversTheRegionOnce()
    {
        var job = RunJson("--rw=trim", "--bs=64k", "--size=1M", "--device=null:16M");
        Assert.That(Ios(job, "trim"), Is.EqualTo(16));
        Assert.That(Bytes(job, "trim"), Is.EqualTo(1L << 20));
    }

    [Test]
    public void TrimOnAReadOnlyDeviceIsRefusedBeforeRunning()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.That(PerfCommand.Run(["--rw=trim", "--device=mem:16M,ro"], stdout, stderr), Is.EqualTo(1));
        Assert.That(stderr.ToString(), Does.Contain("--rw=trim: the device mem:16M,ro is read-only"));
    }
}
