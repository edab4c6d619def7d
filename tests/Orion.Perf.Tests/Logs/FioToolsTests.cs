using System.Globalization;
using System.Text.RegularExpressions;

namespace Orion.Perf.Tests.Logs;

/// <summary>
/// fio's own tools read what orion-perf writes: fio_generate_plots and fio2gnuplot draw it, fiologparser.py and
/// fiologparser_hist.py compute from it the numbers orion-perf reported; and fio itself, with its null engine and
/// the same options, writes files of the same names and shapes. Each test skips, saying what to install, only when
/// a tool is missing.
/// </summary>
[NonParallelizable]
public class FioToolsTests : LogKit
{
    private static readonly string[] Plots = ["lat", "iops", "slat", "clat", "bw"];

    private string Logs(string sub, params string[] extra)
    {
        string dir = At(sub);
        Directory.CreateDirectory(dir);
        string p = Path.Combine(dir, "orion");
        Jobs([.. extra, "--device=null:16M", $"--write_lat_log={p}", $"--write_bw_log={p}", $"--write_iops_log={p}", $"--write_hist_log={p}"]);
        return dir;
    }

    [Test]
    [CancelAfter(120_000)]
    public void FioGeneratePlotsDrawsEveryLog()
    {
        string script = FioTool.Require("fio_generate_plots", "fio");
        FioTool.Require("gnuplot", "gnuplot-nox");
        // Bound by size, every I/O logged: the same 512 lines in each log however busy the machine is.
        string dir = Logs("plots", "--rw=randrw", "--iodepth=2", "--size=2M");
        var (code, stdout, stderr) = FioTool.Run(script, ["orion"], dir);
        Assert.That(code, Is.Zero, stdout + stderr);
        Assert.That(stdout, Does.Not.Contain("No log files found"));
        foreach (var kind in Plots)
        {
            string svg = Path.Combine(dir, $"orion-{kind}.svg");
            Assert.That(File.Exists(svg), Is.True, svg);
            Assert.That(Fields(Path.Combine(dir, $"orion_{kind}.1.log")), Has.Count.EqualTo(512), kind);
            string text = File.ReadAllText(svg);
            Assert.That(text, Does.Contain("<svg").And.Contain("Queue depth orion.1"), $"{kind}: a line per log file; fio_generate_plots said: {stdout}{stderr}");
            Assert.That(Regex.Matches(text, "<path").Count, Is.GreaterThan(5), $"{kind}: something was drawn");
        }
    }

    [Test]
    [CancelAfter(120_000)]
    public void Fio2GnuplotReadsTheBandwidthValues()
    {
        string script = FioTool.Require("fio2gnuplot", "fio");
        FioTool.Require("gnuplot", "gnuplot-nox");
        FioTool.RequirePython("six", "python3-six");
        string dir = Logs("f2g", "--rw=randread", "--runtime=700ms", "--time_based", "--log_avg_msec=100");
        var (code, stdout, stderr) = FioTool.Run(FioTool.Python, [script, "-b", "-g", "-k", "-d", "out"], dir);
        Assert.That(code, Is.Zero, stdout + stderr);
        Assert.That(stdout, Does.Contain("orion_bw.1.log"));
        var global = File.ReadAllLines(Path.Combine(dir, "out", "result.global")).Select(l => l.Split('=')).ToDictionary(x => x[0], x => double.Parse(x[1], CultureInfo.InvariantCulture));
        // fio2gnuplot keeps the samples after time 0.
        var values = Fields(Path.Combine(dir, "orion_bw.1.log")).Where(l => long.Parse(l[0]) > 0).Select(l => double.Parse(l[1], CultureInfo.InvariantCulture)).ToList();
        Assert.That(values, Is.Not.Empty);
        Assert.That(global["values_count"], Is.EqualTo(values.Count));
        Assert.That(global["avg"], Is.EqualTo(values.Average()).Within(0.01));
        Assert.That(global["max"], Is.EqualTo(values.Max()));
        Assert.That(Directory.GetFiles(Path.Combine(dir, "out"), "*.png"), Is.Not.Empty, "gnuplot drew the graphs");
    }

