using System.Globalization;
using Orion.Perf.Options;

namespace Orion.Perf.Reporting;

/// <summary>fio's human-readable report (<c>--output-format=normal</c>), plus an engine section per queue.</summary>
public static class HumanReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>
    /// fio's start banner (<c>orion: (g=0): rw=randread, bs=(R) 4096B-4096B, ...</c>, the version, <c>Starting 1 process</c>),
    /// printed before the job runs in the normal format.
    /// </summary>
    public static void WriteBanner(TextWriter w, JobOptions options, int groupId = 0)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(options);
        // fio's banner shows the smallest and largest block size of each direction (they differ with bssplit).
        string Bs(int bytes) => FioFormat.Num2Str((ulong)Math.Max(0, bytes), FioFormat.SigFigs, pow2: true, FioFormat.Unit.Byte);
        string bs = Bs(options.BlockSizes.Min(s => s.Bytes)) + "-" + Bs(options.MaxBlockBytes);
        w.WriteLine($"{options.Name}: (g={groupId.ToString(Inv)}): rw={options.Rw.FioName()}, bs=(R) {bs}, (W) {bs}, (T) {bs}, " +
                    $"ioengine=orion, device={options.Device}, iodepth={options.IoDepth.ToString(Inv)}");
        w.WriteLine(JobOptionsParser.ToolVersion);
        w.WriteLine("Starting 1 process");
    }

    /// <summary>Writes each job's report, then each group's summary, in fio's layout.</summary>
    public static void Write(TextWriter w, IReadOnlyList<JobResult> jobs)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(jobs);
        foreach (var job in jobs) WriteJob(w, job);
        foreach (var group in jobs.GroupBy(j => j.GroupId).OrderBy(g => g.Key)) WriteGroup(w, group.Key, group.ToList());
    }

    private static void WriteJob(TextWriter w, JobResult job)
    {
        w.WriteLine($"{job.Name}: (groupid={job.GroupId.ToString(Inv)}, jobs={job.Members.ToString(Inv)}): err={job.Error.ToString(Inv),2}: pid={job.ProcessId.ToString(Inv)}: {FioFormat.CTime(job.End)}");
        // unified_rw_reporting: the directions, or their sum as 'mixed', or both (fio's show_thread_status_normal).
        if (job.Options.UnifiedRwReporting != UnifiedRwReporting.Mixed)
            foreach (var (name, d) in job.Directions)
                if (d.HasIo) WriteDirection(w, name, d, job);
        if (job.Options.UnifiedRwReporting != UnifiedRwReporting.None && DirectionResult.Sum(job.Directions.Select(x => x.Result)) is { HasIo: true } mixed)
            WriteDirection(w, "mixed", mixed, job);
        WriteRate(w, job);
        WriteVerify(w, job);
        ErrorSection.WriteHuman(w, job);
        WriteLatencyBuckets(w, LatencyBuckets.From(job));
        WriteCpu(w, job);
        WriteDepths(w, job);
        if (job.SteadyState is { } ss) w.WriteLine(ss.TextLine());        // fio: after the depths
        WriteEngine(w, job);
    }

    private static void WriteDirection(TextWriter w, string name, DirectionResult d, JobResult job)
    {
        long runt = Math.Max(1, FioFormat.Ms(job.Runtime));
        ulong bw = (ulong)(1000m * d.Bytes / runt);
        ulong iops = (ulong)(1000m * d.TotalIos / runt);
        bool pow2 = job.Options.KbBase == 1024;      // kb_base=1000 puts the SI units first, as fio's i2p
        string iopsText = FioFormat.Num2Str(iops, FioFormat.SigFigs, pow2: false, FioFormat.Unit.None);
        string bwText = FioFormat.Num2Str(bw, FioFormat.SigFigs, pow2, FioFormat.Unit.BytePerSec);
        string bwAlt = FioFormat.Num2Str(bw, FioFormat.SigFigs, !pow2, FioFormat.Unit.BytePerSec);
        string io = FioFormat.Num2Str((ulong)d.Bytes, FioFormat.SigFigs, pow2, FioFormat.Unit.Byte);
        w.WriteLine($"  {name}: IOPS={iopsText}, BW={bwText} ({bwAlt})({io}/{runt.ToString(Inv)}msec)");

        // fio's three lines: submission (issue to placement in the ring), completion (placement to completion), total.
        var slat = LatencySummary.From(d.SlatNs);
        var clat = LatencySummary.From(d.ClatNs);
        var lat = LatencySummary.From(d.LatNs);
        if (slat.Count > 0) WriteLatLine(w, "slat", slat);
        if (clat.Count > 0) WriteLatLine(w, "clat", clat);
        if (lat.Count > 0) WriteLatLine(w, " lat", lat);
        var o = job.Options;
        if (o.SlatPercentiles && slat.Count > 0) PercentileBlock.Write(w, "slat", slat, o.Percentiles);
        if (o.ClatPercentiles && clat.Count > 0) PercentileBlock.Write(w, "clat", clat, o.Percentiles);
        if (o.LatPercentiles && lat.Count > 0) PercentileBlock.Write(w, " lat", lat, o.Percentiles);

        // Open loop: the latency a client of the schedule sees, next to what a closed loop would have reported.
        var intended = LatencySummary.From(d.IntendedLatNs);
        if (intended.Count == 0) return;
        WriteLatLine(w, "lat from intended start (CO-corrected)", intended);
        if (clat.Count > 0) WriteLatLine(w, "clat (service time, what a closed loop would report)", clat);
        PercentileBlock.Write(w, "lat from intended start", intended, o.Percentiles);
        w.WriteLine($"    behind schedule: I/Os started {Duration(d.MeanScheduleLagNs)} late on average, {Duration(d.ScheduleLagMaxNs)} at most");
    }

    /// <summary>A duration in the unit that keeps it short: <c>850 nsec</c>, <c>12.40 usec</c>, <c>331.65 msec</c>.</summary>
    private static string Duration(double ns) => ns switch
    {
        < 1_000 => $"{FioFormat.F(ns, 0, 0)} nsec",
        < 1_000_000 => $"{FioFormat.F(ns / 1_000, 0, 2)} usec",
        < 1_000_000_000 => $"{FioFormat.F(ns / 1_000_000, 0, 2)} msec",
        _ => $"{FioFormat.F(ns / 1_000_000_000, 0, 2)} sec",
    };

    /// <summary>With <c>--rate_iops</c>: the schedule, and that latency from the intended start is coordinated-omission corrected.</summary>
    private static void WriteRate(TextWriter w, JobResult job)
    {
        if (job.Options.RateIops is not int rate) return;
        string process = job.Options.RateProcess == RateProcess.Poisson ? "poisson" : "linear";
        w.WriteLine($"  rate         : rate_iops={rate.ToString(Inv)} per job ({process}); latency from each I/O's intended start is coordinated-omission " +
                    $"corrected, clat is the service time; {job.UnissuedAtEnd.ToString(Inv)} I/Os due but not started when the run ended");
    }

    /// <summary>With <c>--verify</c>: what was checked, and each recorded mismatch with expected and found header.</summary>
    private static void WriteVerify(TextWriter w, JobResult job)
    {
        if (job.Verify is not { } v) return;
        string mismatches = v.Mismatches == 1 ? "1 mismatch" : $"{v.Mismatches.ToString(Inv)} mismatches";
        w.WriteLine($"  verify       : {v.Mode.FioName()} over {v.BlockBytes.ToString(Inv)}-byte blocks: {v.Checked.ToString(Inv)} checked " +
                    $"({v.CheckedAfterWrites.ToString(Inv)} read back after the writes, {v.CheckedInline.ToString(Inv)} as the workload read them), {mismatches}" +
                    (v.StoppedEarly ? "; verify_fatal stopped the job" : "") +
                    (v.ReadBackRan || job.Options.Rw.HasReads() ? "" : "; no read-back (do_verify=0)"));
        foreach (var m in v.FirstMismatches) w.WriteLine("  verify error : " + m.Describe("                 ").TrimStart());
        if (v.Mismatches > v.FirstMismatches.Count)
            w.WriteLine($"  verify error : ... and {(v.Mismatches - v.FirstMismatches.Count).ToString(Inv)} more");
    }

    /// <summary>fio's display_lat: <c>    clat (usec): min=1, max=1234, avg= 2.10, stdev= 0.50</c>.</summary>
    private static void WriteLatLine(TextWriter w, string label, LatencySummary lat)
    {
        ulong min = (ulong)lat.Min, max = (ulong)lat.Max;
        double mean = lat.Mean, dev = lat.StdDev;
        string unit = "nsec";
        double div = 1;
        if (min > 2_000_000 && max > 99_999_999) { unit = "msec"; div = 1_000_000; }
        else if (min > 2_000 && max > 99_999) { unit = "usec"; div = 1_000; }
        min = (ulong)(min / div);
        max = (ulong)(max / div);
        string minText = FioFormat.Num2Str(min, 6, pow2: false, FioFormat.Unit.None);
        string maxText = FioFormat.Num2Str(max, 6, pow2: false, FioFormat.Unit.None);
        w.WriteLine($"    {label} ({unit}): min={minText}, max={maxText}, avg={FioFormat.F(mean / div, 5, 2)}, stdev={FioFormat.F(dev / div, 5, 2)}");
    }

    /// <summary>fio's show_lat: only non-empty buckets, five to a line.</summary>
    private static void WriteLatencyBuckets(TextWriter w, LatencyBuckets b)
    {
        WriteBucketLines(w, "nsec", b, b.Ns, LatencyBuckets.SubMsLabels);
        WriteBucketLines(w, "usec", b, b.Us, LatencyBuckets.SubMsLabels);
        WriteBucketLines(w, "msec", b, b.Ms, LatencyBuckets.MsLabels);
    }

    private static void WriteBucketLines(TextWriter w, string unit, LatencyBuckets b, long[] counts, string[] labels)
    {
        int onLine = 0;
        bool any = false;
        for (int i = 0; i < counts.Length; i++)
        {
            double pct = b.Percent(counts[i]);
            if (pct <= 0) continue;
            if (onLine == 0)
            {
                if (any) w.WriteLine();
                w.Write($"  lat ({unit})   : ");
            }
            else
            {
                w.Write(", ");
            }
            w.Write($"{labels[i]}={FioFormat.F(pct, 3, 2)}%");
            any = true;
            onLine = onLine == 4 ? 0 : onLine + 1;
        }
        if (any) w.WriteLine();
    }

    private static void WriteCpu(TextWriter w, JobResult job)
    {
        w.WriteLine($"  cpu          : usr={FioFormat.F(job.UserCpuPercent, 3, 2)}%, sys={FioFormat.F(job.SystemCpuPercent, 3, 2)}%, " +
                    $"ctx={job.ContextSwitches.ToString(Inv)}, majf={job.MajorFaults.ToString(Inv)}, minf={job.MinorFaults.ToString(Inv)}");
        if (job.CpuNsPerIo is double ns)
        {
            long ios = job.TotalIos;
            w.WriteLine($"  cpu per io   : {FioFormat.F(ns / 1000, 0, 3)} usec (usr={FioFormat.F(job.UserCpuSeconds * 1e6 / ios, 0, 3)}, " +
                        $"sys={FioFormat.F(job.SystemCpuSeconds * 1e6 / ios, 0, 3)}; whole process on {job.CpuCount.ToString(Inv)} cpus, " +
                        (job.DeviceProcessId is null ? "device thread included)" : "initiator only)"));
        }
        if (job.DeviceCpuNsPerIo is double dns && job.DeviceProcessId is int pid)
        {
            long ios = job.TotalIos;
            w.WriteLine($"  device cpu   : {FioFormat.F(dns / 1000, 0, 3)} usec per io (usr={FioFormat.F(job.DeviceUserCpuSeconds!.Value * 1e6 / ios, 0, 3)}, " +
                        $"sys={FioFormat.F(job.DeviceSystemCpuSeconds!.Value * 1e6 / ios, 0, 3)}; back-end pid {pid.ToString(Inv)}, " +
                        $"{FioFormat.F(job.Runtime <= TimeSpan.Zero ? 0 : (job.DeviceUserCpuSeconds.Value + job.DeviceSystemCpuSeconds.Value) * 100 / job.Runtime.TotalSeconds, 3, 1)}% of a cpu)");
        }
    }

    /// <summary>fio's IO depths, submit, complete, issued and latency-target lines.</summary>
    private static void WriteDepths(TextWriter w, JobResult job)
    {
        static string Line(IReadOnlyList<(string Label, double Percent)> levels) => string.Join(", ", levels.Select(l => $"{l.Label}={FioFormat.F(l.Percent, 0, 1)}%"));
        w.WriteLine("  IO depths    : " + Line(DepthReport.Levels(job)));
        w.WriteLine("     submit    : " + Line(DepthReport.Submit(job)));
        w.WriteLine("     complete  : " + Line(DepthReport.Complete(job)));
        string Rwts(Func<DirectionResult, long> f) => $"{f(job.Read).ToString(Inv)},{f(job.Write).ToString(Inv)},{f(job.Trim).ToString(Inv)},0";
        w.WriteLine($"     issued rwts: total={Rwts(d => d.TotalIos)} short=0,0,0,0 dropped=0,0,0,0");
        w.WriteLine($"     latency   : target=0, window=0, percentile=100.00%, depth={job.Options.IoDepth.ToString(Inv)}");
    }

    private static void WriteEngine(TextWriter w, JobResult job)
    {
        string errors = job.Read.Errors + job.Write.Errors + job.Trim.Errors == 0 ? ""
            : $", io errors: read={job.Read.Errors.ToString(Inv)}, write={job.Write.Errors.ToString(Inv)}, trim={job.Trim.Errors.ToString(Inv)}";
        w.WriteLine($"  engine       : device={job.Device}, queues={job.Queues.Count.ToString(Inv)}{errors}");
        foreach (var q in job.Queues)
        {
            string label = $"queue {q.Queue.ToString(Inv)}".PadRight(13);
            string core = q.Core is int c ? c.ToString(Inv) : "any";
            w.WriteLine($"  {label}: core={core}, requests={q.Requests.ToString(Inv)}, kicks/io={FioFormat.F(q.KicksPerIo, 0, 3)}, " +
                        $"polls/io={FioFormat.F(q.PollsPerIo, 0, 2)}, batches={q.Batches.ToString(Inv)} ({FioFormat.F(q.RequestsPerBatch, 0, 1)} req/batch), " +
                        $"idle={FioFormat.F(q.ReactorIdleFraction * 100, 0, 1)}%, bounces={q.Bounces.ToString(Inv)}, errors={q.Errors.ToString(Inv)}, " +
                        $"buffers={q.BufferPoolInUse.ToString(Inv)}/{q.BufferPoolCapacity.ToString(Inv)}" +
                        (q.Timeouts + q.QueueResets + q.Resubmitted > 0
                            ? $", timeouts={q.Timeouts.ToString(Inv)}, resets={q.QueueResets.ToString(Inv)}, resubmitted={q.Resubmitted.ToString(Inv)}" : "") +
                        (q.Sleeps > 0 ? $", sleeps={q.Sleeps.ToString(Inv)}, interrupts armed={q.InterruptsArmed.ToString(Inv)}" : "") +
                        (q.MeanWakeLatencyNs > 0 ? $", wake-on-submit={FioFormat.F(q.MeanWakeLatencyNs / 1000, 0, 1)}us" : ""));
        }
    }

    /// <summary>fio's <c>Run status group N (all jobs):</c> block: aggregate and per-job bandwidth, I/O and runtimes.</summary>
    private static void WriteGroup(TextWriter w, int groupId, IReadOnlyList<JobResult> jobs)
    {
        w.WriteLine();
        w.WriteLine($"Run status group {groupId.ToString(Inv)} (all jobs):");
        var unified = jobs[0].Options.UnifiedRwReporting;
        bool pow2 = jobs[0].Options.KbBase == 1024;
        // With unified reporting the group line is the directions' sum, labelled MIXED (fio's show_group_stats).
        var rows = unified == UnifiedRwReporting.None
            ? new[] { "   READ", "  WRITE", "   TRIM" }.Select((l, i) => (Label: l, Of: (Func<JobResult, DirectionResult>)(j => j.Directions.ElementAt(i).Result))).ToList()
            : [(Label: "  MIXED", Of: j => DirectionResult.Sum(j.Directions.Select(x => x.Result)))];
        foreach (var (label, of) in rows)
        {
            var withIo = jobs.Select(j => (Job: j, D: of(j))).Where(x => x.D.HasIo).ToList();
            if (withIo.Count == 0) continue;
            long minRun = withIo.Min(x => Math.Max(1, FioFormat.Ms(x.Job.Runtime)));
            long maxRun = withIo.Max(x => Math.Max(1, FioFormat.Ms(x.Job.Runtime)));
            long bytes = withIo.Sum(x => x.D.Bytes);
            ulong agg = (ulong)(1000m * bytes / maxRun);
            var perJob = withIo.Select(x => (ulong)(1000m * x.D.Bytes / Math.Max(1, FioFormat.Ms(x.Job.Runtime)))).ToList();
            string B(ulong v, bool p2) => FioFormat.Num2Str(v, FioFormat.SigFigs, p2, FioFormat.Unit.BytePerSec);
            string io = FioFormat.Num2Str((ulong)bytes, FioFormat.SigFigs, pow2, FioFormat.Unit.Byte);
            string ioAlt = FioFormat.Num2Str((ulong)bytes, FioFormat.SigFigs, !pow2, FioFormat.Unit.Byte);
            w.WriteLine($"{label}: bw={B(agg, pow2)} ({B(agg, !pow2)}), {B(perJob.Min(), pow2)}-{B(perJob.Max(), pow2)} " +
                        $"({B(perJob.Min(), !pow2)}-{B(perJob.Max(), !pow2)}), io={io} ({ioAlt}), run={minRun.ToString(Inv)}-{maxRun.ToString(Inv)}msec");
        }
        if (jobs.Any(j => j.SharedEngineJobs > 1))
            w.WriteLine("   note: jobs that ran concurrently shared one engine and process: their cpu times are the whole process's");
    }
}
