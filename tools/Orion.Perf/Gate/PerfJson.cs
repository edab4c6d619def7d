using System.Globalization;
using System.Text.Json;

namespace Orion.Perf.Gate;

/// <summary>
/// Reads the gated metrics out of an orion-perf (or fio) JSON report: per direction with I/O, <c>iops</c>,
/// <c>clat_ns.percentile["50.000000"|"99.000000"|"99.900000"]</c> and <c>clat_ns.N</c>. With several jobs, IOPS and
/// samples are summed and each percentile is the sample-weighted mean of the jobs' (an approximation; a single job,
/// or fio's <c>--group_reporting</c>, is exact).
/// </summary>
internal static class PerfJson
{
    public static bool TryRead(string path, out Dictionary<string, DirectionMetrics> metrics, out string error)
    {
        metrics = [];
        error = "";
        string text;
        try
        {
            if (!File.Exists(path)) { error = $"{path}: no such file"; return false; }
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"{path}: {e.Message}";
            return false;
        }
        return TryParse(text, path, out metrics, out error);
    }

    public static bool TryParse(string text, string source, out Dictionary<string, DirectionMetrics> metrics, out string error)
    {
        metrics = [];
        error = "";
        const string NotAReport = "not an orion-perf/fio JSON report (expected a \"jobs\" array as written by --output-format=json)";
        JsonDocument doc;
        try { doc = JsonDocument.Parse(text); }
        catch (JsonException e)
        {
            error = $"{source}: not JSON ({e.Message}); {NotAReport}";
            return false;
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("jobs", out var jobs) || jobs.ValueKind != JsonValueKind.Array
                || jobs.GetArrayLength() == 0 || jobs.EnumerateArray().Any(j => j.ValueKind != JsonValueKind.Object))
            {
                error = $"{source}: {NotAReport}";
                return false;
            }
            foreach (var dir in new[] { "read", "write", "trim" })
            {
                double iops = 0, p50 = 0, p99 = 0, p999 = 0;
                long samples = 0;
                bool any = false, missingPercentile = false;
                foreach (var job in jobs.EnumerateArray())
                {
                    if (!job.TryGetProperty(dir, out var d) || d.ValueKind != JsonValueKind.Object) continue;
                    double jobIops = Number(d, "iops");
                    long ios = d.TryGetProperty("total_ios", out var t) && t.TryGetInt64(out long n) ? n : (long)jobIops;
                    if (!(jobIops > 0) || ios <= 0) continue;
                    any = true;
                    iops += jobIops;
                    if (!d.TryGetProperty("clat_ns", out var clat) || clat.ValueKind != JsonValueKind.Object) continue;
                    long jobN = clat.TryGetProperty("N", out var nEl) && nEl.TryGetInt64(out long nv) ? nv : 0;
                    if (jobN <= 0) continue;
                    if (!clat.TryGetProperty("percentile", out var pct) || pct.ValueKind != JsonValueKind.Object) { missingPercentile = true; continue; }
                    double a = Number(pct, "50.000000"), b = Number(pct, "99.000000"), c = Number(pct, "99.900000");
                    if (double.IsNaN(a) || double.IsNaN(b) || double.IsNaN(c)) missingPercentile = true;
                    p50 += a * jobN; p99 += b * jobN; p999 += c * jobN;
                    samples += jobN;
                }
                if (!any) continue;
                metrics[dir] = samples > 0 && !missingPercentile
                    ? new DirectionMetrics(iops, p50 / samples, p99 / samples, p999 / samples, samples)
                    : new DirectionMetrics(iops, double.NaN, double.NaN, double.NaN, missingPercentile ? 0 : samples);
            }
            if (metrics.Count == 0)
            {
                error = $"{source}: the report has no direction with I/O (read, write or trim with iops > 0)";
                return false;
            }
            return true;
        }
    }

    private static double Number(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d) ? d
        : obj.TryGetProperty(name, out v) && v.ValueKind == JsonValueKind.String && double.TryParse(v.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out d) ? d
        : double.NaN;
}
