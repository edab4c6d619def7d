using Orion.Perf;
using Orion.Perf.Options;

using static Orion.Perf.Tests.Options.ParseKit;

namespace Orion.Perf.Tests.Options;

/// <summary>write_hdr_log, log_hist_msec and report: values, defaults, and errors that stop the run before it starts.</summary>
[TestFixture]
public class OutputOptionsTests
{
    private string _dir = "";

    [SetUp]
    public void MakeDirectory()
    {
        _dir = Path.Combine(Path.GetTempPath(), $"orion-out-opts-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_dir, recursive: true);

    private string Missing => Path.Combine(_dir, "no-such-dir");

    [Test]
    public void DefaultsAreOff()
    {
        var o = new JobOptions();
        Assert.That(o.WriteHdrLog, Is.Null);
        Assert.That(o.LogHistMsec, Is.Null);
        Assert.That(o.IntervalMs, Is.EqualTo(1000));
        Assert.That(o.ReportPath, Is.Null);
        Assert.That(o.HdrLogPath(1), Is.Null);
    }

    [Test]
    public void ValuesAreKept()
    {
        string prefix = Path.Combine(_dir, "run1");
        string report = Path.Combine(_dir, "r.html");
        var o = Ok($"--write_hdr_log={prefix}", "--log_hist_msec=250", "--report", report);
        Assert.That(o.WriteHdrLog, Is.EqualTo(prefix));
        Assert.That(o.IntervalMs, Is.EqualTo(250));
        Assert.That(o.ReportPath, Is.EqualTo(report));
        Assert.That(o.HdrLogPath(3), Is.EqualTo(prefix + "_clat_hdr.3.hlog"), "PREFIX_clat_hdr.N.hlog");
        Assert.That(Ok("--log_hist_msec=500ms").LogHistMsec, Is.EqualTo(500));
        Assert.That(Ok("--write_hdr_log=relative").HdrLogPath(1), Is.EqualTo("relative_clat_hdr.1.hlog"), "a bare prefix is in the working directory");
    }

    [TestCase("--log_hist_msec=abc", "--log_hist_msec=abc: 'abc' is not a whole number of milliseconds (for example --log_hist_msec=1000)")]
    [TestCase("--log_hist_msec=1.5", "--log_hist_msec=1.5: '1.5' is not a whole number of milliseconds (for example --log_hist_msec=1000)")]
    [TestCase("--log_hist_msec=0", "--log_hist_msec=0: the interval must be from 10 to 3600000 ms")]
    [TestCase("--log_hist_msec=5", "--log_hist_msec=5: the interval must be from 10 to 3600000 ms")]
    [TestCase("--log_hist_msec=-100", "--log_hist_msec=-100: the interval must be from 10 to 3600000 ms")]
    [TestCase("--log_hist_msec=3600001", "--log_hist_msec=3600001: the interval must be from 10 to 3600000 ms")]
    public void BadIntervalsAreRefused(string arg, string message) => Assert.That(Error(arg), Is.EqualTo(message));

    [TestCase("--report", "--report needs a value (for example --report=run.html)")]
    [TestCase("--write_hdr_log", "--write_hdr_log needs a value (for example --write_hdr_log=run1)")]
    [TestCase("--log_hist_msec", "--log_hist_msec needs a value (for example --log_hist_msec=1000)")]
    public void AnOptionWithoutItsValueSaysSo(string arg, string message) => Assert.That(Error(arg), Is.EqualTo(message));

    [Test]
    public void ReportWithoutAPathBeforeAnotherOptionSaysSo() =>
        Assert.That(Error("--report", "--bs=4k"), Is.EqualTo("--report needs a value (for example --report=run.html)"));

    [Test]
    public void EmptyPathsAreRefused()
    {
        Assert.That(Error("--report="), Does.StartWith("--report: the file name must not be empty"));
        Assert.That(Error("--write_hdr_log="), Does.StartWith("--write_hdr_log: the file name prefix must not be empty"));
    }

    [Test]
    public void ADirectoryThatDoesNotExistIsRefused()
    {
        string report = Path.Combine(Missing, "r.html");
        Assert.That(Error($"--report={report}"),
                    Is.EqualTo($"--report={report}: the directory '{Missing}' does not exist; create it first or choose another file"));
        string prefix = Path.Combine(Missing, "run1");
        Assert.That(Error($"--write_hdr_log={prefix}"),
                    Is.EqualTo($"--write_hdr_log={prefix}: the directory '{Missing}' does not exist; create it first or choose another prefix"));
    }

    [Test]
    public void AReportThatIsADirectoryIsRefused() =>
        Assert.That(Error($"--report={_dir}"), Does.StartWith($"--report={_dir}: '{_dir}' is a directory; give a file name"));

    [Test]
    public void BadPathsStopTheRunBeforeItStarts()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        // An hour-long job: were it started, the test would time out rather than pass.
        int code = PerfCommand.Run([$"--report={Path.Combine(Missing, "r.html")}", "--runtime=1h", "--time_based", "--device=null:16M"], stdout, stderr);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(stderr.ToString(), Does.Contain("does not exist"));
        Assert.That(stdout.ToString(), Is.Empty, "no banner: nothing ran");
        Assert.That(Directory.Exists(Missing), Is.False, "nothing was created");

        stderr = new StringWriter();
        code = PerfCommand.Run([$"--write_hdr_log={Path.Combine(Missing, "p")}", "--log_hist_msec=0", "--runtime=1h", "--time_based"], stdout, stderr);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(stderr.ToString(), Does.Contain("--log_hist_msec=0: the interval must be from 10 to 3600000 ms"));
    }

    [Test]
    public void JobFileKeysWork()
    {
        string prefix = Path.Combine(_dir, "jf");
        var outcome = JobOptionsParser.ParseJobs(["job.fio"], _ => $"[a]\nwrite_hdr_log={prefix}\nlog_hist_msec=100\n[b]\nlog_hist_msec=abc\n");
        Assert.That(outcome.Kind, Is.EqualTo(ParseOutcomeKind.Error));
        Assert.That(outcome.Errors, Is.EqualTo(new[] { "job.fio:5: --log_hist_msec=abc: 'abc' is not a whole number of milliseconds (for example --log_hist_msec=1000)" }));
        outcome = JobOptionsParser.ParseJobs(["job.fio"], _ => $"[a]\nwrite_hdr_log={prefix}\nlog_hist_msec=100\n");
        Assert.That(outcome.IsSuccess, Is.True, outcome.Message);
        Assert.That(outcome.Jobs[0].HdrLogPath(1), Is.EqualTo(prefix + "_clat_hdr.1.hlog"));
        Assert.That(outcome.Jobs[0].IntervalMs, Is.EqualTo(100));
    }

    [TestCase("--write_hdr_lg=x", "unknown option '--write_hdr_lg'; did you mean '--write_hdr_log'?")]
    [TestCase("--log_hist_ms=100", "unknown option '--log_hist_ms'; did you mean '--log_hist_msec'?")]
    [TestCase("--reprot=a.html", "unknown option '--reprot'; did you mean '--report'?")]
    public void MisspellingsGetSuggestions(string arg, string message) => Assert.That(Error(arg), Is.EqualTo(message));

    [Test]
    public void TheyAreNoLongerListedAsUnsupported()
    {
        Assert.That(Ok("--log_compression=4k").LogCompression, Is.EqualTo(4096), "nor log_compression");
        Assert.That(Ok("--log_hist_msec=100").LogHistMsec, Is.EqualTo(100));
    }

    [Test]
    public void HelpDescribesThem()
    {
        var help = JobOptionsParser.Usage();
        Assert.That(help, Does.Contain("  --write_hdr_log=PREFIX").And.Contain("  --log_hist_msec=MSEC").And.Contain("  --report=FILE"));
        Assert.That(help, Does.Contain("PREFIX_clat_hdr.N.hlog").And.Contain("HdrHistogram"));
        Assert.That(help, Does.Contain("PREFIX_clat_hist.N.log").And.Contain("fiologparser_hist.py"));
    }

    [Test]
    public void AnIntervalWithoutALogOrReportGetsANote()
    {
        var job = Ok("--log_hist_msec=100");
        Assert.That(PerfCommand.Notes([job], [0]), Does.Contain("--log_hist_msec has no effect without --write_hist_log, --write_hdr_log or --report"));
        Assert.That(PerfCommand.Notes([job with { ReportPath = "r.html" }], [0]), Is.Empty);
    }
}
