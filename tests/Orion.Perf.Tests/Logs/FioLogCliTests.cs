using System.Text.Json;
using Orion.Perf.Options;
using Orion.Perf.Tests.Options;

namespace Orion.Perf.Tests.Logs;

/// <summary>
/// write_lat_log, write_bw_log, write_iops_log, write_hist_log and their options end to end: real engine, short jobs
/// bound by size where a count is asserted, so every number is exact. Never timing.
/// </summary>
[NonParallelizable]
public class FioLogCliTests : LogKit
{
    [Test]
    [CancelAfter(60_000)]
    public void EveryIoIsALineInEachLogWithItsDirectionAndSize()
    {
        string p = At("io");
        var job = Jobs("--rw=randrw", "--iodepth=4", "--size=4M", "--device=mem:16M", $"--write_lat_log={p}", $"--write_bw_log={p}", $"--write_iops_log={p}")[0];
        long reads = Ios(job, "read"), writes = Ios(job, "write");
        Assert.That(reads + writes, Is.EqualTo(1024), "4 MiB in 4 KiB I/Os");
        foreach (var kind in new[] { "slat", "clat", "lat", "bw", "iops" })
        {
            var lines = Fields($"{p}_{kind}.1.log");
            Assert.That(lines, Has.Count.EqualTo(1024), kind);
            Assert.That(lines.Select(l => l.Length), Is.All.EqualTo(5), $"{kind}: time, value, direction, block size, priority");
            Assert.That(lines.Count(l => l[2] == "0"), Is.EqualTo(reads), kind);
            Assert.That(lines.Count(l => l[2] == "1"), Is.EqualTo(writes), kind);
            Assert.That(lines.Select(l => l[3]), Is.All.EqualTo("4096"), kind);
            Assert.That(lines.Select(l => l[4]), Is.All.EqualTo("0"), kind);
            var times = lines.Select(l => long.Parse(l[0])).ToList();
            Assert.That(times, Is.Ordered, $"{kind}: in completion order");
        }
        Assert.That(Fields($"{p}_iops.1.log").Select(l => l[1]), Is.All.EqualTo("1"), "one I/O per line");
        // Every clat value is within the job's clat range, and the logged lat is slat + clat.
        long max = Math.Max(job.GetProperty("read").GetProperty("clat_ns").GetProperty("max").GetInt64(),
                            job.GetProperty("write").GetProperty("clat_ns").GetProperty("max").GetInt64());
        var clat = Fields($"{p}_clat.1.log").Select(l => long.Parse(l[1])).ToList();
        Assert.That(clat.Max(), Is.LessThanOrEqualTo(max + max / 100));
        var slat = Fields($"{p}_slat.1.log").Select(l => long.Parse(l[1])).ToList();
        var lat = Fields($"{p}_lat.1.log").Select(l => long.Parse(l[1])).ToList();
        for (int i = 0; i < lat.Count; i++) Assert.That(lat[i], Is.EqualTo(slat[i] + clat[i]).Within(2), $"line {i}");
        // fio's per-I/O bandwidth: bytes * 10^6 / clat ns.
        var bw = Fields($"{p}_bw.1.log").Select(l => long.Parse(l[1])).ToList();
        for (int i = 0; i < bw.Count; i++) Assert.That(bw[i], Is.EqualTo(4096L * 1_000_000 / clat[i]), $"line {i}");
    }

    [Test]
    [CancelAfter(60_000)]
    public void OffsetAndPriorityColumnsAreFios()
    {
        string p = At("off");
        Jobs("--rw=randread", "--bs=8k", "--iodepth=2", "--offset=1M", "--size=1M", "--device=mem:16M", $"--write_lat_log={p}", "--log_offset=1", "--log_prio=1");
        var lines = Fields($"{p}_clat.1.log");
        Assert.That(lines, Has.Count.EqualTo(128));
        Assert.That(lines.Select(l => l.Length), Is.All.EqualTo(6));
        foreach (var l in lines)
        {
            long offset = long.Parse(l[4]);
            Assert.That(offset % 8192, Is.Zero, "aligned to the block size");
            Assert.That(offset, Is.InRange(1L << 20, (2L << 20) - 8192), "inside the job's region");
        }
        Assert.That(lines.Select(l => l[5]), Is.All.EqualTo("0x0000"), "log_prio: fio's 0x%04x");
    }

