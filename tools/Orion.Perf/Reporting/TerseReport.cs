using System.Globalization;
using System.Text;
using Orion.Perf.Options;

namespace Orion.Perf.Reporting;

/// <summary>
/// fio's terse output, version 3 (<c>--output-format=terse</c>, <c>--minimal</c>): one line per report entry of
/// semicolon-separated fields, laid out as fio 3.33's show_thread_status_terse_all, which is what scripts parse
/// (see fio's HOWTO, "Terse output"). Latencies are in microseconds and bandwidth in KiB/s, as fio writes them.
/// </summary>
public static class TerseReport
{
    /// <summary>The terse version written (fio's default <c>--terse-version=3</c>).</summary>
    public const int Version = 3;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Writes one line for each entry of <paramref name="jobs"/> (fio's entries: see <see cref="JobResult.FioEntries"/>).</summary>
    public static void Write(TextWriter w, IReadOnlyList<JobResult> jobs)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(jobs);
        foreach (var job in jobs)
        {
            var group = jobs.Where(x => x.GroupId == job.GroupId).ToList();
            w.WriteLine(Line(job, group));
        }
    }

    /// <summary>The terse line of <paramref name="job"/>, whose reporting group is <paramref name="group"/>.</summary>
    internal static string Line(JobResult job, IReadOnlyList<JobResult> group)
    {
        var o = job.Options;
        var sb = new StringBuilder();
        sb.Append(Inv, $"{Version};{JobOptionsParser.ToolVersion};{job.Name};{job.GroupId};{job.Error}");
        var mixed = DirectionResult.Sum(job.Directions.Select(x => x.Result));
        long GroupAgg(Func<JobResult, DirectionResult> of)
        {
            // fio's rs->agg: the group's bytes over its longest window, bytes per second.
            long maxRun = group.Where(x => of(x).HasIo).Select(x => FioFormat.Ms(x.Runtime)).DefaultIfEmpty(0).Max();
            return maxRun <= 0 ? 0 : group.Sum(x => of(x).Bytes) * 1000 / maxRun;
        }
        if (o.UnifiedRwReporting == UnifiedRwReporting.Mixed)
            Direction(sb, mixed, job, GroupAgg(x => DirectionResult.Sum(x.Directions.Select(d => d.Result))));
        else
        {
            // Version 3 has reads and writes only (trims came with version 4).
            Direction(sb, job.Read, job, GroupAgg(x => x.Read));
            Direction(sb, job.Write, job, GroupAgg(x => x.Write));
            if (o.UnifiedRwReporting == UnifiedRwReporting.Both)
                Direction(sb, mixed, job, GroupAgg(x => DirectionResult.Sum(x.Directions.Select(d => d.Result))));
        }
        sb.Append(Inv, $";{job.UserCpuPercent:F6}%;{job.SystemCpuPercent:F6}%;{job.ContextSwitches};{job.MajorFaults};{job.MinorFaults}");
        foreach (var (_, pct) in DepthReport.Levels(job)) sb.Append(';').Append(FioFormat.F(pct, 3, 1)).Append('%');
        // fio's stat_calc_lat_nu: the nanosecond buckets fold into the first microsecond one.
        var b = LatencyBuckets.From(job);
        double ns = b.Ns.Sum() * 100.0 / Math.Max(1, b.Of);
        for (int i = 0; i < b.Us.Length; i++) sb.Append(';').Append(FioFormat.F(Raw(b.Us[i], b) + (i == 0 ? ns : 0), 3, 2)).Append('%');
        for (int i = 0; i < b.Ms.Length; i++) sb.Append(';').Append(FioFormat.F(Raw(b.Ms[i], b), 3, 2)).Append('%');
        if (o.ContinueOnError != ContinueOnError.None)
            sb.Append(Inv, $";{job.TotalErrors};{job.Errors?.First?.Errno ?? 0}");
        return sb.ToString();
    }

    /// <summary>fio's stat_calc_lat: a bucket in percent of every I/O issued, without a floor.</summary>
    private static double Raw(long count, LatencyBuckets b) => b.Of == 0 ? 0 : count * 100.0 / b.Of;

    /// <summary>fio's show_ddir_status_terse: io, bw, iops, runtime; slat, clat, percentiles, lat; bandwidth statistics.</summary>
    private static void Direction(StringBuilder sb, DirectionResult d, JobResult job, long groupAggBytes)
    {
        var o = job.Options;
        long runt = d.HasIo ? Math.Max(1, FioFormat.Ms(job.Runtime)) : 0;
        long bwKiB = runt == 0 ? 0 : d.Bytes * 1000 / runt / 1024;
        long iops = runt == 0 ? 0 : d.TotalIos * 1000 / runt;
        sb.Append(Inv, $";{d.Bytes >> 10};{bwKiB};{iops};{runt}");
        Stats(sb, LatencySummary.From(d.SlatNs));
        var clat = LatencySummary.From(d.ClatNs);
        Stats(sb, clat);
        // The latency fio lists: total latency with lat_percentiles, else completion latency with clat_percentiles.
        var of = o.LatPercentiles ? LatencySummary.From(d.LatNs) : o.ClatPercentiles ? clat : null;
        var list = of is null ? [] : o.Percentiles;
        for (int i = 0; i < JobOptions.MaxPercentiles; i++)
        {
            if (i >= list.Count) sb.Append(";0%=0");
            else sb.Append(Inv, $";{list[i]:F6}%={of!.ValueAt(list[i]) / 1000}");
        }
        Stats(sb, LatencySummary.From(d.LatNs));
        // Bandwidth statistics from the whole window as one sample (min = max = mean, no deviation).
        if (d.HasIo)
        {
            double agg = groupAggBytes / 1024 > 0 ? Math.Min(100.0, bwKiB * 100.0 / (groupAggBytes / 1024)) : 100.0;
            sb.Append(Inv, $";{bwKiB};{bwKiB};{agg:F6}%;{(double)bwKiB:F6};{0.0:F6}");
        }
        else sb.Append(";0;0;0.000000%;0.000000;0.000000");
    }

    /// <summary>min and max (integer µs), mean and deviation (µs, six decimals), as fio's terse latency fields.</summary>
    private static void Stats(StringBuilder sb, LatencySummary s) =>
        sb.Append(Inv, $";{s.Min / 1000};{s.Max / 1000};{s.Mean / 1000:F6};{s.StdDev / 1000:F6}");
}
