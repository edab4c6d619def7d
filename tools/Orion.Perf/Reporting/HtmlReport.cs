using System.Globalization;
using System.Net;
using System.Text;
using HdrHistogram;
using Orion.Perf.Options;

namespace Orion.Perf.Reporting;

/// <summary>
/// <c>--report=FILE.html</c>: one self-contained HTML page (inline CSS and SVG; no scripts, fonts or anything fetched)
/// with a summary table of every job and direction, and per job the classic HdrHistogram percentile plot of
/// completion latency (x: 0%, 90%, 99%, 99.9%, ... on a log scale of 1/(1-p)), IOPS over time and p99 clat over time
/// from the job's intervals. Everything that comes from the user (job names, device strings, paths) is HTML-escaped.
/// </summary>
public static class HtmlReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private static readonly string[] Colors = ["#1f77b4", "#d62728", "#2ca02c"];

    /// <summary>Writes the page for <paramref name="jobs"/>.</summary>
    public static void Write(TextWriter w, IReadOnlyList<JobResult> jobs)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(jobs);
        var generated = jobs.Count == 0 ? DateTimeOffset.Now : jobs.Max(j => j.End);
        w.WriteLine("<!DOCTYPE html>");
        w.WriteLine("<html lang=\"en\"><head><meta charset=\"utf-8\">");
        w.WriteLine($"<title>orion-perf report: {E(string.Join(", ", jobs.Select(j => j.Name)))}</title>");
        w.WriteLine("""
            <style>
            body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em;color:#222;background:#fff}
            h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}
            table{border-collapse:collapse;font-size:.85em}th,td{border:1px solid #ccc;padding:.25em .5em;text-align:right;white-space:nowrap}
            th{background:#f2f2f2}td.t{text-align:left}td.dev{text-align:left;white-space:normal;max-width:28em}
            .charts{display:flex;flex-wrap:wrap;gap:1em}svg{background:#fcfcfc;border:1px solid #ddd}
            svg text{font-size:11px;fill:#333}.grid{stroke:#e4e4e4}.axis{stroke:#888}.note{color:#666;font-size:.85em}
            </style></head><body>
            """);
        w.WriteLine("<h1>orion-perf report</h1>");
        w.WriteLine($"<p class=\"note\">{E(JobOptionsParser.ToolVersion)}, {jobs.Count.ToString(Inv)} job{(jobs.Count == 1 ? "" : "s")}, finished {E(generated.ToString("yyyy-MM-dd HH:mm:ss zzz", Inv))}. " +
                    "Latencies are completion latencies (clat: placed in the ring to completed).</p>");
        WriteSummary(w, jobs);
        for (int i = 0; i < jobs.Count; i++) WriteJob(w, jobs[i], i);
        w.WriteLine("</body></html>");
    }

    private static void WriteSummary(TextWriter w, IReadOnlyList<JobResult> jobs)
    {
        w.WriteLine("<h2>Summary</h2>");
        w.WriteLine("<table class=\"summary\"><thead><tr><th>job</th><th>group</th><th>rw</th><th>bs</th><th>iodepth</th><th>numjobs</th><th>dir</th>" +
                    "<th>IOPS</th><th>BW</th><th>clat p50</th><th>clat p99</th><th>clat p99.9</th><th>clat max</th><th>errors</th>" +
                    "<th>kicks/io</th><th>polls/io</th><th>req/batch</th><th>cpu/io</th><th>device</th></tr></thead><tbody>");
        foreach (var job in jobs)
        {
            var dirs = job.Directions.Where(d => d.Result.HasIo).ToList();
            if (dirs.Count == 0) dirs = [("none", new DirectionResult())];
            long requests = job.Queues.Sum(q => q.Requests);
            string PerIo(long v) => requests == 0 ? "" : ((double)v / requests).ToString("0.000", Inv);
            string perBatch = job.Queues.Sum(q => q.Batches) is long b && b > 0 ? ((double)requests / b).ToString("0.0", Inv) : "";
            string cpu = job.CpuNsPerIo is double ns ? Latency(ns) : "";
            foreach (var (name, d) in dirs)
            {
                double seconds = Math.Max(1e-3, job.Runtime.TotalSeconds);
                var clat = LatencySummary.From(d.ClatNs);
                w.Write("<tr class=\"job\">");
                w.Write($"<td class=\"t\">{E(job.Name)}</td><td>{job.GroupId.ToString(Inv)}</td><td class=\"t\">{E(job.Options.Rw.FioName())}</td>");
                w.Write($"<td>{E(BlockSizes(job.Options))}</td><td>{job.Options.IoDepth.ToString(Inv)}</td><td>{job.Options.NumJobs.ToString(Inv)}</td><td class=\"t\">{E(name)}</td>");
                w.Write($"<td>{E(FioFormat.Num2Str((ulong)(d.TotalIos / seconds), FioFormat.SigFigs, pow2: false, FioFormat.Unit.None))}</td>");
                w.Write($"<td>{E(FioFormat.Num2Str((ulong)(d.Bytes / seconds), FioFormat.SigFigs, pow2: true, FioFormat.Unit.BytePerSec))}</td>");
                w.Write(clat.Count == 0 ? "<td></td><td></td><td></td><td></td>"
                    : $"<td>{Latency(clat.ValueAt(50))}</td><td>{Latency(clat.ValueAt(99))}</td><td>{Latency(clat.ValueAt(99.9))}</td><td>{Latency(clat.Max)}</td>");
                w.Write($"<td>{d.Errors.ToString(Inv)}</td>");
                w.Write($"<td>{PerIo(job.Queues.Sum(q => q.Kicks))}</td><td>{PerIo(job.Queues.Sum(q => q.Polls))}</td><td>{perBatch}</td><td>{E(cpu)}</td>");
                w.WriteLine($"<td class=\"dev\">{E(job.Device)}</td></tr>");
            }
        }
        w.WriteLine("</tbody></table>");
    }

    private static void WriteJob(TextWriter w, JobResult job, int index)
    {
        w.WriteLine($"<h2>Job {(index + 1).ToString(Inv)}: {E(job.Name)}</h2>");
        w.WriteLine($"<p class=\"note\">rw={E(job.Options.Rw.FioName())}, bs={E(BlockSizes(job.Options))}, iodepth={job.Options.IoDepth.ToString(Inv)}, " +
                    $"numjobs={job.Options.NumJobs.ToString(Inv)}, runtime={FioFormat.Ms(job.Runtime).ToString(Inv)} ms, device={E(job.Device)}" +
                    (job.HistLogPath is { } log ? $", interval log {E(log)}" : "") + "</p>");
        w.WriteLine("<div class=\"charts\">");
        var series = job.Directions.Select((d, i) => (d.Name, d.Result.ClatNs, Color: Colors[i]))
                        .Where(s => s.ClatNs is { TotalCount: > 0 }).Select(s => (s.Name, s.ClatNs!, s.Color)).ToList();
        w.WriteLine(PercentilePlot($"{job.Name}: clat by percentile", series));
        w.WriteLine(OverTime($"{job.Name}: IOPS over time ({job.IntervalMs.ToString(Inv)} ms intervals)", job, d => d.Ios, iops: true));
        w.WriteLine(OverTime($"{job.Name}: clat p99 over time", job, d => d.P99ClatNs, iops: false));
        w.WriteLine("</div>");
    }

    /// <summary>
    /// The percentile distribution plot: x is log10(1/(1-p)), labelled 0%, 90%, 99%, 99.9%...; y is the latency at
    /// that percentile, linear from 0.
    /// </summary>
    internal static string PercentilePlot(string title, IReadOnlyList<(string Name, LongHistogram Histogram, string Color)> series)
    {
        if (series.Count == 0) return Empty(title, "no completed I/O");
        long maxCount = series.Max(s => s.Histogram.TotalCount);
        int decades = Math.Clamp((int)Math.Ceiling(Math.Log10(Math.Max(10, maxCount))), 2, 7);
        var lines = new List<(string Name, string Color, List<(double X, double Y)> Points)>();
        foreach (var (name, h, color) in series)
        {
            var points = new List<(double, double)>();
            for (double x = 0; x <= decades + 1e-9; x += 0.02)
            {
                double p = Math.Min(100, 100 * (1 - Math.Pow(10, -x)));
                points.Add((x, h.GetValueAtPercentile(p)));
            }
            lines.Add((name, color, points));
        }
        var xTicks = Enumerable.Range(0, decades + 1).Select(k => ((double)k, PercentLabel(k))).ToList();
        return Chart(title, lines, 0, decades, xTicks, latency: true, xTitle: "percentile");
    }

    private static string OverTime(string title, JobResult job, Func<IntervalDirection, long> value, bool iops)
    {
        if (job.Intervals.Count == 0) return Empty(title, "no intervals recorded");
        var lines = new List<(string Name, string Color, List<(double X, double Y)> Points)>();
        for (int d = 0; d < 3; d++)
        {
            if (!job.Directions.ElementAt(d).Result.HasIo) continue;
            var points = new List<(double, double)>();
            foreach (var s in job.Intervals)
            {
                var dir = s.Directions.ElementAt(d).Result;
                double y = iops ? (s.LengthSeconds <= 0 ? 0 : dir.Ios / s.LengthSeconds) : value(dir);
                if (!iops && dir.Ios == 0) continue;           // no latency without I/O; a gap, not a zero
                points.Add((s.StartSeconds, y));
                points.Add((s.StartSeconds + s.LengthSeconds, y));
            }
            lines.Add((job.Directions.ElementAt(d).Name, Colors[d], points));
        }
        double end = job.Intervals.Max(s => s.StartSeconds + s.LengthSeconds);
        var xTicks = NiceTicks(end).Select(t => (t, Number(t) + "s")).ToList();
        return Chart(title, lines, 0, Math.Max(end, 1e-3), xTicks, latency: !iops, xTitle: "time");
    }

    private static string Chart(string title, List<(string Name, string Color, List<(double X, double Y)> Points)> lines, double xMin, double xMax,
                                List<(double Value, string Label)> xTicks, bool latency, string xTitle)
    {
        const int width = 580, height = 300, left = 64, right = 44, top = 28, bottom = 40;
        double yMaxRaw = lines.SelectMany(l => l.Points).Select(p => p.Y).DefaultIfEmpty(0).Max();
        var (yMax, yTicks) = NiceAxis(yMaxRaw);
        double Px(double x) => left + (x - xMin) / (xMax - xMin) * (width - left - right);
        double Py(double y) => height - bottom - y / yMax * (height - top - bottom);
        string F(double v) => v.ToString("0.#", Inv);
        var sb = new StringBuilder();
        sb.Append($"<svg width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{E(title)}\">");
        sb.Append($"<text x=\"{left}\" y=\"16\" style=\"font-weight:bold\">{E(title)}</text>");
        foreach (var t in yTicks)
        {
            sb.Append($"<line class=\"grid\" x1=\"{left}\" x2=\"{width - right}\" y1=\"{F(Py(t))}\" y2=\"{F(Py(t))}\"/>");
            sb.Append($"<text x=\"{left - 4}\" y=\"{F(Py(t) + 4)}\" text-anchor=\"end\">{E(latency ? Latency(t) : Number(t))}</text>");
        }
        foreach (var (value, label) in xTicks)
        {
            sb.Append($"<line class=\"grid\" x1=\"{F(Px(value))}\" x2=\"{F(Px(value))}\" y1=\"{top}\" y2=\"{height - bottom}\"/>");
            sb.Append($"<text x=\"{F(Px(value))}\" y=\"{height - bottom + 14}\" text-anchor=\"middle\">{E(label)}</text>");
        }
        sb.Append($"<line class=\"axis\" x1=\"{left}\" x2=\"{width - right}\" y1=\"{height - bottom}\" y2=\"{height - bottom}\"/>");
        sb.Append($"<line class=\"axis\" x1=\"{left}\" x2=\"{left}\" y1=\"{top}\" y2=\"{height - bottom}\"/>");
        sb.Append($"<text x=\"{(left + width - right) / 2}\" y=\"{height - 6}\" text-anchor=\"middle\">{E(xTitle)}</text>");
        int legend = 0;
        foreach (var (name, color, points) in lines)
        {
            if (points.Count > 0)
                sb.Append($"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.6\" points=\"{string.Join(' ', points.Select(p => F(Px(p.X)) + "," + F(Py(p.Y))))}\"/>");
            int lx = width - right - 70, ly = top + 6 + 14 * legend++;
            sb.Append($"<line x1=\"{lx}\" x2=\"{lx + 16}\" y1=\"{ly}\" y2=\"{ly}\" stroke=\"{color}\" stroke-width=\"3\"/>");
            sb.Append($"<text x=\"{lx + 20}\" y=\"{ly + 4}\">{E(name)}</text>");
        }
        sb.Append("</svg>");
        return sb.ToString();
    }

    private static string Empty(string title, string why) =>
        $"<svg width=\"560\" height=\"60\" role=\"img\" aria-label=\"{E(title)}\"><text x=\"10\" y=\"24\" style=\"font-weight:bold\">{E(title)}</text>" +
        $"<text x=\"10\" y=\"44\">{E(why)}</text></svg>";

    /// <summary>0%, 90%, 99%, 99.9%, ... for 0, 1, 2, 3 decades.</summary>
    internal static string PercentLabel(int decades) => decades == 0 ? "0%" : (100 * (1 - Math.Pow(10, -decades))).ToString("0.##########", Inv) + "%";

    /// <summary>A round axis maximum at or above <paramref name="max"/> and its ticks (1, 2 or 5 times a power of ten apart).</summary>
    internal static (double Max, List<double> Ticks) NiceAxis(double max)
    {
        if (!(max > 0)) max = 1;
        double raw = max / 5;
        double mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1, 2, 5, 10 }.Select(m => m * mag).First(s => s >= raw);
        double top = Math.Ceiling(max / step) * step;
        var ticks = new List<double>();
        for (double t = 0; t <= top + step / 2; t += step) ticks.Add(t);
        return (top, ticks);
    }

    private static List<double> NiceTicks(double max) => NiceAxis(max).Ticks.Where(t => t <= max + 1e-9).ToList();

    /// <summary>A latency in nanoseconds, in the unit that keeps it short: <c>850ns</c>, <c>12.4µs</c>, <c>3.31ms</c>.</summary>
    internal static string Latency(double ns) => ns switch
    {
        < 1_000 => ns.ToString("0", Inv) + "ns",
        < 1_000_000 => (ns / 1_000).ToString("0.##", Inv) + "µs",
        < 1_000_000_000 => (ns / 1_000_000).ToString("0.##", Inv) + "ms",
        _ => (ns / 1_000_000_000).ToString("0.##", Inv) + "s",
    };

    private static string Number(double v) => v switch
    {
        >= 1_000_000_000 => (v / 1_000_000_000).ToString("0.##", Inv) + "G",
        >= 1_000_000 => (v / 1_000_000).ToString("0.##", Inv) + "M",
        >= 10_000 => (v / 1_000).ToString("0.##", Inv) + "k",
        _ => v.ToString("0.##", Inv),
    };

    private static string BlockSizes(JobOptions o) =>
        o.BlockSizeSplit is not null || o.BlockSizeSplits3 is not null ? o.BsSplitText : FioSize.Format(o.BlockSize);

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