    [Test]
    [CancelAfter(60_000)]
    public void ClonesAndJobsAreNumberedAsFiosThreadsAndPerJobLogsZeroSharesOneFile()
    {
        string JobFile(string prefix, string perJobLogs)
        {
            string path = At(prefix + ".fio");
            File.WriteAllText(path, $"""
                [global]
                rw=read
                size=1M
                device=mem:16M
                write_iops_log={At(prefix)}
                per_job_logs={perJobLogs}
                [a]
                numjobs=2
                [b]
                bs=64k
                """);
            return path;
        }
        var jobs = Jobs(JobFile("t", "1"));
        Assert.That(Fields(At("t_iops.1.log")), Has.Count.EqualTo(256));
        Assert.That(Fields(At("t_iops.2.log")), Has.Count.EqualTo(256), "the second clone of job a");
        Assert.That(Fields(At("t_iops.3.log")), Has.Count.EqualTo(16), "job b: fio's thread 3");
        Assert.That(Fields(At("t_iops.3.log")).Select(l => l[3]), Is.All.EqualTo("65536"));
        Assert.That(jobs.GetArrayLength(), Is.EqualTo(3), "without group_reporting each clone is an entry of its own, as in fio");

        Jobs(JobFile("s", "0"));
        Assert.That(Fields(At("s_iops.log")), Has.Count.EqualTo(256 + 256 + 16), "every clone of every job in one file");
        Assert.That(File.Exists(At("s_iops.1.log")), Is.False);
    }

