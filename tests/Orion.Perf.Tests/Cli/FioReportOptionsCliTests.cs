using System.Text.Json;
using System.Text.RegularExpressions;
using Orion.Perf;

namespace Orion.Perf.Tests.Cli;

/// <summary>
/// The report as fio writes it, through the whole command on a null device: job and global options as given, the
/// measured depth distributions, the percentile options, unified_rw_reporting, kb_base, group_reporting across jobs,
/// and the terse line and format combinations.
/// </summary>
[NonParallelizable]
public class FioReportOptionsCliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = PerfCommand.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static JsonElement Root(params string[] args)
    {
        var (code, output, err) = Run([.. args, "--output-format=json"]);
        Assert.That(code, Is.Zero, err);
        using var doc = JsonDocument.Parse(output);
        return doc.RootElement.Clone();
    }

    private static string[] Keys(JsonElement e) => e.EnumerateObject().Select(p => p.Name).ToArray();

    [Test]
    [CancelAfter(60_000)]
    public void JobOptionsAreWhatWasGivenUnderFiosNames()
    {
        var job = Root("--name=given", "--device=null:16M", "--readwrite=randread", "--blocksize=8k", "--numjobs=1", "--time_based",
                       "--runtime=100ms", "--size=8m", "--eta=never").GetProperty("jobs")[0];
        var options = job.GetProperty("job options");
        // Aliases under the option's name, values as typed, in order; flags without a value, the output format and
        // eta (fio's front-end options) left out, as fio does.
        Assert.That(options.EnumerateObject().Select(p => $"{p.Name}={p.Value.GetString()}"),
                    Is.EqualTo(new[] { "name=given", "device=null:16M", "rw=randread", "bs=8k", "numjobs=1", "runtime=100ms", "size=8m" }));
    }

    [Test]
    [CancelAfter(60_000)]
    public void AJobFilesGlobalSectionIsGlobalOptions()
    {
        string path = Path.Combine(Path.GetTempPath(), $"orion-globals-{Environment.ProcessId}.fio");
        File.WriteAllText(path, "[global]\nbs=4k\nnumber_ios=200\n[a]\nrw=randread\nnumjobs=2\ngroup_reporting\n");
        try
        {
            var root = Root(path, "--device=null:16M");
            var globals = root.GetProperty("global options");
            Assert.That(globals.EnumerateObject().Select(p => $"{p.Name}={p.Value.GetString()}"),
                        Is.EqualTo(new[] { "device=null:16M", "bs=4k", "number_ios=200" }), "the command line under a job file is global, as in fio");
            var jobs = root.GetProperty("jobs");
            Assert.That(jobs.GetArrayLength(), Is.EqualTo(1), "group_reporting: the two clones in one entry");
            var job = jobs[0];
            Assert.That(job.GetProperty("jobname").GetString(), Is.EqualTo("a"));
            Assert.That(Keys(job.GetProperty("job options")), Is.EqualTo(new[] { "rw", "numjobs" }), "the section's own options; a section name is not an option");
            Assert.That(job.GetProperty("read").GetProperty("total_ios").GetInt64(), Is.EqualTo(400));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public void GroupReportingSumsTheGroupsJobsAndTheHeaderCountsThem()
    {
        string path = Path.Combine(Path.GetTempPath(), $"orion-group-{Environment.ProcessId}.fio");
        File.WriteAllText(path, "[global]\nnumber_ios=100\ngroup_reporting\n[a]\nrw=randread\n[b]\nrw=randwrite\n");
        try
        {
            var job = Root(path, "--device=null:16M").GetProperty("jobs");
            Assert.That(job.GetArrayLength(), Is.EqualTo(1));
            Assert.That(job[0].GetProperty("jobname").GetString(), Is.EqualTo("a"), "fio names the sum after the group's first job");
            Assert.That(job[0].GetProperty("read").GetProperty("total_ios").GetInt64(), Is.EqualTo(100));
            Assert.That(job[0].GetProperty("write").GetProperty("total_ios").GetInt64(), Is.EqualTo(100));
            var (code, text, err) = Run(path, "--device=null:16M");
            Assert.That(code, Is.Zero, err);
            Assert.That(text, Does.Contain("a: (groupid=0, jobs=2): err= 0"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public void DepthDistributionsAreMeasured()
    {
        var job = Root("--device=null:16M", "--rw=randread", "--iodepth=8", "--number_ios=4000").GetProperty("jobs")[0];
        double Sum(string name) => job.GetProperty(name).EnumerateObject().Sum(p => p.Value.GetDouble());
        Assert.That(Keys(job.GetProperty("iodepth_submit")), Is.EqualTo(new[] { "0", "4", "8", "16", "32", "64", ">=64" }));
        Assert.That(Keys(job.GetProperty("iodepth_complete")), Is.EqualTo(new[] { "0", "4", "8", "16", "32", "64", ">=64" }));
        Assert.That(Sum("iodepth_submit"), Is.EqualTo(100).Within(1.5), "every placement batch in some bucket");
        Assert.That(Sum("iodepth_complete"), Is.EqualTo(100).Within(1.5), "every reaped batch in some bucket");
        Assert.That(job.GetProperty("iodepth_submit").GetProperty("16").GetDouble(), Is.Zero, "a batch holds at most iodepth I/Os");
        Assert.That(job.GetProperty("iodepth_complete").GetProperty("16").GetDouble(), Is.Zero);
        var level = job.GetProperty("iodepth_level");
        Assert.That(Sum("iodepth_level"), Is.EqualTo(100).Within(1.5));
        Assert.That(level.GetProperty("16").GetDouble() + level.GetProperty("32").GetDouble() + level.GetProperty(">=64").GetDouble(), Is.Zero,
                    "never more than iodepth in flight");
        Assert.That(level.GetProperty("8").GetDouble(), Is.GreaterThan(50), "a closed loop keeps the queue at its depth");
    }

    [Test]
    [CancelAfter(60_000)]
    public void PercentileOptionsChooseTheStatisticsAndTheList()
    {
        var read = Root("--device=null:16M", "--number_ios=500", "--percentile_list=99.9:50", "--slat_percentiles=1", "--clat_percentiles=0",
                        "--lat_percentiles=1").GetProperty("jobs")[0].GetProperty("read");
        Assert.That(Keys(read.GetProperty("slat_ns").GetProperty("percentile")), Is.EqualTo(new[] { "50.000000", "99.900000" }), "sorted, as fio sorts the list");
        Assert.That(Keys(read.GetProperty("lat_ns").GetProperty("percentile")), Is.EqualTo(new[] { "50.000000", "99.900000" }));
        Assert.That(read.GetProperty("clat_ns").TryGetProperty("percentile", out _), Is.False);
        var (code, text, err) = Run("--device=null:16M", "--number_ios=500", "--percentile_list=50:99.9", "--slat_percentiles=1");
        Assert.That(code, Is.Zero, err);
        Assert.That(text, Does.Contain("    slat percentiles ("));
        Assert.That(text, Does.Contain("    clat percentiles ("));
        Assert.That(text, Does.Contain("| 50.0th=["), "one decimal: the list's precision, as fio's percentile_precision");
        Assert.That(text, Does.Not.Contain("99.99th"));
    }

    [Test]
    [CancelAfter(60_000)]
    public void UnifiedReportingWritesFiosMixedSection()
    {
        var mixed = Root("--device=null:16M", "--rw=randrw", "--number_ios=400", "--unified_rw_reporting=mixed").GetProperty("jobs")[0];
        Assert.That(Keys(mixed).Intersect(new[] { "read", "write", "trim", "sync", "mixed" }), Is.EqualTo(new[] { "mixed" }));
        Assert.That(mixed.GetProperty("mixed").GetProperty("total_ios").GetInt64(), Is.EqualTo(400));
        var both = Root("--device=null:16M", "--rw=randrw", "--number_ios=400", "--unified_rw_reporting=2").GetProperty("jobs")[0];
        Assert.That(Keys(both).Intersect(new[] { "read", "write", "trim", "sync", "mixed" }), Is.EqualTo(new[] { "read", "write", "trim", "sync", "mixed" }));
        Assert.That(both.GetProperty("read").GetProperty("total_ios").GetInt64() + both.GetProperty("write").GetProperty("total_ios").GetInt64(),
                    Is.EqualTo(both.GetProperty("mixed").GetProperty("total_ios").GetInt64()));
        var (code, text, err) = Run("--device=null:16M", "--rw=randrw", "--number_ios=400", "--unified_rw_reporting=mixed");
        Assert.That(code, Is.Zero, err);
        Assert.That(text, Does.Contain("  mixed: IOPS="));
        Assert.That(text, Does.Contain("  MIXED: bw="));
        Assert.That(text, Does.Not.Contain("  read: IOPS="));
        Assert.That(Run("--unified_rw_reporting=yes").Err, Does.Contain("--unified_rw_reporting=yes: use none, mixed or both (or 0, 1, 2 as in fio)"));
    }

    [Test]
    [CancelAfter(60_000)]
    public void KbBase1000PutsSiUnitsFirst()
    {
        var (code, text, err) = Run("--device=null:16M", "--number_ios=2000", "--kb_base=1000");
        Assert.That(code, Is.Zero, err);
        Assert.That(text, Does.Match(@"  read: IOPS=[^,]+, BW=[0-9.]+[kMG]B/s \([0-9.]+[KMG]iB/s\)"));
        Assert.That(text, Does.Match(@"   READ: bw=[0-9.]+[kMG]B/s \("));
        (code, text, err) = Run("--device=null:16M", "--number_ios=2000");
        Assert.That(code, Is.Zero, err);
        Assert.That(text, Does.Match(@"  read: IOPS=[^,]+, BW=[0-9.]+[KMG]iB/s \("));
        Assert.That(Run("--kb_base=1001").Err, Does.Contain("--kb_base=1001: use 1024"));
    }

    [Test]
    [CancelAfter(60_000)]
    public void TerseIsFiosVersion3LineAndFormatsCombine()
    {
        var (code, text, err) = Run("--name=t", "--device=null:16M", "--rw=read", "--number_ios=300", "--output-format=terse");
        Assert.That(code, Is.Zero, err);
        var fields = text.TrimEnd('\n').Split(';');
        Assert.That(fields, Has.Length.EqualTo(121), "fio 3.33's version 3 line without continue_on_error");
        Assert.That(fields[..5], Is.EqualTo(new[] { "3", Orion.Perf.Options.JobOptionsParser.ToolVersion, "t", "0", "0" }));
        Assert.That(fields[5], Is.EqualTo("1200"), "300 reads of 4 KiB");
        Assert.That(fields[17], Does.Match(@"^1\.000000%=\d+$"), "the first clat percentile, after io, bw, iops, runtime, slat and clat");
        Assert.That(fields[33], Does.Match(@"^99\.990000%=\d+$"), "the last of fio's 17 default percentiles");
        Assert.That(fields[34..37], Is.All.EqualTo("0%=0"), "the unused slots of fio's 20");
        Assert.That(fields[92], Is.EqualTo("100.0%"), "iodepth 1");

        (code, text, err) = Run("--device=null:16M", "--number_ios=300", "--minimal");
        Assert.That(code, Is.Zero, err);
        Assert.That(text.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(1));

        (code, text, err) = Run("--device=null:16M", "--number_ios=300", "--output-format=json,normal");
        Assert.That(code, Is.Zero, err);
        int json = text.IndexOf("\"fio version\"", StringComparison.Ordinal);
        int normal = text.IndexOf("Run status group 0", StringComparison.Ordinal);
        Assert.That(json, Is.GreaterThan(0));
        Assert.That(normal, Is.GreaterThan(json), "fio writes the JSON before the normal report");
        Assert.That(Regex.Matches(text, "orion: \\(groupid=0").Count, Is.EqualTo(1));
    }
}
