using Orion.Perf.Options;
using Orion.Perf.Reporting;

namespace Orion.Perf.Tests.Reporting;

/// <summary>The HTML report: self-contained, one summary row per job and direction, plots, and HTML-escaped user text.</summary>
[TestFixture]
public class HtmlReportTests
{
    private static string Html(params JobResult[] jobs)
    {
        var w = new StringWriter();
        HtmlReport.Write(w, jobs);
        return w.ToString();
    }

    /// <summary>The fixture's randread, renamed and on a device string with markup in it, with two intervals.</summary>
    private static JobResult Named(string name, string device)
    {
        var r = ReportFixtures.RandRead();
        return new JobResult
        {
            Name = name,
            Options = r.Options with { Name = name },
            Device = device,
            Runtime = r.Runtime,
            Read = r.Read,
            Queues = r.Queues,
            UserCpuSeconds = r.UserCpuSeconds,
            CpuCount = 2,
            Start = r.Start,
            IntervalMs = 1000,
            Intervals =
            [
                new IntervalSample(0, 1, new IntervalDirection(500_000, 500_000 * 4096L, 9_000, 40_000, 250_000), default, default),
                new IntervalSample(1, 1, new IntervalDirection(520_000, 520_000 * 4096L, 9_000, 41_000, 240_000), default, default),
            ],
        };
    }

    [Test]
    public void TheReportIsSelfContained()
    {
        string html = Html(Named("a", "null:1g"), ReportFixtures.MixedNanoseconds(), ReportFixtures.Empty());
        Assert.That(html, Does.StartWith("<!DOCTYPE html>"));
        Assert.That(html, Does.Contain("<svg"));
        foreach (var external in new[] { "http://", "https://", "src=", "href=", "<script", "<link", "@import", "url(", "<img", "<iframe" })
            Assert.That(html, Does.Not.Contain(external).IgnoreCase, external);
        Assert.That(html, Does.Contain("<meta charset=\"utf-8\">"));
        Assert.That(html.TrimEnd(), Does.EndWith("</html>"));
    }

    [Test]
    public void OneSummaryRowPerJobAndDirection()
    {
        string html = Html(Named("first", "null:1g"), Named("second", "null:1g"), ReportFixtures.MixedNanoseconds());
        var rows = html.Split("<tr class=\"job\">").Skip(1).ToList();
        Assert.That(rows, Has.Count.EqualTo(4), "first, second, and mix's read and write");
        Assert.That(rows.Count(r => r.StartsWith("<td class=\"t\">first</td>", StringComparison.Ordinal)), Is.EqualTo(1));
        Assert.That(rows.Count(r => r.StartsWith("<td class=\"t\">second</td>", StringComparison.Ordinal)), Is.EqualTo(1));
        Assert.That(rows.Count(r => r.StartsWith("<td class=\"t\">mix</td>", StringComparison.Ordinal)), Is.EqualTo(2));
        // The fixture: 5,120,000 reads of 4 KiB in 10 s; clat p50 9 µs (9.007 µs, its bucket's top); 10 kicks over 5,120,000 requests.
        Assert.That(rows[0], Does.Contain("<td>512k</td>").And.Contain("<td>2000MiB/s</td>").And.Contain("<td>9.01µs</td>").And.Contain("<td>0.000</td>"));
    }

    [Test]
    public void UserTextIsEscaped()
    {
        string html = Html(Named("<x&y>", "file:/tmp/<b>\"dev\"&'q'"));
        Assert.That(html, Does.Not.Contain("<x&y>"));
        Assert.That(html, Does.Contain("&lt;x&amp;y&gt;"));
        Assert.That(html, Does.Not.Contain("<b>"));
        Assert.That(html, Does.Contain("file:/tmp/&lt;b&gt;&quot;dev&quot;&amp;&#39;q&#39;"));
    }

    [Test]
    public void PlotsArePercentileDistributionsAndIopsOverTime()
    {
        string html = Html(Named("a", "null:1g"));
        Assert.That(html, Does.Contain("clat by percentile"));
        foreach (var label in new[] { ">0%<", ">90%<", ">99%<", ">99.9%<", ">99.99%<" }) Assert.That(html, Does.Contain(label), label);
        Assert.That(html, Does.Contain("IOPS over time (1000 ms intervals)"));
        Assert.That(html, Does.Contain("clat p99 over time"));
        Assert.That(html.Split("<polyline").Length - 1, Is.EqualTo(3), "one line per plot: the job only reads");
    }

    [Test]
    public void AJobWithoutIntervalsSaysSo()
    {
        string html = Html(ReportFixtures.MixedNanoseconds());
        Assert.That(html, Does.Contain("no intervals recorded"));
        Assert.That(html.Split("<polyline").Length - 1, Is.EqualTo(2), "the percentile plot's read and write");
    }

    [TestCase(0, "0%")]
    [TestCase(1, "90%")]
    [TestCase(3, "99.9%")]
    [TestCase(6, "99.9999%")]
    public void PercentileLabels(int decades, string label) => Assert.That(HtmlReport.PercentLabel(decades), Is.EqualTo(label));

    [TestCase(0.0, 1.0)]
    [TestCase(7.3, 8.0)]
    [TestCase(950_000.0, 1_000_000.0)]
    [TestCase(1_234_567.0, 1_500_000.0)]
    public void AxesEndOnRoundNumbers(double max, double top)
    {
        var (axisTop, ticks) = HtmlReport.NiceAxis(max);
        Assert.That(axisTop, Is.EqualTo(top).Within(1e-6));
        Assert.That(ticks[0], Is.Zero);
        Assert.That(ticks[^1], Is.EqualTo(top).Within(1e-6));
    }
}
