using System.Globalization;
using System.Text.Json;
using Orion.Perf.Options;

namespace Orion.Perf.Reporting;

/// <summary>The parts of <see cref="JsonReport"/> below the job: directions, latency statistics, buckets, engine counters.</summary>
internal static class JsonSections
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>fio writes floating-point values with C's <c>%f</c> (six decimals); doing the same keeps diffs against fio quiet.</summary>
    public static void WriteFloat(Utf8JsonWriter j, string name, double value)
    {
        j.WritePropertyName(name);
        j.WriteRawValue((double.IsFinite(value) ? value : 0).ToString("F6", Inv));
    }

    /// <summary>One of fio's <c>read</c>/<c>write</c>/<c>trim</c>/<c>mixed</c> objects, with the percentiles <paramref name="o"/> asks for.</summary>
    public static void WriteDirection(Utf8JsonWriter j, string name, DirectionResult d, TimeSpan runtime, long groupBytes, bool plus, JobOptions o)
    {
        bool io = d.HasIo;
        double seconds = runtime.TotalSeconds;
        // fio reports runtime 0 for a direction that did nothing, and derives the rates from the exact window.
        long runtimeMs = io ? Math.Max(1, FioFormat.Ms(runtime)) : 0;
        double iops = io && seconds > 0 ? d.TotalIos / seconds : 0;
        long bwBytes = io && seconds > 0 ? (long)(d.Bytes / seconds) : 0;
        long bwKiB = bwBytes / 1024;

        j.WriteStartObject(name);
        j.WriteNumber("io_bytes", d.Bytes);
        j.WriteNumber("io_kbytes", d.Bytes / 1024);
        j.WriteNumber("bw_bytes", bwBytes);
        j.WriteNumber("bw", bwKiB);
        WriteFloat(j, "iops", iops);
        j.WriteNumber("runtime", runtimeMs);
        j.WriteNumber("total_ios", d.TotalIos);
        j.WriteNumber("short_ios", 0);
        j.WriteNumber("drop_ios", 0);
        var list = o.Percentiles;
        WriteStats(j, "slat_ns", LatencySummary.From(d.SlatNs), o.SlatPercentiles ? list : null, plus);
        WriteStats(j, "clat_ns", LatencySummary.From(d.ClatNs), o.ClatPercentiles ? list : null, plus);
        WriteStats(j, "lat_ns", LatencySummary.From(d.LatNs), o.LatPercentiles ? list : null, plus);
        // From the per-window samples (bwavgtime, iopsavgtime); all 0 without a sample, as fio. bw_agg: the job's share of its group's bytes.
        var bw = d.BwStat ?? new RateStat();
        var iopsStat = d.IopsStat ?? new RateStat();
        j.WriteNumber("bw_min", bw.Min);
        j.WriteNumber("bw_max", bw.Max);
        WriteFloat(j, "bw_agg", groupBytes > 0 ? d.Bytes * 100.0 / groupBytes : 0);
        WriteFloat(j, "bw_mean", bw.Mean);
        WriteFloat(j, "bw_dev", bw.StdDev);
        j.WriteNumber("bw_samples", bw.Samples);
        j.WriteNumber("iops_min", iopsStat.Min);
        j.WriteNumber("iops_max", iopsStat.Max);
        WriteFloat(j, "iops_mean", iopsStat.Mean);
        WriteFloat(j, "iops_stddev", iopsStat.StdDev);
        j.WriteNumber("iops_samples", iopsStat.Samples);
        j.WriteEndObject();
    }

    /// <summary>
    /// fio's <c>{min, max, mean, stddev, N}</c>, with <c>percentile</c> at <paramref name="percentiles"/> when given
    /// and N &gt; 0, and then json+'s <c>bins</c> (fio writes bins only beside percentiles).
    /// </summary>
    public static void WriteStats(Utf8JsonWriter j, string name, LatencySummary s, IReadOnlyList<double>? percentiles, bool plus)
    {
        j.WriteStartObject(name);
        j.WriteNumber("min", s.Min);
        j.WriteNumber("max", s.Max);
        WriteFloat(j, "mean", s.Mean);
        WriteFloat(j, "stddev", s.StdDev);
        j.WriteNumber("N", s.Count);
        if (percentiles is { Count: > 0 } && s.Count > 0)
        {
            j.WriteStartObject("percentile");
            foreach (var p in percentiles) j.WriteNumber(p.ToString("F6", Inv), s.ValueAt(p));
            j.WriteEndObject();
            if (plus)
            {
                j.WriteStartObject("bins");
                foreach (var (value, count) in s.Bins()) j.WriteNumber(value.ToString(Inv), count);
                j.WriteEndObject();
            }
        }
        j.WriteEndObject();
    }

    /// <summary>fio's <c>sync</c> object: we issue no flushes in a job.</summary>
    public static void WriteSync(Utf8JsonWriter j)
    {
        j.WriteStartObject("sync");
        j.WriteNumber("total_ios", 0);
        WriteStats(j, "lat_ns", LatencySummary.From(null), percentiles: null, plus: false);
        j.WriteEndObject();
    }

    /// <summary>fio's <c>latency_ns</c>, <c>latency_us</c>, <c>latency_ms</c> percentages.</summary>
    public static void WriteLatencyBuckets(Utf8JsonWriter j, LatencyBuckets b)
    {
        void Group(string name, long[] counts, string[] labels)
        {
            j.WriteStartObject(name);
            for (int i = 0; i < counts.Length; i++) WriteFloat(j, labels[i], b.Percent(counts[i]));
            j.WriteEndObject();
        }
        Group("latency_ns", b.Ns, LatencyBuckets.SubMsLabels);
        Group("latency_us", b.Us, LatencyBuckets.SubMsLabels);
        Group("latency_ms", b.Ms, LatencyBuckets.MsLabels);
    }

    /// <summary>The engine's own counters, under a key fio tools ignore.</summary>
    public static void WriteOrion(Utf8JsonWriter j, JobResult job)
    {
        j.WriteStartObject("orion");
        j.WriteString("device", job.Device);
        j.WritePropertyName("cpu_ns_per_io");
        if (job.CpuNsPerIo is double ns) j.WriteRawValue(ns.ToString("F3", Inv)); else j.WriteNullValue();
        WriteFloat(j, "usr_cpu_seconds", job.UserCpuSeconds);
        WriteFloat(j, "sys_cpu_seconds", job.SystemCpuSeconds);
        j.WriteNumber("allocated_bytes", job.AllocatedBytes);
        j.WritePropertyName("allocated_bytes_per_io");
        if (job.AllocatedBytesPerIo is double alloc) j.WriteRawValue(alloc.ToString("F3", Inv)); else j.WriteNullValue();
        j.WriteNumber("cpu_count", job.CpuCount);
        j.WriteString("cpu_scope", job.DeviceProcessId is null ? "process" : "initiator");
        // Jobs that ran concurrently on one engine share the process: their cpu times are the whole process's.
        j.WriteNumber("shared_engine_jobs", job.SharedEngineJobs);
        j.WriteNumber("job_start_ms", job.Start.ToUnixTimeMilliseconds());
        j.WriteNumber("job_end_ms", job.End.ToUnixTimeMilliseconds());
        if (job.DeviceProcessId is int pid)
        {
            j.WriteStartObject("device_cpu");
            j.WriteNumber("pid", pid);
            WriteFloat(j, "usr_cpu_seconds", job.DeviceUserCpuSeconds ?? 0);
            WriteFloat(j, "sys_cpu_seconds", job.DeviceSystemCpuSeconds ?? 0);
            j.WritePropertyName("cpu_ns_per_io");
            if (job.DeviceCpuNsPerIo is double dns) j.WriteRawValue(dns.ToString("F3", Inv)); else j.WriteNullValue();
            j.WriteEndObject();
        }
        ErrorSection.WriteJson(j, job);
        j.WriteStartArray("queues");
        foreach (var q in job.Queues) WriteQueue(j, q);
        j.WriteEndArray();
        WriteRate(j, job);
        WriteVerify(j, job);
        j.WriteEndObject();
    }

    /// <summary>
    /// With <c>--rate_iops</c>: the schedule and, per direction with I/O, the latency from each I/O's intended start
    /// (coordinated-omission corrected; fio's <c>clat_ns</c> stays the service time) and how late I/Os started.
    /// </summary>
    private static void WriteRate(Utf8JsonWriter j, JobResult job)
    {
        if (job.Options.RateIops is not int rate) return;
        j.WriteStartObject("rate");
        j.WriteNumber("rate_iops", rate);
        j.WriteString("rate_process", job.Options.RateProcess == RateProcess.Poisson ? "poisson" : "linear");
        j.WriteString("rate_per", "job");
        j.WriteString("lat_intended_ns_from", "intended_start");
        j.WriteNumber("unissued_at_end", job.UnissuedAtEnd);
        foreach (var (name, d) in job.Directions)
        {
            if (!d.HasIo) continue;
            j.WriteStartObject(name);
            j.WriteNumber("scheduled_ios", d.ScheduledIos);
            WriteFloat(j, "mean_start_lag_ns", d.MeanScheduleLagNs);
            j.WriteNumber("max_start_lag_ns", d.ScheduleLagMaxNs);
            WriteStats(j, "lat_intended_ns", LatencySummary.From(d.IntendedLatNs), job.Options.Percentiles, plus: false);
            j.WriteEndObject();
        }
        j.WriteEndObject();
    }

    /// <summary>With <c>--verify</c>: what was checked and the first mismatches, each with expected and found header.</summary>
    private static void WriteVerify(Utf8JsonWriter j, JobResult job)
    {
        if (job.Verify is not { } v) return;
        j.WriteStartObject("verify");
        j.WriteString("type", v.Mode.FioName());
        j.WriteNumber("block_bytes", v.BlockBytes);
        j.WriteNumber("checked", v.Checked);
        j.WriteNumber("checked_inline", v.CheckedInline);
        j.WriteNumber("checked_after_writes", v.CheckedAfterWrites);
        j.WriteBoolean("read_back", v.ReadBackRan);
        j.WriteNumber("mismatches", v.Mismatches);
        j.WriteBoolean("stopped_early", v.StoppedEarly);
        j.WriteStartArray("first_mismatches");
        foreach (var m in v.FirstMismatches)
        {
            j.WriteStartObject();
            j.WriteNumber("offset", m.Offset);
            j.WriteNumber("length", m.Length);
            j.WriteBoolean("after_writes", m.AfterWrites);
            j.WriteStartArray("problems");
            foreach (var p in m.Problems()) j.WriteStringValue(p);
            j.WriteEndArray();
            WriteHeader(j, "expected", m.Expected);
            WriteHeader(j, "found", m.Found);
            j.WriteString("computed_header_crc", "0x" + m.ComputedCrc.ToString("x8", Inv));
            if (!m.ChecksumOk)
            {
                int bytes = Options.VerifyModeExtensions.ChecksumDisplayBytes(m.Mode);
                j.WriteString("stored_checksum", "0x" + m.StoredSum.ToString("x" + bytes * 2, Inv));
                j.WriteString("computed_checksum", "0x" + m.ComputedSum.ToString("x" + bytes * 2, Inv));
            }
            j.WriteEndObject();
        }
        j.WriteEndArray();
        j.WriteEndObject();
    }

    private static void WriteHeader(Utf8JsonWriter j, string name, Verify.VerifyHeader h)
    {
        j.WriteStartObject(name);
        j.WriteString("magic", "0x" + h.Magic.ToString("x4", Inv));
        j.WriteNumber("type", h.Type);
        j.WriteNumber("length", h.Length);
        j.WriteNumber("offset", h.Offset);
        j.WriteString("seed", "0x" + h.Seed.ToString("x16", Inv));
        j.WriteNumber("thread", h.Thread);
        j.WriteNumber("sequence", h.Sequence);
        j.WriteString("header_crc", "0x" + h.Crc.ToString("x8", Inv));
        j.WriteEndObject();
    }

    private static void WriteQueue(Utf8JsonWriter j, QueueReport q)
    {
        j.WriteStartObject();
        j.WriteNumber("queue", q.Queue);
        if (q.Core is int core) j.WriteNumber("core", core); else j.WriteNull("core");
        j.WriteNumber("requests", q.Requests);
        j.WriteNumber("bytes", q.Bytes);
        j.WriteNumber("batches", q.Batches);
        j.WriteNumber("kicks", q.Kicks);
        j.WriteNumber("kicks_suppressed", q.KicksSuppressed);
        j.WriteNumber("sleeps", q.Sleeps);
        j.WriteNumber("syscalls", q.Syscalls);
        j.WriteNumber("interrupts_armed", q.InterruptsArmed);
        WriteFloat(j, "mean_wake_latency_ns", q.MeanWakeLatencyNs);
        j.WriteNumber("polls", q.Polls);
        j.WriteNumber("idle_polls", q.IdlePolls);
        j.WriteNumber("errors", q.Errors);
        j.WriteNumber("timeouts", q.Timeouts);
        j.WriteNumber("queue_resets", q.QueueResets);
        j.WriteNumber("resubmitted", q.Resubmitted);
        j.WriteNumber("bounces", q.Bounces);
        j.WriteNumber("buffer_pool_in_use", q.BufferPoolInUse);
        j.WriteNumber("buffer_pool_capacity", q.BufferPoolCapacity);
        WriteFloat(j, "reactor_idle_fraction", q.ReactorIdleFraction);
        WriteFloat(j, "kicks_per_io", q.KicksPerIo);
        WriteFloat(j, "polls_per_io", q.PollsPerIo);
        WriteFloat(j, "syscalls_per_io", q.SyscallsPerIo);
        WriteFloat(j, "requests_per_batch", q.RequestsPerBatch);
        j.WriteEndObject();
    }
}
