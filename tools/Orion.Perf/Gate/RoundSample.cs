using System.Globalization;
using System.Text.Json;

namespace Orion.Perf.Gate;

/// <summary>
/// One run of one side: each metric's value keyed as <c>"read iops"</c> (per direction) or <c>"alloc"</c> (per job),
/// and per direction the clat sample count that decides whether a percentile is judged.
/// </summary>
internal sealed record RoundSample(IReadOnlyDictionary<string, double> Values, IReadOnlyDictionary<string, long> ClatSamples)
{
    /// <summary>The key of a metric in <see cref="Values"/>.</summary>
    public static string Key(MetricSpec m, string? direction) => m.PerDirection ? $"{direction} {m.Name}" : m.Name;

    /// <summary>
    /// Reads a report printed by a side: fio-shaped JSON (orion-perf's or fio's <c>--output-format=json</c>; text
    /// before the opening brace, such as a benchmark's banner, is skipped). Fails, saying why, on no JSON, no jobs,
    /// no I/O, or any failed I/O (<c>error</c>, <c>total_err</c>, a direction's or orion's error count): a side whose
    /// I/Os failed did not run the workload, and the gate must not judge it.
    /// </summary>
    public static bool TryParse(string text, out RoundSample sample, out string error)
    {
        sample = new(new Dictionary<string, double>(), new Dictionary<string, long>());
        int start = JsonStart(text);
        if (start < 0) { error = "printed no JSON (give the command --output-format=json)"; return false; }
        string json = text[start..];
        if (!PerfJson.TryParse(json, "its output", out var directions, out error)) return false;
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { error = $"its output is not JSON: {e.Message}"; return false; }
        var values = new Dictionary<string, double>();
        var samples = new Dictionary<string, long>();
        using (doc)
        {
            var jobs = doc.RootElement.GetProperty("jobs");
            if (FailedIos(jobs) is { } failure) { error = failure; return false; }
            foreach (var (dir, d) in directions)
            {
                values[$"{dir} iops"] = d.Iops;
                if (double.IsFinite(d.P50Ns)) values[$"{dir} p50"] = d.P50Ns;
                if (double.IsFinite(d.P99Ns)) values[$"{dir} p99"] = d.P99Ns;
                if (double.IsFinite(d.P999Ns)) values[$"{dir} p99.9"] = d.P999Ns;
                samples[dir] = d.Samples;
            }
            ReadCounted(jobs, values);
        }
        sample = new(values, samples);
        error = "";
        return true;
    }

    /// <summary>Where the JSON object starts: the first line that begins with '{'.</summary>
    private static int JsonStart(string text)
    {
        for (int i = 0; i < text.Length; i = text.IndexOf('\n', i) is int nl and >= 0 ? nl + 1 : text.Length)
        {
            int j = i;
            while (j < text.Length && text[j] is ' ' or '\t' or '\r') j++;
            if (j < text.Length && text[j] == '{') return j;
        }
        return -1;
    }

    private static string? FailedIos(JsonElement jobs)
    {
        int index = 0;
        foreach (var job in jobs.EnumerateArray())
        {
            index++;
            string name = job.TryGetProperty("jobname", out var n) && n.ValueKind == JsonValueKind.String ? $"job '{n.GetString()}'" : $"job {index}";
            if (Number(job, "error") is double e && e != 0) return $"{name} ended with error {e.ToString(CultureInfo.InvariantCulture)} (fio's err=): its I/Os failed";
            if (Number(job, "total_err") is double t && t > 0) return $"{name} had {t.ToString(CultureInfo.InvariantCulture)} failed I/O(s) (total_err)";
            foreach (var dir in GateCatalog.Directions)
                if (job.TryGetProperty(dir, out var d) && Number(d, "errors") is double de && de > 0)
                    return $"{name} had {de.ToString(CultureInfo.InvariantCulture)} failed {dir}(s)";
            if (job.TryGetProperty("orion", out var o) && o.TryGetProperty("errors", out var oe) && Number(oe, "total") is double ot && ot > 0)
                return $"{name} had {ot.ToString(CultureInfo.InvariantCulture)} failed I/O(s) (orion.errors.total)";
        }
        return null;
    }

    /// <summary>
    /// The counted metrics of orion-perf's <c>orion</c> section, per I/O over all jobs that have one (each job's
    /// per-I/O figures weighted by its I/Os; the queues' counters summed). Absent from fio's reports, and from older
    /// orion-perf builds for the figures they did not write yet: then the metric is simply not in the sample.
    /// </summary>
    private static void ReadCounted(JsonElement jobs, Dictionary<string, double> values)
    {
        double cpuSum = 0, cpuIos = 0, allocSum = 0, allocIos = 0;
        long requests = 0, kicks = 0, syscalls = 0, polls = 0;
        bool queues = false;
        foreach (var job in jobs.EnumerateArray())
        {
            if (!job.TryGetProperty("orion", out var o) || o.ValueKind != JsonValueKind.Object) continue;
            double ios = GateCatalog.Directions.Sum(d => job.TryGetProperty(d, out var x) && Number(x, "total_ios") is double v ? v : 0);
            if (ios <= 0) continue;
            if (Number(o, "cpu_ns_per_io") is double cpu) { cpuSum += cpu * ios; cpuIos += ios; }
            if (Number(o, "allocated_bytes_per_io") is double alloc) { allocSum += alloc * ios; allocIos += ios; }
            if (!o.TryGetProperty("queues", out var qs) || qs.ValueKind != JsonValueKind.Array) continue;
            foreach (var q in qs.EnumerateArray())
            {
                if (Number(q, "requests") is not double r || Number(q, "kicks") is not double k) continue;
                queues = true;
                requests += (long)r;
                kicks += (long)k;
                // Older builds wrote no "syscalls": kicks and sleeps are what it counts.
                syscalls += (long)(Number(q, "syscalls") ?? k + (Number(q, "sleeps") ?? 0));
                polls += (long)(Number(q, "polls") ?? 0);
            }
        }
        if (cpuIos > 0) values["cpu"] = cpuSum / cpuIos;
        if (allocIos > 0) values["alloc"] = allocSum / allocIos;
        if (queues && requests > 0)
        {
            values["kicks"] = (double)kicks / requests;
            values["syscalls"] = (double)syscalls / requests;
            values["polls"] = (double)polls / requests;
        }
    }

    private static double? Number(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d) && double.IsFinite(d) ? d : null;
}
