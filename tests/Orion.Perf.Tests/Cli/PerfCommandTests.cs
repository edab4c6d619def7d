using System.Text.Json;
using Orion.Perf;

namespace Orion.Perf.Tests.Cli;

/// <summary>
/// orion-perf end to end: real engine, real threads (pinned only where the machine has the cores), short jobs.
/// These check behaviour (what runs, what is reported, what is refused), never speed.
/// </summary>
[NonParallelizable]
public class PerfCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = PerfCommand.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Test]
    [CancelAfter(60_000)]
    public void JsonRunReportsWhatItDid()
    {
        var (code, output, err) = Run("--rw=randrw", "--rwmixread=70", "--bs=4k", "--iodepth=4", "--runtime=300ms", "--time_based",
                                      "--device=mem:16M", "--output-format=json");
        Assert.That(code, Is.Zero, err);
        using var doc = JsonDocument.Parse(output);
        var job = doc.RootElement.GetProperty("jobs")[0];
        long reads = job.GetProperty("read").GetProperty("total_ios").GetInt64();
        long writes = job.GetProperty("write").GetProperty("total_ios").GetInt64();
        Assert.That(reads, Is.GreaterThan(0));
        Assert.That(writes, Is.GreaterThan(0));
        Assert.That((double)reads / (reads + writes), Is.InRange(0.6, 0.8), "rwmixread=70");
        Assert.That(job.GetProperty("read").GetProperty("clat_ns").GetProperty("percentile").GetProperty("99.000000").GetInt64(), Is.GreaterThan(0));
        var queue = job.GetProperty("orion").GetProperty("queues")[0];
        // The monitor snapshots on the main thread just after the workload starts measuring: close, not exact.
        Assert.That(queue.GetProperty("requests").GetInt64(), Is.EqualTo(reads + writes).Within(10).Percent);
        Assert.That(job.GetProperty("error").GetInt32(), Is.Zero);
    }

    [Test]
    [CancelAfter(60_000)]
    public void SizeBoundJobTransfersTheRegionOnce()
    {
        // Without --time_based, like fio, the job ends after --size bytes.
        var (code, output, err) = Run("--rw=write", "--bs=64k", "--iodepth=8", "--size=8M", "--device=mem:16M", "--output-format=json");
        Assert.That(code, Is.Zero, err);
        using var doc = JsonDocument.Parse(output);
        var write = doc.RootElement.GetProperty("jobs")[0].GetProperty("write");
        Assert.That(write.GetProperty("io_bytes").GetInt64(), Is.EqualTo(8L << 20));
        Assert.That(write.GetProperty("total_ios").GetInt64(), Is.EqualTo(128));
    }

    [TestCase("split")]
    [TestCase("packed")]
    [CancelAfter(60_000)]
    public void NumjobsRunsOneJobPerQueue(string ring)
    {
        var (code, output, err) = Run("--numjobs=2", $"--ring={ring}", "--iodepth=4", "--runtime=300ms", "--time_based",
                                      "--device=null:16M", "--output-format=json");
        Assert.That(code, Is.Zero, err);
        // fio without group_reporting: one entry per clone, same jobname and group, each with its own queue.
        using (var clones = JsonDocument.Parse(output))
        {
            var entries = clones.RootElement.GetProperty("jobs").EnumerateArray().ToList();
            Assert.That(entries, Has.Count.EqualTo(2));
            Assert.That(entries.Select(e => e.GetProperty("orion").GetProperty("queues")[0].GetProperty("queue").GetInt32()), Is.EqualTo(new[] { 0, 1 }));
            Assert.That(entries.Select(e => e.GetProperty("jobname").GetString()), Is.All.EqualTo("orion"));
            Assert.That(entries.Select(e => e.GetProperty("job options").GetProperty("numjobs").GetString()), Is.All.EqualTo("2"));
            Assert.That(entries.Select(e => e.GetProperty("read").GetProperty("total_ios").GetInt64()), Is.All.GreaterThan(0));
        }
        (code, output, err) = Run("--numjobs=2", $"--ring={ring}", "--iodepth=4", "--runtime=300ms", "--time_based",
                                  "--device=null:16M", "--output-format=json", "--group_reporting");
        Assert.That(code, Is.Zero, err);
        using var doc = JsonDocument.Parse(output);
        Assert.That(doc.RootElement.GetProperty("jobs").GetArrayLength(), Is.EqualTo(1), "group_reporting sums the clones");
        var job = doc.RootElement.GetProperty("jobs")[0];
        var queues = job.GetProperty("orion").GetProperty("queues");
        Assert.That(queues.GetArrayLength(), Is.EqualTo(2));
        Assert.That(queues[0].GetProperty("requests").GetInt64(), Is.GreaterThan(0));
        Assert.That(queues[1].GetProperty("requests").GetInt64(), Is.GreaterThan(0));
        Assert.That(job.GetProperty("read").GetProperty("total_ios").GetInt64(), Is.GreaterThan(0));
    }

    [Test]
    [CancelAfter(60_000)]
    public void JobFileJobsRunOneAfterAnotherAndAreReportedTogether()
    {
        string path = Path.Combine(Path.GetTempPath(), $"orion-job-{Environment.ProcessId}.fio");
        File.WriteAllText(path, """
            ; a job file written for fio's null engine runs unchanged apart from the device
            [global]
            ioengine=null
            bs=4k
            runtime=200ms
            time_based

            [reads]
            rw=randread
            iodepth=4

            [writes]
            rw=randwrite
            iodepth=2
            """);
        try
        {
            var (code, output, err) = Run(path, "--device=null:16M", "--output-format=json");
            Assert.That(code, Is.Zero, err);
            using var doc = JsonDocument.Parse(output);
            var jobs = doc.RootElement.GetProperty("jobs");
            Assert.That(jobs.GetArrayLength(), Is.EqualTo(2));
            Assert.That(jobs[0].GetProperty("jobname").GetString(), Is.EqualTo("reads"));
            Assert.That(jobs[0].GetProperty("read").GetProperty("total_ios").GetInt64(), Is.GreaterThan(0));
            Assert.That(jobs[1].GetProperty("jobname").GetString(), Is.EqualTo("writes"));
            Assert.That(jobs[1].GetProperty("write").GetProperty("total_ios").GetInt64(), Is.GreaterThan(0));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public void NormalOutputLooksLikeFio()
    {
        var (code, output, err) = Run("--rw=randread", "--iodepth=2", "--runtime=200ms", "--time_based", "--device=null:16M");
        Assert.That(code, Is.Zero, err);
        Assert.That(output, Does.Contain("read: IOPS="));
        Assert.That(output, Does.Contain("clat percentiles"));
        Assert.That(output, Does.Contain("Run status group 0"));
    }

    [TestCase("--iodepht=4", "did you mean '--iodepth'")]
    [TestCase("--bs=1000", "multiple of 512")]
    [TestCase("--device=disk:1G", "disk")]
    [TestCase("--verify=md4", "unknown verify type; use one of md5, crc64")]
    [TestCase("--rate_iops=fast", "is not a whole number of I/Os per second")]
    [TestCase("--cpus_allowed=3-1", "runs backwards")]
    [TestCase("--numjobs=0", "from 1 to 256 jobs")]
    [TestCase("--ring=ring", "use split or packed")]
    [TestCase("--poll_mode=sometimes", "use auto, polled, adaptive, interrupt or hybrid")]
    public void BadOptionsExitOneWithAClearMessage(string option, string fragment)
    {
        var (code, output, err) = Run(option);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(err, Does.Contain(fragment));
        Assert.That(output, Is.Empty, "nothing ran");
    }

    [Test]
    public void WritesToAReadOnlyDeviceAreRefusedBeforeRunning()
    {
        var (code, _, err) = Run("--rw=randwrite", "--device=mem:16M,ro");
        Assert.That(code, Is.EqualTo(1));
        Assert.That(err, Does.Contain("read-only"));
    }
}
