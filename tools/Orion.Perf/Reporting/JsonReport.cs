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
/// there to the completion, <c>lat_ns</c> from issue to completion, as in fio. What we do not measure is written the
/// way fio writes a metric it did not collect (N=0; no <c>iodepth_submit</c>/<c>iodepth_complete</c>). Bandwidth and
/// IOPS "samples" are the whole window as one sample. With <c>--rate_iops</c>, the latency from each I/O's intended
/// start (coordinated-omission corrected) is under <c>orion.rate</c>; verification results under <c>orion.verify</c>.
/// </remarks>
public static class JsonReport
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Indented = true,
        // fio's keys include "json+"-style characters such as ">=64"; the default encoder would write \u003E.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Writes the report for <paramref name="jobs"/>; <paramref name="plus"/> adds json+'s latency bins.</summary>
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
            j.WriteStartObject("global options");
            j.WriteEndObject();
            j.WriteStartArray("jobs");
            foreach (var job in jobs) WriteJob(j, job, plus, GroupBytes(jobs.Where(x => x.GroupId == job.GroupId).ToList()));
            j.WriteEndArray();
            j.WriteStartArray("disk_util");
            j.WriteEndArray();
            j.WriteEndObject();
        }
        w.WriteLine(Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length));
    }

    /// <summary>
    /// fio's IO depths distribution. The workload refills each completion at once, so every I/O is issued at
    /// --iodepth; all of it falls in that depth's bucket.
    /// </summary>
    internal static IReadOnlyList<(string Label, double Percent)> DepthLevels(JobResult job)
    {
        string[] labels = ["1", "2", "4", "8", "16", "32", ">=64"];
        int d = job.Options.IoDepth;
        int index = d switch { <= 1 => 0, < 4 => 1, < 8 => 2, < 16 => 3, < 32 => 4, < 64 => 5, _ => 6 };
        return labels.Select((l, i) => (l, i == index && job.TotalIos > 0 ? 100.0 : 0.0)).ToList();
    }

    private static long[] GroupBytes(List<JobResult> jobs) =>
        [jobs.Sum(x => x.Read.Bytes), jobs.Sum(x => x.Write.Bytes), jobs.Sum(x => x.Trim.Bytes)];

    private static void WriteJob(Utf8JsonWriter j, JobResult job, bool plus, long[] groupBytes)
    {
        j.WriteStartObject();
        j.WriteString("jobname", job.Name);
        j.WriteNumber("groupid", job.GroupId);
        j.WriteNumber("error", job.Error);
        j.WriteNumber("eta", 0);
        j.WriteNumber("elapsed", (long)Math.Ceiling((job.Options.RampTime + job.Runtime).TotalSeconds));
        WriteJobOptions(j, job.Options);
        int i = 0;
        foreach (var (name, d) in job.Directions)
            JsonSections.WriteDirection(j, name, d, job.Runtime, groupBytes[i++], plus);
        JsonSections.WriteSync(j);
        j.WriteNumber("job_runtime", FioFormat.Ms(job.Runtime));
        JsonSections.WriteFloat(j, "usr_cpu", job.UserCpuPercent);
        JsonSections.WriteFloat(j, "sys_cpu", job.SystemCpuPercent);
        j.WriteNumber("ctx", job.ContextSwitches);
        j.WriteNumber("majf", job.MajorFaults);
        j.WriteNumber("minf", job.MinorFaults);
        j.WriteStartObject("iodepth_level");
        foreach (var (label, pct) in DepthLevels(job)) JsonSections.WriteFloat(j, label, pct);
        j.WriteEndObject();
        JsonSections.WriteLatencyBuckets(j, LatencyBuckets.From(job));
        ErrorSection.WriteFioFields(j, job);         // where fio puts them, and like fio only with continue_on_error
        j.WriteNumber("latency_depth", job.Options.IoDepth);
        j.WriteNumber("latency_target", 0);
        JsonSections.WriteFloat(j, "latency_percentile", 100);
        j.WriteNumber("latency_window", 0);
        JsonSections.WriteOrion(j, job);
        j.WriteEndObject();
    }

    /// <summary>The effective options as fio prints them: strings, sizes and times the way a user types them.</summary>
    private static void WriteJobOptions(Utf8JsonWriter j, JobOptions o)
    {
        static string N(long v) => v.ToString(CultureInfo.InvariantCulture);
        j.WriteStartObject("job options");
        j.WriteString("name", o.Name);
        j.WriteString("rw", o.Rw.FioName());
        if (o.BlockSizeSplit is { } split)
        {
            // fio's key for the split, and "bs" showing it too, so that a reader of "bs" sees the sizes were mixed.
            j.WriteString("bs", BlockSizeSplit.Format(split));
            j.WriteString("bssplit", BlockSizeSplit.Format(split));
        }
        else j.WriteString("bs", FioSize.Format(o.BlockSize));
        j.WriteString("iodepth", N(o.IoDepth));
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
        j.WriteString("device", o.Device);
        j.WriteEndObject();
    }
}
