using System.Diagnostics;
using System.Text.Json;
using Orion.Perf;

namespace Orion.Perf.Tests.Cli;

/// <summary>
/// orion-perf's JSON against fio itself and fio's own reader: the same job run by fio's null engine and by orion-perf
/// on a <c>null:</c> device gives the same key tree (every remaining difference listed with its reason, so a new one
/// fails), and <c>fio_jsonplus_clat2csv --validate</c> accepts orion-perf's json+. Skipped where fio is not installed
/// (tests/run.sh installs it).
/// </summary>
[NonParallelizable]
public class FioToolsCliTests
{
    /// <summary>The job, fio's option names, given to both (fio after its --name, so that all of it is job options).</summary>
    private static readonly string[] Job =
    [
        "--name=cmp", "--size=1g", "--rw=randrw", "--bs=4k", "--iodepth=8", "--numjobs=2", "--number_ios=2000",
        "--slat_percentiles=1", "--lat_percentiles=1", "--percentile_list=50:99:99.9", "--unified_rw_reporting=both",
        "--output-format=json+",
    ];

    /// <summary>Keys one side has and the other not, each with why; "PATH/" stands for the whole subtree at PATH.</summary>
    private static readonly Dictionary<string, string> KnownDifferences = new()
    {
        ["orion:jobs[].orion/"] = "the engine's own counters (queues, cpu per I/O, errors, rate, verify), under a key fio's tools ignore",
        ["orion:jobs[].job options.device"] = "orion-perf picks its device with --device=null:1G where fio picks an engine and a file",
        ["fio:jobs[].job options.ioengine"] = "fio's --ioengine=null; orion-perf runs its own engine on the device given",
    };

    private string _dir = "";

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), $"orion-fio-tools-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    [CancelAfter(120_000)]
    public void TheKeyTreeIsFiosNullEnginesApartFromTheListedDifferences()
    {
        string fio = Require("fio");
        var (fioCode, fioOut, fioErr) = Exec(fio, [.. Job, "--ioengine=null"]);
        Assert.That(fioCode, Is.Zero, fioErr);
        var (code, output, err) = RunPerf([.. Job, "--device=null:1G"]);
        Assert.That(code, Is.Zero, err);

        var fioKeys = KeyTree(fioOut);
        var ourKeys = KeyTree(output);
        var differences = fioKeys.Except(ourKeys).Select(k => "fio:" + k)
            .Concat(ourKeys.Except(fioKeys).Select(k => "orion:" + k))
            .Where(d => !KnownDifferences.Keys.Any(known => known.EndsWith('/') ? d == known[..^1] || d.StartsWith(known[..^1] + ".", StringComparison.Ordinal) : d == known))
            .ToList();
        Assert.That(differences, Is.Empty, "keys that differ from fio 3.33's null engine and are not listed with a reason");
        // Every listed difference is still real: a fixed one must leave the list.
        foreach (var known in KnownDifferences.Keys)
        {
            string path = known[(known.IndexOf(':') + 1)..].TrimEnd('/');
            var (has, hasNot) = known.StartsWith("fio:", StringComparison.Ordinal) ? (fioKeys, ourKeys) : (ourKeys, fioKeys);
            Assert.That(has.Contains(path) && !hasNot.Contains(path), Is.True, $"{known} is no longer a difference");
        }
        // Per-clone entries as fio's: two, same name and group, job options with numjobs.
        using var doc = JsonDocument.Parse(output);
        var jobs = doc.RootElement.GetProperty("jobs").EnumerateArray().ToList();
        Assert.That(jobs, Has.Count.EqualTo(2));
        Assert.That(jobs.Select(j => j.GetProperty("job options").GetProperty("numjobs").GetString()), Is.All.EqualTo("2"));
    }

    [Test]
    [CancelAfter(120_000)]
    public void FiosJsonPlusReaderValidatesOurBins()
    {
        string tool = Require("fio_jsonplus_clat2csv");
        var (code, output, err) = RunPerf(["--name=plus", "--device=null:1G", "--rw=randrw", "--iodepth=4", "--number_ios=2000",
                                           "--slat_percentiles=1", "--lat_percentiles=1", "--output-format=json+"]);
        Assert.That(code, Is.Zero, err);
        string json = Path.Combine(_dir, "plus.json");
        File.WriteAllText(json, output);
        using (var doc = JsonDocument.Parse(output))
        {
            var read = doc.RootElement.GetProperty("jobs")[0].GetProperty("read");
            foreach (var stat in new[] { "slat_ns", "clat_ns", "lat_ns" })
                Assert.That(read.GetProperty(stat).GetProperty("bins").EnumerateObject().Sum(b => b.Value.GetInt64()),
                            Is.EqualTo(read.GetProperty(stat).GetProperty("N").GetInt64()), stat);
        }
        string csv = Path.Combine(_dir, "plus.csv");
        var (c1, o1, e1) = Exec(tool, [json, csv]);
        Assert.That(c1, Is.Zero, o1 + e1);
        var (c2, o2, e2) = Exec(tool, [json, csv, "--validate"]);
        Assert.That(c2, Is.Zero, o2 + e2);
        Assert.That(o2, Does.Contain("plus_job0.csv validated"));
    }

    /// <summary>Every key path of a JSON document, arrays as <c>[]</c>; the contents of json+'s <c>bins</c> (latency values) are not keys.</summary>
    private static HashSet<string> KeyTree(string json)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        void Walk(JsonElement e, string path)
        {
            if (e.ValueKind == JsonValueKind.Object)
                foreach (var p in e.EnumerateObject())
                {
                    string at = path.Length == 0 ? p.Name : path + "." + p.Name;
                    keys.Add(at);
                    if (p.Name != "bins") Walk(p.Value, at);
                }
            else if (e.ValueKind == JsonValueKind.Array)
                foreach (var item in e.EnumerateArray()) Walk(item, path + "[]");
        }
        using var doc = JsonDocument.Parse(json);
        Walk(doc.RootElement, "");
        return keys;
    }

    private static (int Code, string Out, string Err) RunPerf(string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = PerfCommand.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static string Require(string tool)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':'))
        {
            string path = Path.Combine(dir, tool);
            if (File.Exists(path)) return path;
        }
        Assert.Ignore($"{tool} is not installed (tests/run.sh installs fio)");
        return "";
    }

    /// <summary>Runs a tool with a 60 s bound, killing it past that.</summary>
    private static (int Code, string Out, string Err) Exec(string file, string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(60_000))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{file} did not finish in 60 s");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
