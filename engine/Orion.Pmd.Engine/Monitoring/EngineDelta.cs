using System.Diagnostics;
using Orion.Pmd.Engine.Queues;
using Orion.Pmd.Engine.Requests;

namespace Orion.Pmd.Engine.Monitoring;

/// <summary>
/// One queue between two snapshots: what its counters did (<see cref="Change"/>: counts over the interval, gauges
/// such as <see cref="QueueCounters.InFlight"/> at the later snapshot) and the rates a monitor alarms on.
/// </summary>
/// <param name="Queue">Queue index.</param>
/// <param name="Change">The later counters minus the earlier ones.</param>
/// <param name="Interval">Time between the two snapshots.</param>
/// <param name="NewErrors">The failures recorded between the two snapshots, newest first, as far as the queue's recent-error list still held them.</param>
public sealed record QueueDelta(int Queue, QueueCounters Change, TimeSpan Interval, IReadOnlyList<IoErrorRecord> NewErrors)
{
    /// <summary>Completed requests per second.</summary>
    public double RequestsPerSecond => PerSecond(Change.Requests);

    /// <summary>Data bytes per second.</summary>
    public double BytesPerSecond => PerSecond(Change.Bytes);

    /// <summary>Failed requests per second (any status but OK).</summary>
    public double ErrorsPerSecond => PerSecond(Change.Errors);

    /// <summary>Requests per second that outlived the request timeout.</summary>
    public double TimeoutsPerSecond => PerSecond(Change.Timeouts);

    /// <summary>Queue resets per second that the engine did by itself (a timeout or a broken ring).</summary>
    public double QueueResetsPerSecond => PerSecond(Change.QueueResets);

    /// <summary>Requests per second placed once more on a fresh ring (after a reset or a reconnect).</summary>
    public double ResubmittedPerSecond => PerSecond(Change.Resubmitted);

    /// <summary>Failed requests as a fraction of completed ones (0 with none completed).</summary>
    public double ErrorFraction => Change.Requests == 0 ? 0 : (double)Change.Errors / Change.Requests;

    /// <summary>
    /// The interval's failures by status, exact, when both snapshots carried the queue's cumulative counts (every
    /// snapshot the engine takes does); null otherwise.
    /// </summary>
    public IReadOnlyDictionary<IoStatus, long>? ErrorCountChange { get; init; }

    /// <summary>
    /// The interval's failures by status: exact from <see cref="ErrorCountChange"/> when known (it then sums to
    /// <see cref="QueueCounters.Errors"/> of <see cref="Change"/>), else <see cref="NewErrors"/> counted by status,
    /// complete only when <see cref="ErrorsByStatusComplete"/>.
    /// </summary>
    public IReadOnlyDictionary<IoStatus, long> ErrorsByStatus =>
        ErrorCountChange ?? NewErrors.GroupBy(e => e.Status).ToDictionary(g => g.Key, g => (long)g.Count());

    /// <summary>Whether <see cref="ErrorsByStatus"/> accounts for every failure of the interval.</summary>
    public bool ErrorsByStatusComplete => ErrorCountChange is not null || NewErrors.Count >= Change.Errors;

    private double PerSecond(long count) => Interval <= TimeSpan.Zero ? 0 : count / Interval.TotalSeconds;
}

/// <summary>
/// What changed in the engine between two <see cref="EngineSnapshot"/>s: per queue and in total, with rates per
/// second. Computed off the hot path from two snapshots (<see cref="EngineSnapshot.Since"/>); it reads no live state.
/// </summary>
/// <param name="Queues">Per-queue changes, in queue order.</param>
/// <param name="Interval">Time between the two snapshots.</param>
public sealed record EngineDelta(IReadOnlyList<QueueDelta> Queues, TimeSpan Interval)
{
    /// <summary>All queues' counters summed (gauges summed too: in flight and pending over the engine).</summary>
    public QueueCounters Total => Queues.Aggregate(new QueueCounters(), static (sum, q) => Add(sum, q.Change));

    /// <summary>Failed requests per second over every queue.</summary>
    public double ErrorsPerSecond => PerSecond(Total.Errors);

    /// <summary>Timed-out requests per second over every queue.</summary>
    public double TimeoutsPerSecond => PerSecond(Total.Timeouts);

    /// <summary>Engine-initiated queue resets per second over every queue.</summary>
    public double QueueResetsPerSecond => PerSecond(Total.QueueResets);

    /// <summary>Resubmissions per second over every queue.</summary>
    public double ResubmittedPerSecond => PerSecond(Total.Resubmitted);

