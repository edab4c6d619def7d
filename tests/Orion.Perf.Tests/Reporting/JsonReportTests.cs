using System.Globalization;
using System.Text.Json;
using Orion.Perf.Options;
using Orion.Perf.Reporting;

namespace Orion.Perf.Tests.Reporting;

[TestFixture]
public class JsonReportTests
{
    private static JsonElement Render(bool plus, params JobResult[] jobs)
    {
        var w = new StringWriter();
        JsonReport.Write(w, jobs, plus);
        using var doc = JsonDocument.Parse(w.ToString());
        return doc.RootElement.Clone();
    }

    private static string[] Keys(JsonElement e) => e.EnumerateObject().Select(p => p.Name).ToArray();

    [Test]
    public void TopLevelIsFiosLayout()
    {
        var root = Render(false, ReportFixtures.RandRead());
        // fio 3.33 writes "global options" only when some were given, and "disk_util" only for the kernel's disks under
        // the job's files: a job built in code on an embedded device has neither.
        Assert.That(Keys(root), Is.EqualTo(new[] { "fio version", "timestamp", "timestamp_ms", "time", "jobs" }));
        Assert.That(root.GetProperty("fio version").GetString(), Is.EqualTo(JobOptionsParser.ToolVersion));
        Assert.That(root.GetProperty("timestamp_ms").GetInt64() / 1000, Is.EqualTo(root.GetProperty("timestamp").GetInt64()));
        Assert.That(root.GetProperty("jobs").GetArrayLength(), Is.EqualTo(1));
    }

    [Test]
    public void JobHasFiosKeysInFiosOrder()
    {
        var job = Render(false, ReportFixtures.RandRead()).GetProperty("jobs")[0];
        string[] fioKeys =
        [
            "jobname", "groupid", "error", "eta", "elapsed", "job options", "read", "write", "trim", "sync", "job_runtime",
            "usr_cpu", "sys_cpu", "ctx", "majf", "minf", "iodepth_level", "iodepth_submit", "iodepth_complete", "latency_ns", "latency_us", "latency_ms",
            "latency_depth", "latency_target", "latency_percentile", "latency_window", "orion",
        ];
        Assert.That(Keys(job), Is.EqualTo(fioKeys));
        Assert.That(job.GetProperty("jobname").GetString(), Is.EqualTo("orion"));
        Assert.That(job.GetProperty("elapsed").GetInt64(), Is.EqualTo(11));
        Assert.That(job.GetProperty("job_runtime").GetInt64(), Is.EqualTo(10_000));
    }

    [Test]
    public void DirectionHasFiosKeys()
    {
        var read = Render(false, ReportFixtures.RandRead()).GetProperty("jobs")[0].GetProperty("read");
        string[] fioKeys =
        [
            "io_bytes", "io_kbytes", "bw_bytes", "bw", "iops", "runtime", "total_ios", "short_ios", "drop_ios", "slat_ns",
            "clat_ns", "lat_ns", "bw_min", "bw_max", "bw_agg", "bw_mean", "bw_dev", "bw_samples", "iops_min", "iops_max",
            "iops_mean", "iops_stddev", "iops_samples",
        ];
        Assert.That(Keys(read), Is.EqualTo(fioKeys));
        Assert.That(Keys(read.GetProperty("clat_ns")), Is.EqualTo(new[] { "min", "max", "mean", "stddev", "N", "percentile" }));
        Assert.That(Keys(read.GetProperty("slat_ns")), Is.EqualTo(new[] { "min", "max", "mean", "stddev", "N" }));
        Assert.That(read.GetProperty("slat_ns").GetProperty("N").GetInt64(), Is.Zero);
    }

