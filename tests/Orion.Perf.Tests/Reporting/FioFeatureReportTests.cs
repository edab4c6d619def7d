using System.Text.Json;
using Orion.Perf.Reporting;

namespace Orion.Perf.Tests.Reporting;

/// <summary>The report of slat/clat/lat, of an open-loop (rate_iops) job, of verification and of reporting groups.</summary>
[TestFixture]
public class FioFeatureReportTests
{
    private static string[] Human(params JobResult[] jobs)
    {
        var w = new StringWriter { NewLine = "\n" };
        HumanReport.Write(w, jobs);
        return w.ToString().Split('\n');
    }

    private static JsonElement Json(params JobResult[] jobs)
    {
        var w = new StringWriter();
        JsonReport.Write(w, jobs, plus: false);
        using var doc = JsonDocument.Parse(w.ToString());
        return doc.RootElement.Clone();
    }

    private static string[] Keys(JsonElement e) => e.EnumerateObject().Select(p => p.Name).ToArray();

    [Test]
    public void SlatClatAndLatLinesInFiosFormatAndOrder()
    {
        var lines = Human(ReportFixtures.RateLimited());
        int read = Array.FindIndex(lines, l => l.StartsWith("  read: IOPS=", StringComparison.Ordinal));
        Assert.That(lines[read + 1], Does.Match(@"^    slat \(nsec\): min=300, max=20\d\d, avg= *\d+\.\d\d, stdev= *\d+\.\d\d$"));
        Assert.That(lines[read + 2], Does.Match(@"^    clat \(usec\): min=199, max=80\d, avg= *\d+\.\d\d, stdev= *\d+\.\d\d$"));
        Assert.That(lines[read + 3], Does.Match(@"^     lat \(usec\): min=200, max=80\d, avg= *\d+\.\d\d, stdev= *\d+\.\d\d$"));
        Assert.That(lines[read + 4], Is.EqualTo("    clat percentiles (usec):"));
    }

    [Test]
    public void OpenLoopJobShowsCoCorrectedLatencyBesideTheServiceTime()
    {
        var lines = Human(ReportFixtures.RateLimited());
        string co = lines.Single(l => l.Contains("lat from intended start (CO-corrected)", StringComparison.Ordinal));
        Assert.That(co, Does.Match(@"^    lat from intended start \(CO-corrected\) \(usec\): min=\d+, max=50\d{3}, avg= *\d+\.\d\d, stdev= *\d+\.\d\d$"));
        string closed = lines.Single(l => l.Contains("clat (service time, what a closed loop would report)", StringComparison.Ordinal));
        Assert.That(closed, Does.Match(@"^    clat \(service time, what a closed loop would report\) \(usec\): min=199, max=80\d, "));
        Assert.That(lines, Has.One.EqualTo("    lat from intended start percentiles (usec):"));
        Assert.That(lines, Has.One.EqualTo("    behind schedule: I/Os started 9.00 msec late on average, 49.80 msec at most"));
        Assert.That(lines, Has.One.EqualTo("  rate         : rate_iops=1000 per job (poisson); latency from each I/O's intended start is coordinated-omission " +
                                           "corrected, clat is the service time; 37 I/Os due but not started when the run ended"));
    }

    [Test]
    public void ClosedLoopJobHasNoRateLines()
    {
        var lines = Human(ReportFixtures.RandRead());
        Assert.That(lines, Has.None.Contains("intended start"));
        Assert.That(lines, Has.None.StartsWith("  rate "));
        Assert.That(lines, Has.None.StartsWith("    slat"), "a result without slat prints no slat line");
    }

