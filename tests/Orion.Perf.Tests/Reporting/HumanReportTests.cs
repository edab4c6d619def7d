using System.Text.RegularExpressions;
using Orion.Perf.Options;
using Orion.Perf.Reporting;

namespace Orion.Perf.Tests.Reporting;

[TestFixture]
public class HumanReportTests
{
    private static string[] Render(params JobResult[] jobs)
    {
        var w = new StringWriter { NewLine = "\n" };
        HumanReport.Write(w, jobs);
        return w.ToString().Split('\n');
    }

    [Test]
    public void HeaderAndDirectionLinesAreFios()
    {
        var lines = Render(ReportFixtures.RandRead());
        Assert.That(lines[0], Does.Match(@"^orion: \(groupid=0, jobs=1\): err= 0: pid=4242: \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$"));
        // 5,120,000 I/Os in 10,000 ms = 512,000 IOPS; 2,097,152,000 B/s = 2000 MiB/s.
        Assert.That(lines[1], Is.EqualTo("  read: IOPS=512k, BW=2000MiB/s (2097MB/s)(19.5GiB/10000msec)"));
        Assert.That(lines[2], Does.Match(@"^    clat \(nsec\): min=1500, max=250\d{3}, avg=\d+\.\d\d, stdev=\d+\.\d\d$"));
    }

    [Test]
    public void PercentileBlockHasFiosLayout()
    {
        var lines = Render(ReportFixtures.RandRead());
        int start = Array.FindIndex(lines, l => l.Contains("clat percentiles", StringComparison.Ordinal));
        Assert.That(start, Is.GreaterThan(0));
        // fio switches to usec only when the smallest percentile is above 2000 ns; 1500 ns keeps nsec.
        Assert.That(lines[start], Is.EqualTo("    clat percentiles (nsec):"));
        Assert.That(lines[start + 1], Does.Match(@"^     \|  1\.00th=\[ *\d+\],  5\.00th=\[ *\d+\], 10\.00th=\[ *\d+\], 20\.00th=\[ *\d+\],$"));
        Assert.That(lines[start + 4], Does.Match(@"^     \| 99\.00th=\[ *\d+\], 99\.50th=\[ *\d+\], 99\.90th=\[ *\d+\], 99\.95th=\[ *\d+\],$"));
        Assert.That(lines[start + 5], Does.Match(@"^     \| 99\.99th=\[ *\d+\]$"));
        // 1.5 µs is 19.5 % of the I/Os, so the 20th percentile is the 9 µs bucket's top; 250111 ns widens the column to 6.
        Assert.That(lines[start + 1], Is.EqualTo("     |  1.00th=[  1500],  5.00th=[  1500], 10.00th=[  1500], 20.00th=[  9007],"));
    }

    [Test]
    public void PercentilesSwitchToMicrosecondsLikeFio()
    {
        var job = ReportFixtures.RandRead();
        job.Read.ClatNs = ReportFixtures.Histogram([(50_000, 1_000), (150_000, 10)]);
        var lines = Render(job);
        Assert.That(lines, Has.Some.Match(@"^    clat \(usec\): min=49, max=150, avg=\d+\.\d\d, stdev= ?\d+\.\d\d$"));
        int start = Array.FindIndex(lines, l => l.Contains("clat percentiles", StringComparison.Ordinal));
        Assert.That(lines[start], Is.EqualTo("    clat percentiles (usec):"));
        // 50,000 ns sits in a 32-ns HdrHistogram bucket whose top is 50,015; fio rounds up when scaling to usec.
        Assert.That(lines[start + 1], Does.StartWith("     |  1.00th=[   51],"));
        Assert.That(lines[start + 5], Does.Match(@"^     \| 99\.99th=\[  15\d\]$"));
    }

