using System.Text.Json;
using HdrHistogram;
using Orion.Perf;
using Orion.Perf.Tests.Reporting;

namespace Orion.Perf.Tests.Cli;

/// <summary>
/// --write_hdr_log, --log_hist_msec and --report end to end: real engine, short jobs. The interval logs are read back
/// with HdrHistogram.NET's own reader and compared with the job's JSON report: every measured completion is in
/// exactly one interval. Counts and relations are asserted, never speeds or interval timing.
/// </summary>
[NonParallelizable]
public class IntervalLogCliTests : Logs.LogKit
{
    private static long Percentile(JsonElement job, string direction, string p) =>
        job.GetProperty(direction).GetProperty("clat_ns").GetProperty("percentile").GetProperty(p).GetInt64();

    [Test]
    [CancelAfter(60_000)]
    public void AMixedJobsLogReadsBackToTheJobsCountsAndPercentiles()
    {
        string prefix = Path.Combine(Dir, "mix");
        var job = Jobs("--rw=randrw", "--rwmixread=70", "--iodepth=4", "--ramp_time=100ms", "--runtime=600ms", "--time_based",
                       "--device=mem:16M", $"--write_hdr_log={prefix}", "--log_hist_msec=100")[0];
        string path = prefix + "_clat_hdr.1.hlog";
        Assert.That(File.Exists(path), Is.True, "PREFIX_clat_hdr.N.hlog");
        byte[] bytes = File.ReadAllBytes(path);
        var lines = HlogAssert.WellFormed(bytes);
        var histograms = HlogAssert.Read(bytes);
        Assert.That(histograms, Has.Count.EqualTo(lines.Count));

        var all = histograms.Where(h => h.Tag is null).ToList();
        var reads = histograms.Where(h => h.Tag == "read").ToList();
        var writes = histograms.Where(h => h.Tag == "write").ToList();
        Assert.That(all, Has.Count.GreaterThan(1), "a 600 ms job in 100 ms intervals");
        Assert.That(reads, Has.Count.EqualTo(all.Count));
        Assert.That(writes, Has.Count.EqualTo(all.Count));
        // Every measured completion in exactly one interval: none lost between intervals, none of the ramp.
        Assert.That(all.Sum(h => h.TotalCount), Is.EqualTo(Ios(job, "read") + Ios(job, "write")));
        Assert.That(reads.Sum(h => h.TotalCount), Is.EqualTo(Ios(job, "read")));
        Assert.That(writes.Sum(h => h.TotalCount), Is.EqualTo(Ios(job, "write")));
        var readSum = HlogAssert.Sum(reads);
        var writeSum = HlogAssert.Sum(writes);
        foreach (var (p, key) in new[] { (50.0, "50.000000"), (99.0, "99.000000"), (99.9, "99.900000") })
        {
            // The same values in the same buckets: equal to the histogram's precision (3 significant digits).
            Assert.That((double)readSum.GetValueAtPercentile(p), Is.EqualTo((double)Percentile(job, "read", key)).Within(0.1).Percent, $"read p{p}");
            Assert.That((double)writeSum.GetValueAtPercentile(p), Is.EqualTo((double)Percentile(job, "write", key)).Within(0.1).Percent, $"write p{p}");
        }
        // Intervals in order, back to back.
        for (int i = 1; i < all.Count; i++) Assert.That(all[i].StartTimeStamp, Is.GreaterThanOrEqualTo(all[i - 1].StartTimeStamp));
        Assert.That(File.ReadAllText(path), Does.Contain("job 'orion'").And.Contain("per 100 ms interval"));
    }