    [Test]
    [CancelAfter(60_000)]
    public void AnEmptyPrefixIsTheJobsName()
    {
        string cwd = Environment.CurrentDirectory;
        try
        {
            Environment.CurrentDirectory = Dir;
            Jobs("--name=myjob", "--rw=read", "--size=64k", "--device=mem:16M", "--write_bw_log=");
            Assert.That(File.Exists(At("myjob_bw.1.log")), Is.True, "fio: no file name means the job's name");
        }
        finally
        {
            Environment.CurrentDirectory = cwd;
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public void AveragedLogsHaveOneLinePerWindowAndDirection()
    {
        string p = At("avg");
        var job = Jobs("--rw=randread", "--iodepth=2", "--runtime=700ms", "--time_based", "--device=null:16M",
                       $"--write_lat_log={p}", $"--write_bw_log={p}", $"--write_iops_log={p}", "--log_avg_msec=100")[0];
        var clat = Fields($"{p}_clat.1.log");
        Assert.That(clat, Has.Count.InRange(2, 8), "about one line per 100 ms window of a 700 ms job");
        Assert.That(clat.Select(l => l[3]), Is.All.EqualTo("0"), "fio writes block size 0 in averaged latency lines");
        long max = job.GetProperty("read").GetProperty("clat_ns").GetProperty("max").GetInt64();
        Assert.That(clat.Select(l => long.Parse(l[1])), Is.All.InRange(1L, max + max / 100), "a window's mean is within the job's range");
        var iops = Fields($"{p}_iops.1.log");
        Assert.That(iops, Has.Count.InRange(1, 7), "full windows only");
        Assert.That(iops.Select(l => long.Parse(l[0]) % 100), Is.All.Zero, "stamped at the windows' ends");
        Assert.That(iops.Select(l => l[3]), Is.All.EqualTo("4096"));
        // IOPS and KiB/s of one window agree: 4 KiB per I/O.
        var bw = Fields($"{p}_bw.1.log");
        for (int i = 0; i < iops.Count; i++) Assert.That(long.Parse(bw[i][1]), Is.EqualTo(long.Parse(iops[i][1]) * 4).Within(4), $"window {i}");
    }

    [TestCase(0, 1859)]
    [TestCase(2, 467)]
    [CancelAfter(60_000)]
    public void HistogramLinesCountEveryIoInFiosBuckets(int coarseness, int columns)
    {
        string p = At("h");
        var job = Jobs("--rw=randrw", "--iodepth=4", "--size=8M", "--device=mem:16M", $"--write_hist_log={p}", "--log_hist_msec=10",
                       $"--log_hist_coarseness={coarseness}")[0];
        var lines = Fields($"{p}_clat_hist.1.log");
        Assert.That(lines.Select(l => l.Length), Is.All.EqualTo(columns));
        Assert.That(lines.Sum(l => l.Skip(3).Sum(long.Parse)), Is.EqualTo(Ios(job, "read") + Ios(job, "write")), "every I/O in exactly one line");
        Assert.That(lines.Where(l => l[1] == "0").Sum(l => l.Skip(3).Sum(long.Parse)), Is.EqualTo(Ios(job, "read")));
    }

    [Test]
    [CancelAfter(60_000)]
    public void BandwidthAndIopsStatisticsComeFromSamples()
    {
        var read = Jobs("--rw=randread", "--iodepth=2", "--runtime=2", "--time_based", "--device=null:16M", "--bwavgtime=250", "--iopsavgtime=250")[0]
            .GetProperty("read");
        long samples = read.GetProperty("bw_samples").GetInt64();
        Assert.That(samples, Is.InRange(2, 8), "one per 250 ms of a 2 s job");
        Assert.That(read.GetProperty("iops_samples").GetInt64(), Is.InRange(2, 8));
        double mean = read.GetProperty("bw_mean").GetDouble();
        Assert.That(mean, Is.InRange(read.GetProperty("bw_min").GetInt64(), read.GetProperty("bw_max").GetInt64()));
        double iopsMean = read.GetProperty("iops_mean").GetDouble();
        Assert.That(iopsMean, Is.InRange(read.GetProperty("iops_min").GetInt64(), read.GetProperty("iops_max").GetInt64()));
        Assert.That(mean, Is.EqualTo(iopsMean * 4).Within(1).Percent, "KiB/s of 4 KiB I/Os");

        var shortJob = Jobs("--rw=randread", "--runtime=200ms", "--time_based", "--device=null:16M")[0].GetProperty("read");
        Assert.That(shortJob.GetProperty("bw_samples").GetInt64(), Is.Zero, "shorter than one 500 ms sample: none, as fio");
        Assert.That(shortJob.GetProperty("bw_min").GetInt64(), Is.Zero);
        Assert.That(shortJob.GetProperty("iops_samples").GetInt64(), Is.Zero);
    }

    [TestCase("--log_hist_coarseness=7", "--log_hist_coarseness=7: the coarseness must be from 0 to 6")]
    [TestCase("--log_avg_msec=-1", "--log_avg_msec=-1: the length must be from 0 to 3600000 ms (0 = every I/O)")]
    [TestCase("--log_avg_msec=x", "--log_avg_msec=x: 'x' is not a whole number of milliseconds (for example --log_avg_msec=500)")]
    [TestCase("--bwavgtime=0", "--bwavgtime=0: the length must be from 1 to 3600000 ms")]
    [TestCase("--log_offset=2", "--log_offset=2: use 1 or 0 (or just --log_offset to turn it on)")]
    [TestCase("--write_lat_log= ", "--write_lat_log: the file name prefix must not be blank (for example --write_lat_log=run1, or empty for the job's name)")]
    public void BadValuesGetClearErrors(string arg, string message) => Assert.That(ParseKit.Error(arg), Is.EqualTo(message));

    [Test]
    public void ALogOptionWithoutAFileNameUsesTheJobName()
    {
        // fio: "If no str argument is given, the default filename of jobname_type.x.log is used".
        var o = ParseKit.Ok("--name=scan", "--write_bw_log", "--log_offset=1");
        Assert.That(o.FioLogPath(FioLogKind.Bw, 1), Is.EqualTo("scan_bw.1.log"));
        var file = JobOptionsParser.ParseJobs(["job.fio"], _ => "[scan]\nwrite_bw_log\nwrite_lat_log\n", _ => null);
        Assert.That(file.Kind, Is.EqualTo(ParseOutcomeKind.Success), file.Message);
        Assert.That(file.Jobs[0].FioLogPath(FioLogKind.Clat, 2), Is.EqualTo("scan_clat.2.log"));
    }

    [Test]
    public void AMissingDirectoryStopsTheRunBeforeItStarts()
    {
        string missing = At("no-such-dir");
        foreach (var option in new[] { "write_lat_log", "write_bw_log", "write_iops_log", "write_hist_log" })
            Assert.That(ParseKit.Error($"--{option}={Path.Combine(missing, "p")}"),
                        Is.EqualTo($"--{option}={Path.Combine(missing, "p")}: the directory '{missing}' does not exist; create it first or choose another prefix"));
    }

    [Test]
    public void OptionsAreKeptAndHelpListsThem()
    {
        var o = ParseKit.Ok("--write_lat_log=a", "--write_bw_log=b", "--write_iops_log=c", "--write_hist_log=d", "--log_avg_msec=250ms", "--log_max_value",
                            "--log_offset", "--log_prio", "--log_hist_coarseness=3", "--per_job_logs=0", "--bwavgtime=100", "--iops_avg_time=200");
        Assert.That((o.WriteLatLog, o.WriteBwLog, o.WriteIopsLog, o.WriteHistLog), Is.EqualTo(("a", "b", "c", "d")));
        Assert.That((o.LogAvgMsec, o.LogMaxValue, o.LogOffset, o.LogPrio, o.LogHistCoarseness, o.PerJobLogs), Is.EqualTo((250, true, true, true, 3, false)));
        Assert.That((o.BwSampleMs, o.IopsSampleMs), Is.EqualTo((100, 200)), "a windowed log's window is not shorter than the given sample length");
        Assert.That(o.FioLogPath(FioLogKind.ClatHist, 4), Is.EqualTo("d_clat_hist.log"));
        var d = new JobOptions();
        Assert.That((d.BwSampleMs, d.IopsSampleMs, d.PerJobLogs, d.WritesFioLogs), Is.EqualTo((500, 500, true, false)));
        Assert.That(ParseKit.Ok("--write_bw_log=x", "--log_avg_msec=200").BwSampleMs, Is.EqualTo(200), "fio: a windowed bandwidth log sets bwavgtime");
        Assert.That(ParseKit.Ok("--write_lat_log=x").FioLogPath(FioLogKind.Slat, 2), Is.EqualTo("x_slat.2.log"));
        string help = JobOptionsParser.Usage();
        foreach (var name in new[] { "write_lat_log=PREFIX", "write_bw_log=PREFIX", "write_iops_log=PREFIX", "write_hist_log=PREFIX", "log_avg_msec=MSEC",
                                     "log_max_value", "log_offset", "log_prio", "log_hist_coarseness=INT", "per_job_logs", "bwavgtime=MSEC", "iopsavgtime=MSEC" })
            Assert.That(help, Does.Contain("  --" + name), name);
    }
}