    /// <summary>Completed requests per second over every queue.</summary>
    public double RequestsPerSecond => PerSecond(Total.Requests);

    /// <summary>Every queue's <see cref="QueueDelta.ErrorsByStatus"/> summed.</summary>
    public IReadOnlyDictionary<IoStatus, long> ErrorsByStatus =>
        Queues.SelectMany(q => q.ErrorsByStatus).GroupBy(e => e.Key).ToDictionary(g => g.Key, g => g.Sum(e => e.Value));

    /// <summary>
    /// The change from <paramref name="earlier"/> to <paramref name="later"/> (snapshots of one engine, in that
    /// order). A queue missing from <paramref name="earlier"/> counts from zero.
    /// </summary>
    public static EngineDelta Between(EngineSnapshot earlier, EngineSnapshot later)
    {
        ArgumentNullException.ThrowIfNull(earlier);
        ArgumentNullException.ThrowIfNull(later);
        var interval = later.TakenTimestamp != 0 && earlier.TakenTimestamp != 0
            ? Stopwatch.GetElapsedTime(earlier.TakenTimestamp, later.TakenTimestamp)
            : later.Taken - earlier.Taken;
        if (interval < TimeSpan.Zero)
            throw new ArgumentException($"the later snapshot ({later.Taken:O}) was taken before the earlier one ({earlier.Taken:O}); pass them in order", nameof(later));
        var before = earlier.Queues.ToDictionary(q => q.Queue);
        var queues = new List<QueueDelta>(later.Queues.Count);
        foreach (var q in later.Queues)
        {
            var was = before.GetValueOrDefault(q.Queue);
            var change = was is null ? q.Counters : q.Counters - was.Counters;
            queues.Add(new QueueDelta(q.Queue, change, interval, NewErrors(was?.RecentErrors ?? [], q.RecentErrors))
            {
                ErrorCountChange = CountChange(was is null ? new Dictionary<IoStatus, long>() : was.ErrorCounts, q.ErrorCounts),
            });
        }
        return new EngineDelta(queues, interval);
    }

    /// <summary>The later cumulative counts minus the earlier ones (statuses whose count moved); null when either is unknown.</summary>
    private static Dictionary<IoStatus, long>? CountChange(IReadOnlyDictionary<IoStatus, long>? earlier, IReadOnlyDictionary<IoStatus, long>? later)
    {
        if (earlier is null || later is null) return null;
        var change = new Dictionary<IoStatus, long>();
        foreach (var (status, n) in later)
        {
            long moved = n - earlier.GetValueOrDefault(status);
            if (moved != 0) change[status] = moved;
        }
        return change;
    }

    /// <summary>The records of <paramref name="later"/> (newest first) that came after the newest of <paramref name="earlier"/>.</summary>
    private static List<IoErrorRecord> NewErrors(IReadOnlyList<IoErrorRecord> earlier, IReadOnlyList<IoErrorRecord> later)
    {
        var result = new List<IoErrorRecord>();
        if (earlier.Count == 0)
        {
            result.AddRange(later);
            return result;
        }
        var newestBefore = earlier[0];
        foreach (var e in later)
        {
            if (e == newestBefore) break;       // the list is a ring: everything from here on was already seen
            result.Add(e);
        }
        return result;
    }

    private static QueueCounters Add(QueueCounters a, QueueCounters b) => new()
    {
        Requests = a.Requests + b.Requests,
        Bytes = a.Bytes + b.Bytes,
        Withdrawn = a.Withdrawn + b.Withdrawn,
        Batches = a.Batches + b.Batches,
        Kicks = a.Kicks + b.Kicks,
        KicksSuppressed = a.KicksSuppressed + b.KicksSuppressed,
        Polls = a.Polls + b.Polls,
        IdlePolls = a.IdlePolls + b.IdlePolls,
        Errors = a.Errors + b.Errors,
        Bounces = a.Bounces + b.Bounces,
        InterruptsArmed = a.InterruptsArmed + b.InterruptsArmed,
        Resubmitted = a.Resubmitted + b.Resubmitted,
        Timeouts = a.Timeouts + b.Timeouts,
        QueueResets = a.QueueResets + b.QueueResets,
        DeviceResets = a.DeviceResets + b.DeviceResets,
        CallbackFaults = a.CallbackFaults + b.CallbackFaults,
        InFlight = a.InFlight + b.InFlight,
        Pending = a.Pending + b.Pending,
    };

    private double PerSecond(long count) => Interval <= TimeSpan.Zero ? 0 : count / Interval.TotalSeconds;
}