    [Test]
    [CancelAfter(60_000)]
    public void ASizeBoundJobWithTwoWorkloadsLogsEveryIo()
    {
        string prefix = Path.Combine(Dir, "sz");
        var job = Jobs("--numjobs=2", "--group_reporting", "--rw=write", "--bs=64k", "--iodepth=8", "--size=8M", "--device=mem:16M", $"--write_hdr_log={prefix}")[0];
        byte[] bytes = File.ReadAllBytes(prefix + "_clat_hdr.1.hlog");
        var lines = HlogAssert.WellFormed(bytes);
        Assert.That(lines.Any(l => l.StartsWith("Tag=", StringComparison.Ordinal)), Is.False, "one direction: untagged lines only");
        var histograms = HlogAssert.Read(bytes);
        Assert.That(Ios(job, "write"), Is.EqualTo(2 * 128), "each of the two workloads writes the 8 MiB once");
        Assert.That(histograms.Sum(h => h.TotalCount), Is.EqualTo(Ios(job, "write")));
        long max = job.GetProperty("write").GetProperty("clat_ns").GetProperty("max").GetInt64();
        Assert.That((double)HlogAssert.Sum(histograms).GetMaxValue(), Is.EqualTo((double)max).Within(0.1).Percent);
    }

    [Test]
    [CancelAfter(60_000)]
    public void AVerifyReadBackIsNotLogged()
    {
        string prefix = Path.Combine(Dir, "v");
        var job = Jobs("--rw=write", "--size=1M", "--device=mem:16M", "--verify=crc32c", $"--write_hdr_log={prefix}")[0];
        var histograms = HlogAssert.Read(File.ReadAllBytes(prefix + "_clat_hdr.1.hlog"));
        Assert.That(histograms.Sum(h => h.TotalCount), Is.EqualTo(Ios(job, "write")));
        Assert.That(Ios(job, "read"), Is.Zero, "the read-back is not measured");
    }

    [Test]
    [CancelAfter(60_000)]
    public void JobFilesGetOneLogPerJobAndOneReport()
    {
        string jobFile = Path.Combine(Dir, "two.fio");
        File.WriteAllText(jobFile, """
            [global]
            iodepth=2
            runtime=200ms
            time_based
            device=null:16M
            [<x&y>]
            rw=randread
            [second]
            rw=randwrite
            log_hist_msec=50
            """);
        string prefix = Path.Combine(Dir, "jf");
        string report = Path.Combine(Dir, "report.html");
        var jobs = Jobs(jobFile, $"--write_hdr_log={prefix}", $"--report={report}");
        Assert.That(jobs.GetArrayLength(), Is.EqualTo(2));
        for (int n = 1; n <= 2; n++)
        {
            var histograms = HlogAssert.Read(File.ReadAllBytes($"{prefix}_clat_hdr.{n}.hlog"));
            var job = jobs[n - 1];
            Assert.That(histograms.Sum(h => h.TotalCount), Is.EqualTo(Ios(job, "read") + Ios(job, "write")), $"job {n}");
        }

        string html = File.ReadAllText(report);
        Assert.That(html, Does.Contain("<svg"));
        Assert.That(html, Does.Not.Contain("http://").And.Not.Contain("https://").And.Not.Contain("src="));
        Assert.That(html, Does.Contain("&lt;x&amp;y&gt;").And.Not.Contain("<x&y>"));
        Assert.That(html.Split("<tr class=\"job\">").Length - 1, Is.EqualTo(2), "a row per job");
        Assert.That(html, Does.Contain("IOPS over time (1000 ms intervals)").And.Contain("IOPS over time (50 ms intervals)"));
        Assert.That(html, Does.Not.Contain("no intervals recorded"));
    }

    [Test]
    [CancelAfter(60_000)]
    public void AReportAloneRecordsIntervalsButWritesNoLog()
    {
        string report = Path.Combine(Dir, "only.html");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = PerfCommand.Run(["--iodepth=2", "--runtime=300ms", "--time_based", "--device=null:16M", $"--report={report}"], stdout, stderr);
        Assert.That(code, Is.Zero, stderr.ToString());
        Assert.That(stdout.ToString(), Does.Contain("Run status group 0"), "the normal report still goes to standard output");
        Assert.That(stdout.ToString(), Does.Not.Contain("\r"), "no status line when output is not a terminal");
        Assert.That(Directory.GetFiles(Dir).Select(Path.GetFileName), Is.EqualTo(new[] { "only.html" }));
        string html = File.ReadAllText(report);
        Assert.That(html, Does.Contain("<svg").And.Contain("IOPS over time (1000 ms intervals)"));
        Assert.That(html, Does.Not.Contain("no intervals recorded"));
    }
}