    [Test]
    public void LatencyBucketsCpuAndDepthLines()
    {
        var lines = Render(ReportFixtures.RandRead());
        Assert.That(lines, Has.Some.Match(@"^  lat \(usec\)   : 2=19\.53%, 10=58\.59%, 20=19\.53%, 50=2\.15%, 500=0\.20%$"));
        Assert.That(lines, Has.Some.EqualTo("  cpu          : usr=149.99%, sys=10.00%, ctx=12, majf=0, minf=900"));
        Assert.That(lines, Has.Some.Match(@"^  cpu per io   : 3\.125 usec \(usr=2\.930, sys=0\.195; whole process on 2 cpus, device thread included\)$"));
        Assert.That(lines, Has.Some.EqualTo("  IO depths    : 1=0.0%, 2=0.0%, 4=0.0%, 8=0.0%, 16=0.0%, 32=100.0%, >=64=0.0%"));
        Assert.That(lines, Has.Some.EqualTo("     issued rwts: total=5120000,0,0,0 short=0,0,0,0 dropped=0,0,0,0"));
    }

    [Test]
    public void EngineSectionPerQueue()
    {
        var lines = Render(ReportFixtures.RandRead(queues: 2));
        Assert.That(lines, Has.Some.EqualTo("  engine       : device=null:1g (null device, 1 GiB, 512-byte blocks), queues=2"));
        Assert.That(lines, Has.Some.EqualTo(
            "  queue 0      : core=1, requests=2560000, kicks/io=0.000, polls/io=3.00, batches=320000 (8.0 req/batch), idle=25.0%, bounces=0, errors=0, buffers=32/1024"));
        Assert.That(lines, Has.Some.StartsWith("  queue 1      : core=any, "));
    }

    [Test]
    public void RunStatusGroup()
    {
        var lines = Render(ReportFixtures.RandRead());
        int i = Array.IndexOf(lines, "Run status group 0 (all jobs):");
        Assert.That(i, Is.GreaterThan(0));
        Assert.That(lines[i - 1], Is.Empty);
        Assert.That(lines[i + 1], Is.EqualTo("   READ: bw=2000MiB/s (2097MB/s), 2000MiB/s-2000MiB/s (2097MB/s-2097MB/s), io=19.5GiB (21.0GB), run=10000-10000msec"));
        Assert.That(lines, Has.None.Contains("WRITE:"));
    }

    [Test]
    public void MixedJobShowsBothDirectionsAndErrors()
    {
        var lines = Render(ReportFixtures.MixedNanoseconds());
        Assert.That(lines, Has.Some.StartsWith("  read: IOPS=700, "));
        Assert.That(lines, Has.Some.StartsWith("  write: IOPS=300, "));
        Assert.That(lines.Count(l => l.Contains("clat percentiles", StringComparison.Ordinal)), Is.EqualTo(2));
        Assert.That(lines, Has.Some.Match(@"^  lat \(nsec\)   : 500=69\.00%, 1000=29\.90%$"));
        Assert.That(lines, Has.Some.Match(@"^  lat \(usec\)   : 2=1\.00%$"));
        Assert.That(lines, Has.Some.Match(@"^  lat \(msec\)   : 4=0\.10%$"));
        Assert.That(lines, Has.Some.Contains("io errors: read=0, write=1, trim=0"));
        Assert.That(lines, Has.Some.StartsWith("  WRITE: bw="));
    }

    [Test]
    public void JobWithoutIoHasNoDirectionLines()
    {
        var lines = Render(ReportFixtures.Empty());
        Assert.That(lines, Has.None.Contains("IOPS="));
        Assert.That(lines, Has.None.Contains("cpu per io"));
        Assert.That(lines, Has.Some.EqualTo("Run status group 0 (all jobs):"));
    }

    [Test]
    public void Banner()
    {
        var w = new StringWriter { NewLine = "\n" };
        HumanReport.WriteBanner(w, new JobOptions { IoDepth = 32, Device = "null:1G" });
        Assert.That(w.ToString(), Is.EqualTo(
            "orion: (g=0): rw=randread, bs=(R) 4096B-4096B, (W) 4096B-4096B, (T) 4096B-4096B, ioengine=orion, device=null:1G, iodepth=32\n" +
            JobOptionsParser.ToolVersion + "\nStarting 1 process\n"));
    }

    [Test]
    public void NoLineEndsWithSpaces()
    {
        foreach (var line in Render(ReportFixtures.RandRead(queues: 2), ReportFixtures.MixedNanoseconds()))
            Assert.That(Regex.IsMatch(line, @"\s$"), Is.False, line);
    }
}
