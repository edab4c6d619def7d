using HdrHistogram;
using Orion.Pmd.Engine.Queues;
using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Reactors;

namespace Orion.Pmd.Engine.Monitoring;

/// <summary>One queue's state at a snapshot.</summary>
/// <param name="Queue">Queue index.</param>
/// <param name="Core">Core its reactor is pinned to, or null when unpinned.</param>
/// <param name="Counters">The queue's counters (cumulative since start).</param>
/// <param name="Latency">
/// Submit-to-complete latency in nanoseconds, recorded since the previous snapshot: from the caller's submission (the
/// hand-off to the reactor and the wait for ring space included) to the reactor's reap of the completion, for every
/// request whose completion the device delivered, whatever its status. Requests the engine ended itself (timed out,
/// failed with a broken queue or a lost device, withdrawn) are not recorded.
/// </param>
/// <param name="Reactor">The reactor's busy/idle accounting (cumulative).</param>
public sealed record QueueSnapshot(int Queue, int? Core, QueueCounters Counters, LatencyHistogram Latency, ReactorStats Reactor)
{
    /// <summary>
    /// The queue's last failed requests (at most <see cref="BlockQueue.RecentErrors"/>'s capacity), newest first, read
    /// just after <see cref="Counters"/>; empty when none failed.
    /// </summary>
    public IReadOnlyList<IoErrorRecord> RecentErrors { get; init; } = [];

    /// <summary>
    /// Every failure of the queue since start, by status (cumulative, exact, read just after <see cref="Counters"/>);
    /// null in snapshots made without it.
    /// </summary>
    public IReadOnlyDictionary<IoStatus, long>? ErrorCounts { get; init; }
}

/// <summary>The engine's state at a snapshot: every queue, and their latencies merged.</summary>
/// <param name="Queues">Per-queue state.</param>
/// <param name="Latency">All queues' latency since the previous snapshot, merged.</param>
/// <param name="BufferPoolInUseBytes">Bytes rented from the DMA pool.</param>
/// <param name="BufferPoolCapacityBytes">Bytes of the DMA pool.</param>
/// <param name="Taken">When the snapshot was taken.</param>
public sealed record EngineSnapshot(IReadOnlyList<QueueSnapshot> Queues, LatencyHistogram Latency, long BufferPoolInUseBytes, long BufferPoolCapacityBytes, DateTimeOffset Taken)
{
    /// <summary>The <see cref="System.Diagnostics.Stopwatch"/> timestamp of <see cref="Taken"/>, for precise rates; 0 when unknown.</summary>
    public long TakenTimestamp { get; init; }

    /// <summary>What changed from <paramref name="earlier"/> to this snapshot, with rates per second (see <see cref="EngineDelta"/>).</summary>
    public EngineDelta Since(EngineSnapshot earlier) => EngineDelta.Between(earlier, this);
}

/// <summary>
/// The performance monitor: collects each reactor's single-writer latency histogram (handed over by the reactor
/// itself between polls, never read while being written) and its counters, off the hot path.
/// </summary>
public sealed class PerformanceMonitor
{
    private readonly PmdEngine _engine;
    private readonly object _lock = new();

    internal PerformanceMonitor(PmdEngine engine) => _engine = engine;

    /// <summary>
    /// Takes a snapshot: counters so far, and the latency recorded since the previous snapshot (so the first
    /// snapshot after a warm-up discards the warm-up). Safe from any thread except a reactor of this engine.
    /// </summary>
    public EngineSnapshot TakeSnapshot()
    {
        lock (_lock)
        {
            var queues = new List<QueueSnapshot>();
            var merged = LatencyRecorder.NewHistogram();
            var latency = _engine.Latency.Take(LatencyReader.Snapshots);
            foreach (var pair in _engine.Pairs)
            {
                var copy = latency[pair.Index];
                merged.Add(copy);
                // Counters first, then the failures: a failure counted in these counters is in the list (unless it scrolled off).
                var counters = pair.Counters;
                queues.Add(new QueueSnapshot(pair.Index, pair.Reactor.Core, counters, new LatencyHistogram(copy), pair.Reactor.GetStats()) { RecentErrors = pair.ErrorLog.RecentErrors(), ErrorCounts = pair.ErrorLog.ErrorCounts() });
            }
            var pool = _engine.Device.Pool;
            return new EngineSnapshot(queues, new LatencyHistogram(merged), pool.InUseBytes, pool.CapacityBytes, DateTimeOffset.UtcNow)
            {
                TakenTimestamp = System.Diagnostics.Stopwatch.GetTimestamp(),
            };
        }
    }
}
