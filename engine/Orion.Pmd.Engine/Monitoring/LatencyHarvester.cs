using HdrHistogram;
using Orion.Pmd.Engine.Queues;

namespace Orion.Pmd.Engine.Monitoring;

/// <summary>Who reads latency: each reader sees everything recorded since its own previous read.</summary>
internal enum LatencyReader
{
    /// <summary><see cref="PerformanceMonitor.TakeSnapshot"/>.</summary>
    Snapshots,
    /// <summary>The <c>Orion.Pmd</c> meter's latency gauges (<see cref="EngineMetrics"/>).</summary>
    Metrics,
}

/// <summary>
/// Collects each reactor's latency histogram (the reactor hands it over between polls) and keeps what it collected
/// for every reader separately, so that dotnet-counters polling the meter does not steal the intervals of
/// <see cref="PerformanceMonitor.TakeSnapshot"/> (orion-perf's reports) or the other way round.
/// </summary>
internal sealed class LatencyHarvester
{
    private readonly PmdEngine _engine;
    private readonly object _lock = new();
    private readonly LongHistogram[][] _unread;      // [reader][queue]: recorded since that reader's last take

    public LatencyHarvester(PmdEngine engine)
    {
        _engine = engine;
        int readers = Enum.GetValues<LatencyReader>().Length;
        _unread = new LongHistogram[readers][];
        for (int r = 0; r < readers; r++)
            _unread[r] = engine.Pairs.Select(_ => LatencyRecorder.NewHistogram()).ToArray();
    }

    /// <summary>
    /// Per queue, the latency recorded since <paramref name="reader"/>'s previous call (new histograms the caller
    /// owns). Any thread except a reactor of this engine.
    /// </summary>
    public LongHistogram[] Take(LatencyReader reader)
    {
        lock (_lock)
        {
            var pairs = _engine.Pairs;
            for (int q = 0; q < pairs.Length; q++)
            {
                var taken = pairs[q].Latency.Take(pairs[q].Reactor, q, _engine.ReactorsRunning, TimeSpan.FromSeconds(5));
                foreach (var perReader in _unread) perReader[q].Add(taken);
                taken.Reset();
                pairs[q].Latency.ReturnSpare(taken);
            }
            var mine = _unread[(int)reader];
            var result = new LongHistogram[mine.Length];
            for (int q = 0; q < mine.Length; q++)
            {
                result[q] = LatencyRecorder.NewHistogram();
                result[q].Add(mine[q]);
                mine[q].Reset();
            }
            return result;
        }
    }
}
