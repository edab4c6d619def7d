using System.Text.Json;
using Orion.Perf;
using Orion.Perf.Options;
using Orion.Perf.Reporting;
using Orion.Perf.Tests.Reporting;
using Orion.Perf.Workload;
using Orion.Pmd.Engine;
using Orion.Pmd.Linux;

namespace Orion.Perf.Tests.Cli;

/// <summary>
/// rate_iops, verify, slat/clat/lat, cpus_allowed and reporting groups end to end: real engine, real threads, short
/// jobs. Relations between measurements are asserted, never speeds.
/// </summary>
[NonParallelizable]
public class FioFeatureCliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = PerfCommand.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static JsonElement Job(params string[] args)
    {
        var (code, output, err) = Run([.. args, "--output-format=json"]);
        Assert.That(code, Is.Zero, err);
        using var doc = JsonDocument.Parse(output);
        return doc.RootElement.GetProperty("jobs")[0].Clone();
    }

    private static JobOptions Options(params string[] args)
    {
        var outcome = JobOptionsParser.Parse(args);
        Assert.That(outcome.IsSuccess, Is.True, outcome.Message);
        return outcome.Options!;
    }

    private static double Mean(JsonElement stats) => stats.GetProperty("mean").GetDouble();

    // ---- slat / clat / lat

    [Test]
    [CancelAfter(60_000)]
    public void EveryIoHasSlatClatAndLatAndLatIsTheirSum()
    {
        var read = Job("--rw=randread", "--iodepth=8", "--runtime=300ms", "--time_based", "--device=null:16M").GetProperty("read");
        long ios = read.GetProperty("total_ios").GetInt64();
        var slat = read.GetProperty("slat_ns");
        var clat = read.GetProperty("clat_ns");
        var lat = read.GetProperty("lat_ns");
        Assert.That(ios, Is.GreaterThan(0));
        Assert.That(slat.GetProperty("N").GetInt64(), Is.EqualTo(ios));
        Assert.That(clat.GetProperty("N").GetInt64(), Is.EqualTo(ios));
        Assert.That(lat.GetProperty("N").GetInt64(), Is.EqualTo(ios));
        Assert.That(slat.GetProperty("min").GetInt64(), Is.GreaterThan(0), "placing a request in the ring takes some time");
        Assert.That(lat.GetProperty("min").GetInt64(), Is.GreaterThanOrEqualTo(clat.GetProperty("min").GetInt64()));
        // Per I/O lat = slat + clat, so the means add up (up to the histograms' 0.1 % resolution).
        Assert.That(Mean(lat), Is.EqualTo(Mean(slat) + Mean(clat)).Within(1).Percent);
    }

    [Test]
    [CancelAfter(60_000)]
    public void NormalOutputHasFiosSlatClatLatLines()
    {
        var (code, output, err) = Run("--rw=randwrite", "--iodepth=2", "--runtime=200ms", "--time_based", "--device=mem:16M");
        Assert.That(code, Is.Zero, err);
        var lines = output.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        int write = Array.FindIndex(lines, l => l.StartsWith("  write: IOPS=", StringComparison.Ordinal));
        Assert.That(lines[write + 1], Does.Match(@"^    slat \([nu]sec\): min="));
        Assert.That(lines[write + 2], Does.Match(@"^    clat \([nu]sec\): min="));
        Assert.That(lines[write + 3], Does.Match(@"^     lat \([nu]sec\): min="));
        Assert.That(output, Does.Not.Contain("intended start"), "closed loop");
    }

    // ---- rate_iops

    [Test]
    [CancelAfter(60_000)]
    public void CoCorrectedLatencyExceedsTheServiceTimeWhenTheDeviceFallsBehind()
    {
        // One device thread spinning 1 ms per request serves at most ~1000 IOPS; the schedule asks for 10000.
        var job = Job("--rw=randread", "--iodepth=2", "--rate_iops=10000", "--runtime=500ms", "--time_based", "--device=null:64M,delay=1ms");
        var read = job.GetProperty("read");
        var clat = read.GetProperty("clat_ns");
        var rate = job.GetProperty("orion").GetProperty("rate");
        var co = rate.GetProperty("read").GetProperty("lat_intended_ns");
        long ios = read.GetProperty("total_ios").GetInt64();
        Assert.That(ios, Is.GreaterThan(0));
        Assert.That(co.GetProperty("N").GetInt64(), Is.EqualTo(ios));
        Assert.That(ios, Is.LessThan(10_000 * 0.5 / 2), "the device could not keep up with the schedule");
        // I/Os queue behind the schedule (at most iodepth in flight): latency from the intended start keeps growing,
        // while the service time stays about iodepth x 1 ms. A closed loop would report only the latter. Medians,
        // not means, so that a few stalls of a busy machine's threads do not decide the test.
        long Median(JsonElement stats) => stats.GetProperty("percentile").GetProperty("50.000000").GetInt64();
        Assert.That(Median(co), Is.GreaterThan(10 * Median(clat)));
        Assert.That(co.GetProperty("percentile").GetProperty("99.000000").GetInt64(),
            Is.GreaterThan(clat.GetProperty("percentile").GetProperty("99.000000").GetInt64()));
        Assert.That(Mean(co), Is.GreaterThan(Mean(clat)));
        Assert.That(rate.GetProperty("unissued_at_end").GetInt64(), Is.GreaterThan(0), "a backlog was left when the run ended");
        Assert.That(rate.GetProperty("read").GetProperty("mean_start_lag_ns").GetDouble(), Is.GreaterThan(Median(clat)));
    }

    [TestCase("linear")]
    [TestCase("poisson")]
    [CancelAfter(60_000)]
    public void ARateTheDeviceCanServeLimitsTheIos(string process)
    {
        var job = Job("--rw=randread", "--iodepth=4", "--rate_iops=500", $"--rate_process={process}", "--runtime=400ms", "--time_based", "--device=null:16M");
        long ios = job.GetProperty("read").GetProperty("total_ios").GetInt64();
        // 500/s for 0.4 s is 200 I/Os; a closed loop on this device would do hundreds of thousands.
        Assert.That(ios, Is.InRange(50, 320));
        var rate = job.GetProperty("orion").GetProperty("rate");
        Assert.That(rate.GetProperty("rate_process").GetString(), Is.EqualTo(process));
        Assert.That(rate.GetProperty("read").GetProperty("scheduled_ios").GetInt64(), Is.GreaterThan(0));
    }

    [Test]
    [CancelAfter(60_000)]
    public void NumjobsGivesEachJobTheRate()
    {
        // group_reporting: the two clones in one entry (without it fio reports each clone on its own).
        var job = Job("--rw=randread", "--iodepth=2", "--rate_iops=300", "--numjobs=2", "--group_reporting", "--runtime=400ms", "--time_based", "--device=null:16M");
        long ios = job.GetProperty("read").GetProperty("total_ios").GetInt64();
        Assert.That(ios, Is.InRange(2 * 50, 2 * 190), "two jobs of 300/s for 0.4 s: 240 in all");
        var queues = job.GetProperty("orion").GetProperty("queues");
        Assert.That(queues[0].GetProperty("requests").GetInt64(), Is.GreaterThan(0));
        Assert.That(queues[1].GetProperty("requests").GetInt64(), Is.GreaterThan(0));
    }

    [Test]
    [CancelAfter(60_000)]
    public void NormalOutputOfAnOpenLoopJobSaysItIsCoCorrected()
    {
        var (code, output, err) = Run("--rw=randread", "--iodepth=2", "--rate_iops=2000", "--runtime=300ms", "--time_based", "--device=null:16M");
        Assert.That(code, Is.Zero, err);
        Assert.That(output, Does.Contain("    lat from intended start (CO-corrected) ("));
        Assert.That(output, Does.Contain("    clat (service time, what a closed loop would report) ("));
        Assert.That(output, Does.Contain("  rate         : rate_iops=2000 per job (linear); latency from each I/O's intended start is coordinated-omission corrected"));
    }

    // ---- verify

    [Test]
    [CancelAfter(60_000)]
    public void AWriteJobReadsBackAndChecksEveryBlockItWrote()
    {
        var job = Job("--rw=write", "--bs=4k", "--iodepth=4", "--size=1M", "--device=mem:16M", "--verify=crc32c");
        var v = job.GetProperty("orion").GetProperty("verify");
        Assert.That(v.GetProperty("read_back").GetBoolean(), Is.True);
        Assert.That(v.GetProperty("checked_after_writes").GetInt64(), Is.EqualTo(256));
        Assert.That(v.GetProperty("mismatches").GetInt64(), Is.Zero);
        Assert.That(job.GetProperty("error").GetInt32(), Is.Zero);
        Assert.That(job.GetProperty("write").GetProperty("total_ios").GetInt64(), Is.EqualTo(256));
        Assert.That(job.GetProperty("read").GetProperty("total_ios").GetInt64(), Is.Zero, "the read-back is not part of the measurement");
    }

    [Test]
    [CancelAfter(60_000)]
    public void DoVerifyZeroSkipsTheReadBack()
    {
        var v = Job("--rw=randwrite", "--size=1M", "--device=mem:16M", "--verify=crc32c", "--do_verify=0").GetProperty("orion").GetProperty("verify");
        Assert.That(v.GetProperty("read_back").GetBoolean(), Is.False);
        Assert.That(v.GetProperty("checked").GetInt64(), Is.Zero);
    }

    [Test]
    [CancelAfter(60_000)]
    public void AMixedJobChecksReadsOfBlocksItWrote()
    {
        var job = Job("--rw=randrw", "--bssplit=4k/50:16k/50", "--iodepth=8", "--size=512k", "--runtime=300ms", "--time_based",
                      "--device=mem:16M", "--verify=crc32c", "--verify_fatal");
        var v = job.GetProperty("orion").GetProperty("verify");
        Assert.That(v.GetProperty("checked_inline").GetInt64(), Is.GreaterThan(0));
        Assert.That(v.GetProperty("read_back").GetBoolean(), Is.False, "rw/randrw check as they go, as fio");
        Assert.That(v.GetProperty("mismatches").GetInt64(), Is.Zero);
    }

    [TestCase("split")]
    [TestCase("packed")]
    [CancelAfter(60_000)]
    public void VerifyCatchesABlockCorruptedBetweenTheWritesAndTheReadBack(string ring)
    {
        var options = Options("--rw=write", "--bs=4k", "--iodepth=4", "--size=1M", "--device=mem:16M", "--verify=crc32c", $"--ring={ring}");
        var session = new JobSession { BeforeReadBack = device => Corrupt(device, byteOffset: 65536 + 1000) };
        var result = JobExecution.Execute(options, status: null, CancellationToken.None, session);
        var v = result.Verify!;
        Assert.That(v.Mismatches, Is.EqualTo(1));
        Assert.That(v.Checked, Is.EqualTo(256), "every block was read back");
        var m = v.FirstMismatches.Single();
        Assert.That(m.Offset, Is.EqualTo(65536));
        Assert.That(m.AfterWrites, Is.True);
        Assert.That(m.Found.Offset, Is.EqualTo(65536), "the header is intact; the data is not");
        Assert.That(m.ChecksumOk, Is.False, "the checksum after the header no longer matches");
        Assert.That(m.Problems(), Has.Some.StartsWith("crc32c stored 0x"));
        Assert.That(result.Error, Is.EqualTo(84), "fio's EILSEQ");
        Assert.That(PerfCommand.ReportVerifyFailures([result], TextWriter.Null), Is.True);
    }

    [TestCase(false, 2, 256)]
    [TestCase(true, 1, 17)]
    [CancelAfter(60_000)]
    public void VerifyFatalStopsAtTheFirstMismatch(bool fatal, int mismatches, int checkedBlocks)
    {
        var options = Options("--rw=write", "--bs=4k", "--iodepth=1", "--size=1M", "--device=mem:16M", "--verify=crc32c", $"--verify_fatal={(fatal ? 1 : 0)}");
        var session = new JobSession
        {
            BeforeReadBack = device =>
            {
                Corrupt(device, byteOffset: 16 * 4096 + 16);            // inside block 16's header: its offset field
                Corrupt(device, byteOffset: 32 * 4096 + 3000);
            },
        };
        var result = JobExecution.Execute(options, status: null, CancellationToken.None, session);
        Assert.That(result.Verify!.Mismatches, Is.EqualTo(mismatches));
        Assert.That(result.Verify.StoppedEarly, Is.EqualTo(fatal));
        Assert.That(result.Verify.Checked, Is.EqualTo(checkedBlocks), "blocks are read back in order, one at a time at iodepth=1");
        Assert.That(result.Verify.FirstMismatches[0].Offset, Is.EqualTo(16 * 4096));
        Assert.That(result.Verify.FirstMismatches[0].Problems()[0], Does.Contain("misdirected write"), "a flipped offset field reads as data meant for another block");
    }

    [Test]
    public void AVerifyFailureIsToldOnStandardErrorWithItsExitCode()
    {
        var stderr = new StringWriter();
        Assert.That(PerfCommand.ReportVerifyFailures([ReportFixtures.RandRead(), ReportFixtures.VerifyFailed()], stderr), Is.True);
        Assert.That(stderr.ToString(), Does.StartWith("orion-perf: job 'check': verify found 1 mismatch in 17 blocks checked (verify_fatal stopped the job); " +
                                                      "first at offset 65536: header crc stored 0x22222222, computed 0x11111111"));
        Assert.That(PerfCommand.ReportVerifyFailures([ReportFixtures.RandRead()], TextWriter.Null), Is.False);
        Assert.That(PerfCommand.VerifyFailedExitCode, Is.EqualTo(4), "apart from 1 (bad options), and compare/gate's 2 (bad input) and 3 (regression)");
    }

    [Test]
    [CancelAfter(60_000)]
    public void ACorruptedBlockMakesTheCommandExitFourAfterReportingIt()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = PerfCommand.Run(["--rw=write", "--bs=4k", "--iodepth=4", "--size=1M", "--device=mem:16M", "--verify=crc32c", "--verify_fatal"],
                                   stdout, stderr, _ => new JobSession { BeforeReadBack = device => Corrupt(device, byteOffset: 8192 + 100) });
        Assert.That(code, Is.EqualTo(4));
        Assert.That(stdout.ToString(), Does.Contain("err=84"));
        Assert.That(stdout.ToString(), Does.Contain("  verify error : offset 8192 (0x2000), 4096 bytes, read back after the writes: crc32c stored 0x"));
        Assert.That(stderr.ToString(), Does.Contain("orion-perf: job 'orion': verify found 1 mismatch in "));
        Assert.That(stderr.ToString(), Does.Contain("(verify_fatal stopped the job); first at offset 8192: crc32c stored 0x"));
    }

    [Test]
    [CancelAfter(60_000)]
    public void ACleanVerifyRunExitsZeroAndSaysWhatItChecked()
    {
        var (code, output, err) = Run("--rw=randwrite", "--size=1M", "--iodepth=4", "--device=mem:16M", "--verify=crc32c");
        Assert.That(code, Is.Zero, err);
        Assert.That(output, Does.Match(@"  verify       : crc32c over 4096-byte blocks: \d+ checked \(\d+ read back after the writes, 0 as the workload read them\), 0 mismatches"));
    }

    /// <summary>Flips one byte on the device through the block API (the job's reactors are still running).</summary>
    internal static void Corrupt(BlockDevice device, long byteOffset)
    {
        long lba = byteOffset / device.BlockSize;
        var block = new byte[device.BlockSize];
        device.ReadAsync(lba, block).AsTask().GetAwaiter().GetResult();
        block[byteOffset % device.BlockSize] ^= 0x5A;
        device.WriteAsync(lba, block).AsTask().GetAwaiter().GetResult();
    }

    // ---- cpus_allowed

    [Test]
    [CancelAfter(60_000)]
    public void CpusAllowedPlacesTheReactors()
    {
        var allowed = CpuAffinity.GetAllowedCpus();
        int cpu = allowed[^1];
        var job = Job("--rw=randread", "--iodepth=2", "--runtime=200ms", "--time_based", "--device=null:16M", $"--cpus_allowed={cpu}");
        Assert.That(job.GetProperty("orion").GetProperty("queues")[0].GetProperty("core").GetInt32(), Is.EqualTo(cpu));
        Assert.That(job.GetProperty("job options").GetProperty("cpus_allowed").GetString(), Is.EqualTo(cpu.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Test]
    public void ACpuOutsideTheAllowedSetExitsOneBeforeRunning()
    {
        var allowed = CpuAffinity.GetAllowedCpus();
        int outside = Enumerable.Range(0, CpuAffinity.MaxCpus).First(c => !allowed.Contains(c));
        var (code, output, err) = Run($"--cpus_allowed={outside}");
        Assert.That(code, Is.EqualTo(1));
        Assert.That(err, Does.Contain($"CPU {outside} is not in this process's allowed set"));
        Assert.That(output, Is.Empty);
    }

    // ---- stonewall / new_group

    [Test]
    [CancelAfter(60_000)]
    public void JobFileGroupsAreReportedPerGroup()
    {
        string path = Path.Combine(Path.GetTempPath(), $"orion-groups-{Environment.ProcessId}.fio");
        File.WriteAllText(path, """
            [global]
            bs=4k
            iodepth=2
            runtime=150ms
            time_based
            [a]
            rw=randread
            [b]
            rw=randwrite
            [c]
            stonewall
            rw=randread
            """);
        try
        {
            var (code, output, err) = Run(path, "--device=null:16M");
            Assert.That(code, Is.Zero, err);
            Assert.That(err, Does.Not.Contain("one after another"));
            Assert.That(err, Does.Not.Contain("rather than concurrently"));
            Assert.That(output, Does.Contain("c: (g=1): rw=randread"));
            Assert.That(output, Does.Contain("c: (groupid=1, jobs=1)"));
            Assert.That(output, Does.Contain("Run status group 0 (all jobs):"));
            Assert.That(output, Does.Contain("Run status group 1 (all jobs):"));

            var (jcode, json, jerr) = Run(path, "--device=null:16M", "--output-format=json");
            Assert.That(jcode, Is.Zero, jerr);
            using var doc = JsonDocument.Parse(json);
            var ids = doc.RootElement.GetProperty("jobs").EnumerateArray().Select(j => j.GetProperty("groupid").GetInt32());
            Assert.That(ids, Is.EqualTo(new[] { 0, 0, 1 }));
            var orion = doc.RootElement.GetProperty("jobs").EnumerateArray().Select(j => j.GetProperty("orion")).ToList();
            int[] Queues(JsonElement o) => o.GetProperty("queues").EnumerateArray().Select(q => q.GetProperty("queue").GetInt32()).ToArray();
            // a and b ran together on one engine, each on its own queue; c (stonewall) alone after both had finished.
            Assert.That(Queues(orion[0]), Is.EqualTo(new[] { 0 }));
            Assert.That(Queues(orion[1]), Is.EqualTo(new[] { 1 }));
            Assert.That(Queues(orion[2]), Is.EqualTo(new[] { 0 }));
            Assert.That(orion.Select(o => o.GetProperty("shared_engine_jobs").GetInt32()), Is.EqualTo(new[] { 2, 2, 1 }));
            long Ms(JsonElement o, string name) => o.GetProperty(name).GetInt64();
            Assert.That(Ms(orion[1], "job_start_ms"), Is.LessThan(Ms(orion[0], "job_end_ms")), "b started while a ran");
            Assert.That(Ms(orion[0], "job_start_ms"), Is.LessThan(Ms(orion[1], "job_end_ms")), "a started while b ran");
            Assert.That(Ms(orion[2], "job_start_ms"), Is.GreaterThanOrEqualTo(Math.Max(Ms(orion[0], "job_end_ms"), Ms(orion[1], "job_end_ms"))));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public void ConcurrentJobsShareOneMemDiskAndIncompatibleOnesFallBack()
    {
        string path = Path.Combine(Path.GetTempPath(), $"orion-shared-{Environment.ProcessId}.fio");
        File.WriteAllText(path, """
            [global]
            bs=4k
            iodepth=2
            runtime=150ms
            time_based
            device=mem:8M
            [w]
            rw=randwrite
            [r]
            rw=randread
            numjobs=2
            [p]
            rw=randread
            ring=packed
            """);
        try
        {
            var (code, json, err) = Run(path, "--output-format=json");
            Assert.That(code, Is.Zero, err);
            Assert.That(err, Does.Contain("job 'p' runs after 'w' rather than concurrently with it, on its own engine: ring Packed differs from Split"));
            using var doc = JsonDocument.Parse(json);
            var jobs = doc.RootElement.GetProperty("jobs").EnumerateArray().ToList();
            int[] Queues(JsonElement j) => j.GetProperty("orion").GetProperty("queues").EnumerateArray().Select(q => q.GetProperty("queue").GetInt32()).ToArray();
            // r's two clones are two entries, as fio reports them without group_reporting; each clone counts as a job sharing the engine.
            Assert.That(Queues(jobs[0]), Is.EqualTo(new[] { 0 }));
            Assert.That(Queues(jobs[1]), Is.EqualTo(new[] { 1 }));
            Assert.That(Queues(jobs[2]), Is.EqualTo(new[] { 2 }));
            Assert.That(Queues(jobs[3]), Is.EqualTo(new[] { 0 }));
            Assert.That(jobs.Select(j => j.GetProperty("jobname").GetString()), Is.EqualTo(new[] { "w", "r", "r", "p" }));
            Assert.That(jobs.Select(j => j.GetProperty("orion").GetProperty("shared_engine_jobs").GetInt32()), Is.EqualTo(new[] { 3, 3, 3, 1 }));
            Assert.That(jobs[0].GetProperty("write").GetProperty("total_ios").GetInt64(), Is.GreaterThan(0));
            Assert.That(jobs[1].GetProperty("read").GetProperty("total_ios").GetInt64(), Is.GreaterThan(0));
            Assert.That(jobs[1].GetProperty("write").GetProperty("total_ios").GetInt64(), Is.Zero, "r's report holds only its own workloads");
            Assert.That(jobs.Select(j => j.GetProperty("error").GetInt32()), Is.All.Zero);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