    [Test]
    public void RatesFollowFromTotalsAndRuntime()
    {
        var result = ReportFixtures.RandRead();
        var read = Render(false, result).GetProperty("jobs")[0].GetProperty("read");
        long totalIos = read.GetProperty("total_ios").GetInt64();
        long runtimeMs = read.GetProperty("runtime").GetInt64();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(totalIos, Is.EqualTo(5_120_000));
            Assert.That(runtimeMs, Is.EqualTo(10_000));
            Assert.That(read.GetProperty("iops").GetDouble(), Is.EqualTo(totalIos * 1000.0 / runtimeMs).Within(0.01).Percent);
            Assert.That(read.GetProperty("io_bytes").GetInt64(), Is.EqualTo(totalIos * 4096));
            Assert.That(read.GetProperty("io_kbytes").GetInt64(), Is.EqualTo(totalIos * 4));
            Assert.That(read.GetProperty("bw").GetInt64(), Is.EqualTo(read.GetProperty("bw_bytes").GetInt64() / 1024));
            Assert.That(read.GetProperty("bw_bytes").GetInt64(), Is.EqualTo(totalIos * 4096 * 1000.0 / runtimeMs).Within(0.01).Percent);
            Assert.That(read.GetProperty("bw_agg").GetDouble(), Is.EqualTo(100.0));
        }
    }

    [Test]
    public void PercentilesAreTheHistogramsValues()
    {
        var result = ReportFixtures.RandRead();
        var clat = Render(false, result).GetProperty("jobs")[0].GetProperty("read").GetProperty("clat_ns");
        var h = result.Read.ClatNs!;
        var percentile = clat.GetProperty("percentile");
        string[] keys =
        [
            "1.000000", "5.000000", "10.000000", "20.000000", "30.000000", "40.000000", "50.000000", "60.000000", "70.000000",
            "80.000000", "90.000000", "95.000000", "99.000000", "99.500000", "99.900000", "99.950000", "99.990000",
        ];
        Assert.That(Keys(percentile), Is.EqualTo(keys));
        foreach (var key in keys)
        {
            double p = double.Parse(key, CultureInfo.InvariantCulture);
            Assert.That(percentile.GetProperty(key).GetInt64(), Is.EqualTo(h.GetValueAtPercentile(p)), key);
        }
        Assert.That(percentile.GetProperty("99.000000").GetInt64(), Is.InRange(39_000, 41_000));
        Assert.That(clat.GetProperty("N").GetInt64(), Is.EqualTo(h.TotalCount));
        Assert.That(clat.GetProperty("min").GetInt64(), Is.EqualTo(1_500));
        Assert.That(clat.GetProperty("max").GetInt64(), Is.InRange(250_000, 250_200));
        Assert.That(clat.GetProperty("mean").GetDouble(), Is.EqualTo(HdrHistogram.HistogramExtensions.GetMean(h)).Within(1e-3));
    }

    [Test]
    public void EmptyDirectionHasNoPercentilesLikeFio()
    {
        var trim = Render(false, ReportFixtures.RandRead()).GetProperty("jobs")[0].GetProperty("trim");
        Assert.That(trim.GetProperty("total_ios").GetInt64(), Is.Zero);
        Assert.That(trim.GetProperty("runtime").GetInt64(), Is.Zero);
        Assert.That(trim.GetProperty("iops").GetDouble(), Is.Zero);
        Assert.That(trim.GetProperty("clat_ns").TryGetProperty("percentile", out _), Is.False);
        Assert.That(trim.GetProperty("clat_ns").GetProperty("N").GetInt64(), Is.Zero);
    }

    [Test]
    public void JsonPlusAddsBins()
    {
        var result = ReportFixtures.RandRead();
        var plain = Render(false, result).GetProperty("jobs")[0].GetProperty("read").GetProperty("clat_ns");
        var plus = Render(true, result).GetProperty("jobs")[0].GetProperty("read").GetProperty("clat_ns");
        Assert.That(plain.TryGetProperty("bins", out _), Is.False);
        var bins = plus.GetProperty("bins").EnumerateObject().ToList();
        Assert.That(bins, Has.Count.EqualTo(5));
        Assert.That(bins.Sum(b => b.Value.GetInt64()), Is.EqualTo(result.Read.TotalIos));
        Assert.That(bins[0].Name, Is.EqualTo("1500"));
        Assert.That(bins[0].Value.GetInt64(), Is.EqualTo(1_000_000));
    }

    [Test]
    public void CpuIsPercentOfTheWindowAsFio()
    {
        var job = Render(false, ReportFixtures.RandRead()).GetProperty("jobs")[0];
        Assert.That(job.GetProperty("usr_cpu").GetDouble(), Is.EqualTo(150.0).Within(0.01));
        Assert.That(job.GetProperty("sys_cpu").GetDouble(), Is.EqualTo(10.0).Within(0.01));
        Assert.That(job.GetProperty("ctx").GetInt64(), Is.EqualTo(12));
        Assert.That(job.GetProperty("minf").GetInt64(), Is.EqualTo(900));
    }

    [Test]
    public void LatencyBucketsSumToHundredPercent()
    {
        var job = Render(false, ReportFixtures.RandRead()).GetProperty("jobs")[0];
        Assert.That(Keys(job.GetProperty("latency_ns")), Is.EqualTo(new[] { "2", "4", "10", "20", "50", "100", "250", "500", "750", "1000" }));
        Assert.That(Keys(job.GetProperty("latency_ms")).Last(), Is.EqualTo(">=2000"));
        var us = job.GetProperty("latency_us");
        // 1.5 µs → "2"; 9 µs → "10"; 12 µs → "20"; 40 µs → "50"; 250 µs → "500" (250..499).
        Assert.That(us.GetProperty("2").GetDouble(), Is.EqualTo(1_000_000 * 100.0 / 5_120_000).Within(1e-4));
        Assert.That(us.GetProperty("10").GetDouble(), Is.EqualTo(3_000_000 * 100.0 / 5_120_000).Within(1e-4));
        Assert.That(us.GetProperty("500").GetDouble(), Is.EqualTo(10_000 * 100.0 / 5_120_000).Within(1e-4));
        double sum = new[] { "latency_ns", "latency_us", "latency_ms" }
            .Sum(k => job.GetProperty(k).EnumerateObject().Sum(p => p.Value.GetDouble()));
        Assert.That(sum, Is.EqualTo(100.0).Within(0.01));
    }

    [Test]
    public void TinyBucketsShowAtLeastOneHundredthOfAPercent()
    {
        var job = Render(false, ReportFixtures.MixedNanoseconds()).GetProperty("jobs")[0];
        // One write of 3 ms out of 1000 I/Os is 0.1 %; the ns buckets count reads and writes together.
        Assert.That(job.GetProperty("latency_ms").GetProperty("4").GetDouble(), Is.EqualTo(0.1).Within(1e-9));
        Assert.That(job.GetProperty("latency_ns").GetProperty("500").GetDouble(), Is.EqualTo(69.0).Within(1e-9));
        Assert.That(job.GetProperty("latency_ns").GetProperty("1000").GetDouble(), Is.EqualTo(29.9).Within(1e-9));
    }

    [Test]
    public void IoDepthLevelIsTheConfiguredDepth()
    {
        var level = Render(false, ReportFixtures.RandRead()).GetProperty("jobs")[0].GetProperty("iodepth_level");
        Assert.That(Keys(level), Is.EqualTo(new[] { "1", "2", "4", "8", "16", "32", ">=64" }));
        Assert.That(level.GetProperty("32").GetDouble(), Is.EqualTo(100.0));
        Assert.That(level.GetProperty("1").GetDouble(), Is.Zero);
    }

    [Test]
    public void JobOptionsAreFioStrings()
    {
        var opts = Render(false, ReportFixtures.RandRead()).GetProperty("jobs")[0].GetProperty("job options");
        Assert.That(opts.GetProperty("rw").GetString(), Is.EqualTo("randread"));
        Assert.That(opts.GetProperty("bs").GetString(), Is.EqualTo("4k"));
        Assert.That(opts.GetProperty("iodepth").GetString(), Is.EqualTo("32"));
        Assert.That(opts.GetProperty("runtime").GetString(), Is.EqualTo("10"));
        Assert.That(opts.GetProperty("time_based").GetString(), Is.EqualTo("1"));
        Assert.That(opts.GetProperty("device").GetString(), Is.EqualTo("null:1G"));
        Assert.That(opts.TryGetProperty("rwmixread", out _), Is.False);
    }

    [Test]
    public void OrionSectionCarriesEngineCounters()
    {
        var orion = Render(false, ReportFixtures.RandRead(queues: 2)).GetProperty("jobs")[0].GetProperty("orion");
        Assert.That(orion.GetProperty("device").GetString(), Does.StartWith("null:1g"));
        Assert.That(orion.GetProperty("cpu_ns_per_io").GetDouble(), Is.EqualTo(16.0 * 1e9 / 5_120_000).Within(0.01));
        var queues = orion.GetProperty("queues");
        Assert.That(queues.GetArrayLength(), Is.EqualTo(2));
        var q0 = queues[0];
        Assert.That(q0.GetProperty("queue").GetInt32(), Is.Zero);
        Assert.That(q0.GetProperty("core").GetInt32(), Is.EqualTo(1));
        Assert.That(queues[1].GetProperty("core").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(q0.GetProperty("requests").GetInt64(), Is.EqualTo(2_560_000));
        Assert.That(q0.GetProperty("requests_per_batch").GetDouble(), Is.EqualTo(8.0));
        Assert.That(q0.GetProperty("reactor_idle_fraction").GetDouble(), Is.EqualTo(0.25));
        foreach (var key in new[] { "bytes", "batches", "kicks", "polls", "idle_polls", "errors", "bounces", "buffer_pool_in_use", "buffer_pool_capacity", "kicks_per_io", "polls_per_io" })
            Assert.That(q0.TryGetProperty(key, out _), Is.True, key);
    }

    [Test]
    public void MixedJobReportsBothDirectionsAndErrors()
    {
        var job = Render(false, ReportFixtures.MixedNanoseconds()).GetProperty("jobs")[0];
        Assert.That(job.GetProperty("read").GetProperty("total_ios").GetInt64(), Is.EqualTo(700));
        Assert.That(job.GetProperty("write").GetProperty("total_ios").GetInt64(), Is.EqualTo(300));
        Assert.That(job.GetProperty("read").GetProperty("bw_agg").GetDouble(), Is.EqualTo(100.0));
        Assert.That(job.GetProperty("job options").GetProperty("rwmixread").GetString(), Is.EqualTo("70"));
        Assert.That(job.GetProperty("orion").GetProperty("errors").GetProperty("write").GetInt64(), Is.EqualTo(1));
        Assert.That(job.GetProperty("elapsed").GetInt64(), Is.EqualTo(2));
    }

    [Test]
    public void JobWithoutIoStillWritesValidJson()
    {
        var job = Render(true, ReportFixtures.Empty()).GetProperty("jobs")[0];
        Assert.That(job.GetProperty("read").GetProperty("iops").GetDouble(), Is.Zero);
        Assert.That(job.GetProperty("usr_cpu").GetDouble(), Is.Zero);
        Assert.That(job.GetProperty("orion").GetProperty("cpu_ns_per_io").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(job.GetProperty("iodepth_level").GetProperty("1").GetDouble(), Is.Zero);
    }

    [Test]
    public void NoJobsIsStillADocument() => Assert.That(Render(false).GetProperty("jobs").GetArrayLength(), Is.Zero);

    [Test]
    public void FloatsAreWrittenLikeFio()
    {
        var w = new StringWriter();
        JsonReport.Write(w, [ReportFixtures.RandRead()], plus: false);
        string text = w.ToString();
        Assert.That(text, Does.Contain("\"iops\": 511979.520819"));
        Assert.That(text, Does.Contain("\">=64\""));
        Assert.That(text, Does.Contain("\"99.990000\""));
    }

    [Test]
    public void ArbitraryHistogramsRenderInBothFormats()
    {
        var random = new Random(7);
        for (int round = 0; round < 50; round++)
        {
            int distinct = random.Next(1, 20);
            var values = Enumerable.Range(0, distinct)
                .Select(_ => ((long)Math.Pow(10, random.NextDouble() * 10), (long)random.Next(1, 100_000))).ToList();
            var job = ReportFixtures.RandRead();
            job.Read.ClatNs = ReportFixtures.Histogram(values);
            job.Read.TotalIos = values.Sum(v => v.Item2);
            var root = Render(true, job);
            var percentile = root.GetProperty("jobs")[0].GetProperty("read").GetProperty("clat_ns").GetProperty("percentile");
            Assert.That(percentile.GetProperty("99.990000").GetInt64(), Is.GreaterThanOrEqualTo(percentile.GetProperty("1.000000").GetInt64()));
            var text = new StringWriter();
            HumanReport.Write(text, [job]);
            Assert.That(text.ToString(), Does.Contain("clat percentiles"));
        }
    }
}
