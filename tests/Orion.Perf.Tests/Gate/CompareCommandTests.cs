using System.Globalization;
using Orion.Perf;

namespace Orion.Perf.Tests.Gate;

/// <summary><c>orion-perf compare</c> on synthetic fio-shaped reports: verdicts, exit codes, sample floors, bad input.</summary>
[TestFixture]
public class CompareCommandTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => Directory.CreateDirectory(_dir = Path.Combine(Path.GetTempPath(), "orion-compare-" + Guid.NewGuid().ToString("N")));

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    /// <summary>A minimal fio-shaped report with one job doing reads (and writes when <paramref name="writeIops"/> &gt; 0).</summary>
    private static string Report(double iops, long p50, long p99, long p999, long n, double writeIops = 0)
    {
        static string Dir(string name, double iops, long p50, long p99, long p999, long n) => string.Create(CultureInfo.InvariantCulture, $$"""
            "{{name}}": { "iops": {{iops:F6}}, "total_ios": {{(iops > 0 ? n : 0)}},
              "clat_ns": { "min": 1, "max": {{p999 * 2}}, "mean": {{p50}}.0, "stddev": 0.0, "N": {{(iops > 0 ? n : 0)}},
                "percentile": { "1.000000": 1, "50.000000": {{p50}}, "99.000000": {{p99}}, "99.900000": {{p999}}, "99.990000": {{p999 * 2}} } } }
            """);
        return $$"""
            { "fio version": "fio-3.33", "jobs": [ { "jobname": "test",
              {{Dir("read", iops, p50, p99, p999, n)}},
              {{Dir("write", writeIops, p50, p99, p999, n)}},
              {{Dir("trim", 0, 0, 0, 0, 0)}} } ] }
            """;
    }

    private string File(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = PerfCommand.Run(["compare", .. args], stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static string Line(string table, string metric) =>
        table.Split('\n').Single(l => l.StartsWith(metric + " ", StringComparison.Ordinal));

    [Test]
    public void WithinTolerancePasses()
    {
        var baseline = File("b.json", Report(100_000, 10_000, 20_000, 40_000, 200_000));
        // IOPS -5 % (tolerance 10), p50 +10 % (15), p99 +25 % (30), p99.9 +40 % (50).
        var current = File("c.json", Report(95_000, 11_000, 25_000, 56_000, 200_000));
        var (code, output, err) = Run(baseline, current);
        Assert.That(code, Is.Zero, output + err);
        Assert.That(output, Does.Contain("metric").And.Contain("baseline").And.Contain("current").And.Contain("change").And.Contain("tolerance").And.Contain("verdict"));
        Assert.That(Line(output, "read iops"), Does.Contain("100,000").And.Contain("95,000").And.Contain("-5.0%").And.Contain("-10%").And.EndWith("ok"));
        Assert.That(Line(output, "read p99.9"), Does.Contain("+40.0%").And.EndWith("ok"));
        Assert.That(output, Does.Contain("PASS: 4 ok, 0 not judged"));
        Assert.That(output, Does.Not.Contain("write"), "only directions with I/O are compared");
    }

    [Test]
    public void AnIopsDropBeyondToleranceIsARegression()
    {
        var baseline = File("b.json", Report(100_000, 10_000, 20_000, 40_000, 200_000));
        var current = File("c.json", Report(85_000, 10_000, 20_000, 40_000, 200_000));
        var (code, output, _) = Run(baseline, current);
        Assert.That(code, Is.EqualTo(3));
        Assert.That(Line(output, "read iops"), Does.Contain("-15.0%").And.EndWith("REGRESSED"));
        Assert.That(Line(output, "read p50"), Does.EndWith("ok"));
        Assert.That(output, Does.Contain("FAIL: 1 regressed"));
        // A wider tolerance given on the command line lets it through.
        Assert.That(Run(baseline, current, "--tolerance", "iops=20").Code, Is.Zero);
    }

    [Test]
    public void AP99RiseBeyondToleranceIsARegression()
    {
        var baseline = File("b.json", Report(100_000, 10_000, 20_000, 40_000, 200_000, writeIops: 50_000));
        var current = File("c.json", Report(100_000, 10_000, 28_000, 40_000, 200_000, writeIops: 50_000));
        var (code, output, _) = Run(baseline, current);
        Assert.That(code, Is.EqualTo(3));
        Assert.That(Line(output, "read p99"), Does.Contain("+40.0%").And.Contain("+30%").And.EndWith("REGRESSED"));
        Assert.That(Line(output, "write p99"), Does.EndWith("REGRESSED"), "each common direction is judged");
        Assert.That(Run(baseline, current, "--tolerance=p99=50").Code, Is.Zero);
    }

    [Test]
    public void PercentilesWithTooFewSamplesAreNotJudged()
    {
        // 5,000 samples: p50 is judged, p99 (needs 10,000) and p99.9 (needs 100,000) are refused, not failed.
        var baseline = File("b.json", Report(100_000, 10_000, 20_000, 40_000, 50_000));
        var current = File("c.json", Report(100_000, 10_000, 80_000, 400_000, 5_000));
        var (code, output, _) = Run(baseline, current);
        Assert.That(code, Is.Zero, output);
        Assert.That(Line(output, "read p99"), Does.Contain("not judged: too few samples (5,000 < 10,000)"));
        Assert.That(Line(output, "read p99.9"), Does.Contain("not judged: too few samples (5,000 < 100,000)"));
        Assert.That(Line(output, "read p50"), Does.EndWith("ok"));
        Assert.That(output, Does.Contain("PASS: 2 ok, 2 not judged"));
    }

    [Test]
    public void BadInputExitsTwoWithAClearMessage()
    {
        var good = File("good.json", Report(100_000, 10_000, 20_000, 40_000, 200_000));
        var writesOnly = File("w.json", Report(0, 10_000, 20_000, 40_000, 200_000, writeIops: 50_000));
        using (Assert.EnterMultipleScope())
        {
            var missing = Run(good, Path.Combine(_dir, "missing.json"));
            Assert.That(missing.Code, Is.EqualTo(2));
            Assert.That(missing.Err, Does.Contain("missing.json: no such file"));

            var notJson = Run(File("text.json", "IOPS=12k"), good);
            Assert.That(notJson.Code, Is.EqualTo(2));
            Assert.That(notJson.Err, Does.Contain("not JSON"));

            var notFio = Run(File("other.json", """{ "benchmarks": [] }"""), good);
            Assert.That(notFio.Code, Is.EqualTo(2));
            Assert.That(notFio.Err, Does.Contain("not an orion-perf/fio JSON report"));

            var noCommon = Run(good, writesOnly);
            Assert.That(noCommon.Code, Is.EqualTo(2));
            Assert.That(noCommon.Err, Does.Contain("no common directions"));

            Assert.That(Run(good).Code, Is.EqualTo(2), "one file");
            Assert.That(Run(good, good, "--tolerance", "latency=5").Err, Does.Contain("METRIC=PERCENT"));
            Assert.That(Run(good, good, "--tolerance", "iops=100").Code, Is.EqualTo(2));
            Assert.That(Run(good, good, "--fast").Err, Does.Contain("unknown option '--fast'"));
        }
    }

    [Test]
    public void ARealReportComparedWithItselfPasses()
    {
        // The committed CI baseline, as tests/run.sh's smoke test uses it.
        string? repo = TestContext.CurrentContext.TestDirectory;
        while (repo is not null && !System.IO.File.Exists(Path.Combine(repo, "Orion.Pmd.sln"))) repo = Path.GetDirectoryName(repo);
        Assert.That(repo, Is.Not.Null, "repository root");
        string baseline = Path.Combine(repo!, "perf", "baselines", "ci-randread-null-qd8.json");
        var (code, output, err) = Run(baseline, baseline);
        Assert.That(code, Is.Zero, output + err);
        Assert.That(output, Does.Contain("read iops").And.Contain("0.0%"));
    }
}