    [Test]
    [CancelAfter(120_000)]
    public void FiologparserSumsTheIopsWindows()
    {
        FioTool.Require(FioTool.Python, "python3");
        string dir = Logs("parser", "--rw=randread", "--runtime=800ms", "--time_based", "--log_avg_msec=100");
        string tool = FioTool.Script("fiologparser.py", dir);
        var (code, stdout, stderr) = FioTool.Run(FioTool.Python, [tool, "-s", "-i", "100", "orion_iops.1.log"], dir);
        if (code != 0 && stderr.Contains("too many values to unpack", StringComparison.Ordinal))
        {
            // fio 3.33's fiologparser.py predates fio's fifth log column (fixed upstream in fio 3.34, commit 5f2a90b8):
            // it fails on fio's own logs in the same way. Apply that fix to the copy, then read ours with it.
            string text = File.ReadAllText(tool);
            string broken = "(time, value, foo, bar) = line.rstrip('\\r\\n').rsplit(', ')";
            Assert.That(text, Does.Contain(broken), stderr);
            File.WriteAllText(tool, text.Replace(broken, "(time, value) = line.rstrip('\\r\\n').rsplit(', ')[:2]"));
            (code, stdout, stderr) = FioTool.Run(FioTool.Python, [tool, "-s", "-i", "100", "orion_iops.1.log"], dir);
        }
        Assert.That(code, Is.Zero, stdout + stderr);
        // Each of our lines covers the 100 ms before its time, so the tool's sum for a 100 ms interval is that line's value.
        var ours = Fields(Path.Combine(dir, "orion_iops.1.log")).ToDictionary(l => long.Parse(l[0]), l => double.Parse(l[1], CultureInfo.InvariantCulture));
        var printed = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(", "))
                            .Select(f => (End: long.Parse(f[0]), Sum: double.Parse(f[1], CultureInfo.InvariantCulture))).ToList();
        var matched = printed.Where(x => ours.ContainsKey(x.End) && ours.ContainsKey(x.End - 100)).ToList();
        Assert.That(matched, Has.Count.GreaterThanOrEqualTo(2), stdout);
        foreach (var (end, sum) in matched) Assert.That(sum, Is.EqualTo(ours[end]).Within(0.001), $"interval ending {end}");
    }

    [Test]
    [CancelAfter(120_000)]
    public void FiologparserHistCountsEveryIo()
    {
        FioTool.RequirePython("pandas, numpy", "python3-pandas");
        string dir = At("hist");
        Directory.CreateDirectory(dir);
        string p = Path.Combine(dir, "orion");
        var job = Jobs("--rw=randrw", "--iodepth=4", "--size=8M", "--device=mem:16M", $"--write_hist_log={p}", "--log_hist_msec=20")[0];
        string tool = FioTool.Script("fiologparser_hist.py", dir);
        var (code, stdout, stderr) = FioTool.Run(FioTool.Python, [tool, "--noweight", "-i", "20", "orion_clat_hist.1.log"], dir);
        Assert.That(code, Is.Zero, stdout + stderr);
        var rows = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(l => l.Split(", ")).ToList();
        Assert.That(rows, Is.Not.Empty, stdout);
        Assert.That(rows.Sum(r => long.Parse(r[1])), Is.EqualTo(Ios(job, "read") + Ios(job, "write")), "its samples column counts every I/O once");
        // Its max is the upper edge of the bucket of the largest clat (fio's layout: at most 1/64 above it), in ns.
        long max = Math.Max(job.GetProperty("read").GetProperty("clat_ns").GetProperty("max").GetInt64(), job.GetProperty("write").GetProperty("clat_ns").GetProperty("max").GetInt64());
        double toolMax = rows.Max(r => double.Parse(r[^1], CultureInfo.InvariantCulture));
        Assert.That(toolMax, Is.EqualTo((double)max).Within(2).Percent, "the upper edge of the largest clat's bucket");
        // The weighted mode (its default) reads it too.
        (code, stdout, stderr) = FioTool.Run(FioTool.Python, [tool, "orion_clat_hist.1.log"], dir);
        Assert.That(code, Is.Zero, stdout + stderr);
        Assert.That(stdout, Does.StartWith("end-time, samples, min, avg, median"));
    }

    [Test]
    [CancelAfter(120_000)]
    public void FioWritesTheSameFilesInTheSameShapes()
    {
        string fio = FioTool.Require("fio", "fio");
        string[] common = ["--rw=randrw", "--bs=4k", "--iodepth=4", "--size=4M", "--numjobs=2", "--log_offset=1", "--log_hist_msec=10", "--log_hist_coarseness=1", "--rate_iops=5000"];
        string Run(string sub, Func<string, string[], (int, string, string)> run)
        {
            string dir = At(sub);
            Directory.CreateDirectory(dir);
            string p = Path.Combine(dir, "x");
            var (code, o, e) = run(dir, [.. common, $"--write_lat_log={p}", $"--write_bw_log={p}", $"--write_iops_log={p}", $"--write_hist_log={p}"]);
            Assert.That(code, Is.Zero, o + e);
            return dir;
        }
        string theirs = Run("fio", (dir, args) => FioTool.Run(fio, ["--name=j", "--ioengine=null", "--thread", .. args], dir));
        string ours = Run("orion", (dir, args) =>
        {
            Jobs(["--name=j", "--device=null:16M", .. args]);
            return (0, "", "");
        });
        var names = Directory.GetFiles(theirs).Select(Path.GetFileName).Order().ToList();
        Assert.That(names, Does.Contain("x_clat_hist.2.log").And.Contain("x_slat.1.log"), "fio wrote its logs");
        Assert.That(Directory.GetFiles(ours).Select(Path.GetFileName).Order(), Is.EqualTo(names), "the same file names");
        foreach (var name in names)
        {
            var f = Fields(Path.Combine(theirs, name!));
            var o = Fields(Path.Combine(ours, name!));
            Assert.That(f, Is.Not.Empty, $"fio's {name}");
            Assert.That(o, Is.Not.Empty, name);
            Assert.That(o.Select(l => l.Length).Distinct(), Is.EqualTo(f.Select(l => l.Length).Distinct()), $"{name}: the same number of columns");
            Assert.That(o.All(l => l.All(x => long.TryParse(x, out _))), Is.True, $"{name}: whole numbers only, as fio's");
            if (!name!.Contains("hist"))
            {
                Assert.That(o.Count, Is.EqualTo(f.Count), $"{name}: a line per I/O, 1024 I/Os per clone in both");
                Assert.That(o.Select(l => l[3]).Distinct(), Is.EqualTo(f.Select(l => l[3]).Distinct()), $"{name}: block size column");
            }
            else Assert.That(o.Sum(l => l.Skip(3).Sum(long.Parse)), Is.EqualTo(1024), $"{name}: every I/O of the clone");
        }
    }
}