    [Test]
    public void JsonHasSlatClatLatWithFiosFields()
    {
        var read = Json(ReportFixtures.RateLimited()).GetProperty("jobs")[0].GetProperty("read");
        var slat = read.GetProperty("slat_ns");
        var clat = read.GetProperty("clat_ns");
        var lat = read.GetProperty("lat_ns");
        Assert.That(Keys(slat), Is.EqualTo(new[] { "min", "max", "mean", "stddev", "N" }));
        Assert.That(Keys(clat), Is.EqualTo(new[] { "min", "max", "mean", "stddev", "N", "percentile" }));
        Assert.That(Keys(lat), Is.EqualTo(new[] { "min", "max", "mean", "stddev", "N" }));
        Assert.That(slat.GetProperty("N").GetInt64(), Is.EqualTo(1000));
        Assert.That(slat.GetProperty("min").GetInt64(), Is.EqualTo(300));
        Assert.That(clat.GetProperty("min").GetInt64(), Is.InRange(199_900, 200_000));
        Assert.That(lat.GetProperty("mean").GetDouble(), Is.GreaterThan(clat.GetProperty("mean").GetDouble()));
        Assert.That(clat.GetProperty("percentile").GetProperty("50.000000").GetInt64(), Is.InRange(199_900, 200_100));
    }

    [Test]
    public void JsonRateSectionHasTheCoCorrectedLatency()
    {
        var job = Json(ReportFixtures.RateLimited()).GetProperty("jobs")[0];
        var rate = job.GetProperty("orion").GetProperty("rate");
        Assert.That(Keys(rate), Is.EqualTo(new[] { "rate_iops", "rate_process", "rate_per", "lat_intended_ns_from", "unissued_at_end", "read" }));
        Assert.That(rate.GetProperty("rate_iops").GetInt32(), Is.EqualTo(1000));
        Assert.That(rate.GetProperty("rate_process").GetString(), Is.EqualTo("poisson"));
        Assert.That(rate.GetProperty("unissued_at_end").GetInt64(), Is.EqualTo(37));
        var read = rate.GetProperty("read");
        Assert.That(Keys(read), Is.EqualTo(new[] { "scheduled_ios", "mean_start_lag_ns", "max_start_lag_ns", "lat_intended_ns" }));
        var co = read.GetProperty("lat_intended_ns");
        Assert.That(Keys(co), Is.EqualTo(new[] { "min", "max", "mean", "stddev", "N", "percentile" }));
        Assert.That(co.GetProperty("percentile").GetProperty("99.000000").GetInt64(), Is.InRange(49_000_000, 51_000_000));
        Assert.That(co.GetProperty("mean").GetDouble(), Is.GreaterThan(10 * job.GetProperty("read").GetProperty("clat_ns").GetProperty("mean").GetDouble()));
        var options = job.GetProperty("job options");
        Assert.That(options.GetProperty("rate_iops").GetString(), Is.EqualTo("1000"));
        Assert.That(options.GetProperty("rate_process").GetString(), Is.EqualTo("poisson"));
    }

    [Test]
    public void NoRateOrVerifySectionsWithoutThoseOptions()
    {
        var orion = Json(ReportFixtures.RandRead()).GetProperty("jobs")[0].GetProperty("orion");
        Assert.That(orion.TryGetProperty("rate", out _), Is.False);
        Assert.That(orion.TryGetProperty("verify", out _), Is.False);
    }

    [Test]
    public void VerifyFailureIsReportedWithOffsetHeadersAndCrc()
    {
        var lines = Human(ReportFixtures.VerifyFailed());
        Assert.That(lines[0], Does.Contain("err=84"));
        Assert.That(lines, Has.One.EqualTo("  verify       : crc32c over 4096-byte blocks: 17 checked (17 read back after the writes, 0 as the workload read them), " +
                                           "1 mismatch; verify_fatal stopped the job"));
        int at = Array.FindIndex(lines, l => l.StartsWith("  verify error : ", StringComparison.Ordinal));
        Assert.That(lines[at], Is.EqualTo("  verify error : offset 65536 (0x10000), 4096 bytes, read back after the writes: " +
                                          "header crc stored 0x22222222, computed 0x11111111: the header changed after it was written"));
        Assert.That(lines[at + 1], Does.StartWith("                   expected header: magic=0xacca type=5 len=4096 offset=65536 seed=0x9e3779b97f4a7c15 thread=1 numberio=17 hdr_crc=0x11111111"));
        Assert.That(lines[at + 2], Does.StartWith("                   found header:    magic=0xacca type=5 len=4096 offset=65536 seed=0x9e3779b97f4a7c15 thread=1 numberio=17 hdr_crc=0x22222222"));
    }

