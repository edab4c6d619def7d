using Orion.Perf.Options;
using Orion.Perf.Reporting;

namespace Orion.Perf.Tests.Reporting;

/// <summary>fio's live status line: its text, and when it is shown.</summary>
[TestFixture]
public class StatusLineTests
{
    private static StatusLine.Snapshot Snapshot(int jobs, char state, double percent, bool[] dirs, double[] bw, double[] iops, TimeSpan? eta) =>
        new(jobs, state, percent, dirs, bw, iops, eta);

    [Test]
    public void AReadJobReadsLikeFios()
    {
        var s = Snapshot(1, 'r', 45, [true, false, false], [1234.0 * 1024 * 1024, 0, 0], [316_000, 0, 0], TimeSpan.FromSeconds(5));
        Assert.That(StatusLine.Format(s), Is.EqualTo("Jobs: 1 (f=1): [r(1)][45.0%][r=1234MiB/s][r=316k IOPS][eta 00m:05s]"));
    }

    [Test]
    public void AMixedJobShowsBothDirections()
    {
        var s = Snapshot(2, 'm', 99.96, [true, true, false], [600.0 * 1024 * 1024, 200.0 * 1024 * 1024, 0], [153_600, 51_200, 0], TimeSpan.FromSeconds(75));
        Assert.That(StatusLine.Format(s), Is.EqualTo("Jobs: 2 (f=2): [m(2)][100.0%][r=600MiB/s,w=200MiB/s][r=154k,w=51.2k IOPS][eta 01m:15s]"));
    }

    [Test]
    public void ATrimJobAndAnUnknownEta()
    {
        var s = Snapshot(1, 'D', 0, [false, false, true], [0, 0, 4096.0 * 1000], [0, 0, 1000], null);
        Assert.That(StatusLine.Format(s), Is.EqualTo("Jobs: 1 (f=1): [D(1)][0.0%][t=4000KiB/s][t=1000 IOPS][eta --]"));
    }

    [TestCase(0, "00m:00s")]
    [TestCase(0.2, "00m:01s")]
    [TestCase(59, "00m:59s")]
    [TestCase(3600 + 2 * 60 + 3, "01h:02m:03s")]
    [TestCase(86400 + 5, "01d:00h:00m:05s")]
    public void EtaIsFiosEtaToStr(double seconds, string expected) =>
        Assert.That(StatusLine.Eta(TimeSpan.FromSeconds(seconds)), Is.EqualTo(expected));

    [TestCase(true, false, 100, 'r')]
    [TestCase(false, false, 100, 'R')]
    [TestCase(true, false, 0, 'w')]
    [TestCase(false, false, 0, 'W')]
    [TestCase(true, false, 70, 'm')]
    [TestCase(false, false, 50, 'M')]
    [TestCase(true, true, 0, 'd')]
    [TestCase(false, true, 0, 'D')]
    public void StateLettersAreFios(bool random, bool trim, int readPercent, char expected) =>
        Assert.That(StatusLine.StateOf(random, trim, readPercent), Is.EqualTo(expected));

    [TestCase(false, false, OutputFormat.Normal, null, true)]
    [TestCase(true, false, OutputFormat.Normal, null, false)]       // stdout redirected
    [TestCase(false, true, OutputFormat.Normal, null, false)]       // stderr (where the line goes) redirected
    [TestCase(false, false, OutputFormat.Json, null, false)]        // JSON on the terminal: never mixed with it
    [TestCase(false, false, OutputFormat.JsonPlus, null, false)]
    [TestCase(false, false, OutputFormat.Json, "out.json", true)]   // JSON to a file: the terminal is free
    public void TheLineIsShownOnlyOnATerminalAndNeverWithJsonOnIt(bool stdoutRedirected, bool stderrRedirected, OutputFormat format, string? output, bool shown) =>
        Assert.That(StatusLine.ShouldShow(stdoutRedirected, stderrRedirected, format, output), Is.EqualTo(shown));

    [Test]
    public void TheWriterOverwritesAndClears()
    {
        var sw = new StringWriter();
        var w = new StatusLine.Writer(sw);
        w.Show("abcdef");
        w.Show("xy");
        w.Clear();
        w.Clear();
        Assert.That(sw.ToString(), Is.EqualTo("\rabcdef\rxy    \r  \r"));
    }
}
