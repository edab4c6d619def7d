using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Orion.Perf.Options;

namespace Orion.Perf.Reporting;

/// <summary>
/// fio 3.33's <c>--output-format=json</c> (and <c>json+</c>) layout, so fio's JSON tooling reads our results. Engine
/// counters go under an extra per-job <c>"orion"</c> key. Latencies are in nanoseconds, as in fio.
/// </summary>
/// <remarks>
/// <c>slat_ns</c> runs from the workload issuing a request to the queue placing it in the ring, <c>clat_ns</c> from
/// there to the completion, <c>lat_ns</c> from issue to completion, as in fio; each has its percentiles (and json+'s
/// <c>bins</c>) when <c>slat_percentiles</c>, <c>clat_percentiles</c> (the default) or <c>lat_percentiles</c> asks.
/// A failed I/O counts in <c>total_ios</c> (fio's total_io_u, so in <c>iops</c>) and the error fields only.
/// Bandwidth and IOPS "samples" are the whole window as one sample. With <c>--rate_iops</c>, the latency from each
/// I/O's intended start (coordinated-omission corrected) is under <c>orion.rate</c>; verification under <c>orion.verify</c>.
/// </remarks>
public static class JsonReport
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Indented = true,
        // fio's keys include "json+"-style characters such as ">=64"; the default encoder would write \u003E.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>
    /// Options that are fio's front-end options rather than job options (fio never lists them under
    /// <c>job options</c>), and orion-perf's own run-wide ones like them.
    /// </summary>
    private static readonly HashSet<string> FrontEndOptions = new(StringComparer.Ordinal)
    {
        "output-format", "output", "eta", "minimal", "report", "audit_log",
    };

    /// <summary>Writes the report for <paramref name="jobs"/> (fio's entries: see <see cref="JobResult.FioEntries"/>); <paramref name="plus"/> adds json+'s latency bins.</summary>
    public static void Write(TextWriter w, IReadOnlyList<JobResult> jobs, bool plus)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(jobs);
        using var stream = new MemoryStream();
        using (var j = new Utf8JsonWriter(stream, WriterOptions))
        {
            var now = jobs.Count == 0 ? DateTimeOffset.Now : jobs.Max(x => x.End);
            j.WriteStartObject();
            j.WriteString("fio version", JobOptionsParser.ToolVersion);
            j.WriteNumber("timestamp", now.ToUnixTimeSeconds());
            j.WriteNumber("timestamp_ms", now.ToUnixTimeMilliseconds());
            j.WriteString("time", FioFormat.CTime(now));
            // fio writes its global options only when there are some; a job's [global] options are in effect for it.
            var globals = jobs.Count == 0 ? [] : Shown(jobs[^1].Options.GlobalGivenOptions);
            if (globals.Count > 0) WriteOptions(j, "global options", globals);
            j.WriteStartArray("jobs");
            foreach (var job in jobs) WriteJob(j, job, plus, GroupBytes(jobs.Where(x => x.GroupId == job.GroupId).ToList()));
            j.WriteEndArray();
            // No disk_util: fio writes it for the kernel's disks under the job's files, and an embedded device has none.
            j.WriteEndObject();
        }
        w.WriteLine(Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length));
    }

    private static long[] GroupBytes(List<JobResult> jobs) =>
        [jobs.Sum(x => x.Read.Bytes), jobs.Sum(x => x.Write.Bytes), jobs.Sum(x => x.Trim.Bytes)];

    private static void WriteJob(Utf8JsonWriter j, JobResult job, bool plus, long[] groupBytes)
    {
        var o = job.Options;
        j.WriteStartObject();
        j.WriteString("jobname", job.Name);
        j.WriteNumber("groupid", job.GroupId);
        j.WriteNumber("error", job.Error);
        j.WriteNumber("eta", 0);
        j.WriteNumber("elapsed", (long)Math.Ceiling((o.RampTime + job.Runtime).TotalSeconds));
        WriteJobOptions(j, o);
        if (o.UnifiedRwReporting != UnifiedRwReporting.Mixed)
        {
            int i = 0;
            foreach (var (name, d) in job.Directions)
                JsonSections.WriteDirection(j, name, d, job.Runtime, groupBytes[i++], plus, o);
            JsonSections.WriteSync(j);
        }
        if (o.UnifiedRwReporting != UnifiedRwReporting.None)
            JsonSections.WriteDirection(j, "mixed", DirectionResult.Sum(job.Directions.Select(x => x.Result)), job.Runtime, groupBytes.Sum(), plus, o);
        j.WriteNumber("job_runtime", FioFormat.Ms(job.Runtime));
        JsonSections.WriteFloat(j, "usr_cpu", job.UserCpuPercent);
        JsonSections.WriteFloat(j, "sys_cpu", job.SystemCpuPercent);
        j.WriteNumber("ctx", job.ContextSwitches);
        j.WriteNumber("majf", job.MajorFaults);
        j.WriteNumber("minf", job.MinorFaults);
        WritePercentages(j, "iodepth_level", DepthReport.Levels(job));
        WritePercentages(j, "iodepth_submit", DepthReport.Submit(job));
        WritePercentages(j, "iodepth_complete", DepthReport.Complete(job));
        JsonSections.WriteLatencyBuckets(j, LatencyBuckets.From(job));
        ErrorSection.WriteFioFields(j, job);         // where fio puts them, and like fio only with continue_on_error
        // fio's units: latency_target in ns, latency_window in us.
        j.WriteNumber("latency_depth", job.LatencyDepth ?? o.IoDepth);
        j.WriteNumber("latency_target", (long)(o.LatencyTarget.Ticks * 100));
        JsonSections.WriteFloat(j, "latency_percentile", o.LatencyPercentile);
        j.WriteNumber("latency_window", (long)o.LatencyWindow.TotalMicroseconds);
        job.SteadyState?.WriteJson(j);
        JsonSections.WriteOrion(j, job);
        j.WriteEndObject();
    }

    private static void WritePercentages(Utf8JsonWriter j, string name, IReadOnlyList<(string Label, double Percent)> values)
    {
        j.WriteStartObject(name);
        foreach (var (label, pct) in values) JsonSections.WriteFloat(j, label, pct);
        j.WriteEndObject();
    }

    /// <summary>The options of <paramref name="given"/> that fio would list: job options given with a value.</summary>
    private static List<KeyValuePair<string, string?>> Shown(IReadOnlyList<KeyValuePair<string, string?>> given) =>
        given.Where(kv => kv.Value is not null && !FrontEndOptions.Contains(kv.Key)).ToList();

    private static void WriteOptions(Utf8JsonWriter j, string name, IReadOnlyList<KeyValuePair<string, string?>> options)
    {
        j.WriteStartObject(name);
        foreach (var (key, value) in options) j.WriteString(key, value);
        j.WriteEndObject();
    }

    /// <summary>
    /// fio's <c>job options</c>: the options the job was given, in order, values as typed (fio's own front-end
    /// options and flags given without a value left out, as fio does; no key at all when none are left). Options
    /// built in code rather than parsed show their effective values.
    /// </summary>
    private static void WriteJobOptions(Utf8JsonWriter j, JobOptions o)
    {
        if (o.GivenOptions is { } given)
        {
            var shown = Shown(given);
            if (shown.Count > 0) WriteOptions(j, "job options", shown);
            return;
        }
        WriteEffectiveOptions(j, o);
    }

    /// <summary>The effective options as fio prints them: strings, sizes and times the way a user types them.</summary>
    private static void WriteEffectiveOptions(Utf8JsonWriter j, JobOptions o)
    {
        static string N(long v) => v.ToString(CultureInfo.InvariantCulture);
        j.WriteStartObject("job options");
        j.WriteString("name", o.Name);
        j.WriteString("rw", o.Rw.FioName());
        if (o.BlockSizeSplit is not null || o.BlockSizeSplits3 is not null) j.WriteString("bssplit", o.BsSplitText);
        else j.WriteString("bs", FioSize.Format(o.BlockSize));
        j.WriteString("iodepth", N(o.IoDepth));
        if (o.NumJobs != 1) j.WriteString("numjobs", N(o.NumJobs));
        if (o.Runtime is TimeSpan rt) j.WriteString("runtime", FioTime.Format(rt));
        if (o.TimeBased) j.WriteString("time_based", "1");
        if (o.RampTime != TimeSpan.Zero) j.WriteString("ramp_time", FioTime.Format(o.RampTime));
        if (o.Size is long size) j.WriteString("size", FioSize.Format(size));
        if (o.Offset != 0) j.WriteString("offset", FioSize.Format(o.Offset));
        if (o.Rw.IsMixed()) j.WriteString("rwmixread", N(o.RwMixRead));
        if (o.NumberIos is long ios) j.WriteString("number_ios", N(ios));
        if (o.RandomDistribution.Kind != RandomDistributionKind.Random) j.WriteString("random_distribution", o.RandomDistribution.ToString());
        if (o.NoRandomMap) j.WriteString("norandommap", "1");
        if (!o.RandRepeat) j.WriteString("randrepeat", "0");
        if (o.RandSeed is ulong seed) j.WriteString("randseed", seed.ToString(CultureInfo.InvariantCulture));
        j.WriteString("direct", o.Direct ? "1" : "0");
        if (o.RateIops is int rate)
        {
            j.WriteString("rate_iops", N(rate));
            j.WriteString("rate_process", o.RateProcess == RateProcess.Poisson ? "poisson" : "linear");
        }
        if (o.Verify != VerifyMode.None)
        {
            j.WriteString("verify", o.Verify.FioName());
            if (o.VerifyFatal) j.WriteString("verify_fatal", "1");
            if (!o.DoVerify) j.WriteString("do_verify", "0");
        }
        if (o.ContinueOnError != ContinueOnError.None) j.WriteString("continue_on_error", o.ContinueOnError.FioName());
        if (o.RequestTimeout is TimeSpan timeout) j.WriteString("request_timeout", FioTime.Format(timeout));
        if (o.TimeoutPolicy != Orion.Pmd.Engine.TimeoutPolicy.Fail) j.WriteString("timeout_policy", "retry");
        if (!o.RecoverQueues) j.WriteString("recover_queues", "0");
        if (o.CpusAllowed is { } cpus) j.WriteString("cpus_allowed", CpuList.Format(cpus));
        if (o.Stonewall) j.WriteString("stonewall", "1");
        if (o.NewGroup) j.WriteString("new_group", "1");
        if (o.GroupReporting) j.WriteString("group_reporting", "1");
        j.WriteString("device", o.Device);
        j.WriteEndObject();
    }
}
