using HdrHistogram;
using System.Diagnostics;
using Orion.Perf.Reporting;

namespace Orion.Perf.Workload;

/// <summary>
/// A job's interval histograms on the way out: receives each finished interval (on the thread that runs the job),
/// writes it to the <c>--write_hist_log</c> file when there is one, and keeps a summary of it for the report.
/// </summary>
internal sealed class JobIntervals : IDisposable
{
    private static readonly string[] Tags = ["read", "write", "trim"];
    private readonly HistogramLogFile? _log;
    private readonly string _jobName;
    private readonly List<IntervalSample> _samples = [];
    private bool _headerWritten;
    private DateTimeOffset? _anchorTime;

    /// <param name="intervalMs">Interval length in ms.</param>
    /// <param name="histLogPath">The log file to create (now: a path that cannot be written fails before the job runs); null for none.</param>
    /// <param name="jobName">The job's name, for the log's comment line.</param>
    public JobIntervals(int intervalMs, string? histLogPath, string jobName)
    {
        IntervalMs = intervalMs;
        HistLogPath = histLogPath;
        _jobName = jobName;
        if (histLogPath is not null) _log = new HistogramLogFile(new FileStream(histLogPath, FileMode.Create, FileAccess.Write, FileShare.Read));
    }

    /// <summary>Interval length in ms.</summary>
    public int IntervalMs { get; }

    /// <summary>Interval length in Stopwatch ticks.</summary>
    public long IntervalTicks => IntervalMs * Stopwatch.Frequency / 1000;

    /// <summary>The log file, or null.</summary>
    public string? HistLogPath { get; }

    /// <summary>The intervals received so far, in order.</summary>
    public IReadOnlyList<IntervalSample> Samples => _samples;

    /// <summary>Which directions (read, write, trim) the job does; set by the runner before the first interval.</summary>
    public bool[] Directions { get; set; } = [true, false, false];

    /// <summary>Takes one finished interval of the job whose grid is <paramref name="clock"/>.</summary>
    public void Add(IntervalCell cell, IntervalClock clock)
    {
        long anchor = clock.Anchor;
        double freq = Stopwatch.Frequency;
        double start = (cell.StartTicks - anchor) / freq;
        double length = (cell.EndTicks - cell.StartTicks) / freq;
        if (_log is not null)
        {
            WriteHeader(clock);
            _log.WriteInterval(start, length, cell.AllClatNs());
            // A mixed job: each direction again, tagged (readers that ignore tags, or skip tagged lines, see the total).
            if (Directions.Count(d => d) > 1)
                for (int d = 0; d < 3; d++)
                    if (Directions[d] && cell.ClatNs[d] is { } h) _log.WriteInterval(start, length, h, Tags[d]);
        }
        IntervalDirection Summary(int d)
        {
            var h = cell.ClatNs[d];
            if (h is null || h.TotalCount == 0) return new IntervalDirection(0, cell.Bytes[d], 0, 0, 0);
            return new IntervalDirection(h.TotalCount, cell.Bytes[d], h.GetValueAtPercentile(50), h.GetValueAtPercentile(99), h.GetMaxValue());
        }
        _samples.Add(new IntervalSample(start, length, Summary(0), Summary(1), Summary(2)));
    }

    /// <summary>The job is over: a log that got no interval still gets its header.</summary>
    public void Finish(IntervalClock clock)
    {
        if (_log is not null) WriteHeader(clock);
    }

    private void WriteHeader(IntervalClock clock)
    {
        if (_headerWritten || _log is null) return;
        _headerWritten = true;
        long anchor = clock.Anchor;
        // The wall-clock time of the grid's origin: now, less the Stopwatch time since it.
        _anchorTime ??= anchor == 0 ? DateTimeOffset.UtcNow : DateTimeOffset.UtcNow - Stopwatch.GetElapsedTime(anchor);
        _log.WriteHeader(_anchorTime.Value,
        [
            $"[orion-perf {Orion.Perf.Options.JobOptionsParser.ToolVersion}: job '{_jobName}', completion latency (clat) histograms per {IntervalMs} ms interval]",
            $"[Values are nanoseconds; Interval_Max is in milliseconds (max value unit ratio {HistogramLogFile.MaxValueUnitRatio:0}); " +
            "timestamps are seconds after BaseTime" + (Directions.Count(d => d) > 1 ? "; untagged lines hold all directions, Tag=read/write/trim lines each one" : "") + "]",
        ]);
    }

    public void Dispose() => _log?.Dispose();
}