    [Test]
    public void JsonVerifySection()
    {
        var job = Json(ReportFixtures.VerifyFailed()).GetProperty("jobs")[0];
        Assert.That(job.GetProperty("error").GetInt32(), Is.EqualTo(84));
        var v = job.GetProperty("orion").GetProperty("verify");
        Assert.That(v.GetProperty("type").GetString(), Is.EqualTo("crc32c"));
        Assert.That(v.GetProperty("checked").GetInt64(), Is.EqualTo(17));
        Assert.That(v.GetProperty("mismatches").GetInt64(), Is.EqualTo(1));
        Assert.That(v.GetProperty("stopped_early").GetBoolean(), Is.True);
        var m = v.GetProperty("first_mismatches")[0];
        Assert.That(m.GetProperty("offset").GetInt64(), Is.EqualTo(65536));
        Assert.That(m.GetProperty("expected").GetProperty("header_crc").GetString(), Is.EqualTo("0x11111111"));
        Assert.That(m.GetProperty("found").GetProperty("header_crc").GetString(), Is.EqualTo("0x22222222"));
        Assert.That(m.GetProperty("computed_header_crc").GetString(), Is.EqualTo("0x11111111"));
        Assert.That(m.GetProperty("problems")[0].GetString(), Does.StartWith("header crc stored 0x22222222, computed 0x11111111"));
        var options = job.GetProperty("job options");
        Assert.That(options.GetProperty("verify").GetString(), Is.EqualTo("crc32c"));
        Assert.That(options.GetProperty("verify_fatal").GetString(), Is.EqualTo("1"));
    }

    [Test]
    public void EachGroupGetsItsOwnRunStatusBlock()
    {
        var a = ReportFixtures.RandRead();
        var b = ReportFixtures.RandRead();
        var c = ReportFixtures.MixedNanoseconds();
        c.GroupId = 1;
        a.SharedEngineJobs = b.SharedEngineJobs = 2;
        var lines = Human(a, b, c);
        Assert.That(lines.Count(l => l.StartsWith("orion: (groupid=0, jobs=1)", StringComparison.Ordinal)), Is.EqualTo(2));
        Assert.That(lines, Has.One.StartsWith("mix: (groupid=1, jobs=1)"));
        int g0 = Array.IndexOf(lines, "Run status group 0 (all jobs):");
        int g1 = Array.IndexOf(lines, "Run status group 1 (all jobs):");
        Assert.That(g0, Is.GreaterThan(0));
        Assert.That(g1, Is.GreaterThan(g0));
        // Group 0 is the two randread jobs only; group 1 the mixed job's reads and writes.
        Assert.That(lines[g0 + 1], Does.StartWith("   READ: bw=4000MiB/s"));
        Assert.That(lines[g0 + 2], Is.EqualTo("   note: jobs that ran concurrently shared one engine and process: their cpu times are the whole process's"));
        Assert.That(lines[g1 + 1], Does.StartWith("   READ:"));
        Assert.That(lines[g1 + 2], Does.StartWith("  WRITE:"));
    }

    [Test]
    public void JsonGroupIdAndPerGroupShares()
    {
        var a = ReportFixtures.RandRead();
        var b = ReportFixtures.RandRead();
        b.GroupId = 1;
        var jobs = Json(a, b).GetProperty("jobs");
        Assert.That(jobs[0].GetProperty("groupid").GetInt32(), Is.Zero);
        Assert.That(jobs[1].GetProperty("groupid").GetInt32(), Is.EqualTo(1));
        // Each job is all of its group's reads.
        Assert.That(jobs[1].GetProperty("read").GetProperty("bw_agg").GetDouble(), Is.EqualTo(100.0));
    }

    [Test]
    public void BannerNamesTheGroup()
    {
        var w = new StringWriter();
        HumanReport.WriteBanner(w, new Orion.Perf.Options.JobOptions { Name = "second" }, groupId: 3);
        Assert.That(w.ToString(), Does.StartWith("second: (g=3): rw=randread"));
    }
}
