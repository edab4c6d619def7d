using Orion.Pmd.Engine.Requests;

namespace Orion.Perf.Reporting;

/// <summary>One failed I/O as the job's report shows it.</summary>
/// <param name="Direction">read, write or trim.</param>
/// <param name="Offset">Byte offset on the device.</param>
/// <param name="Bytes">Length in bytes.</param>
/// <param name="Status">How it ended (an <see cref="IoStatus"/> name).</param>
/// <param name="ReadBack">Whether it was a read of the verify read-back.</param>
/// <param name="Detail">What the engine said about it, when its record was still among the queue's recent errors.</param>
public sealed record FailedIoReport(string Direction, long Offset, int Bytes, string Status, bool ReadBack, string? Detail)
{
    /// <summary>fio's errno for the status: EIO (5), EOPNOTSUPP (95) for an unsupported request, ETIMEDOUT (110) for a timeout, ECANCELED (125) for a withdrawn request.</summary>
    public int Errno => ErrnoOf(Status);

    /// <summary>fio's errno for an <see cref="IoStatus"/> name.</summary>
    public static int ErrnoOf(string status) => status switch
    {
        nameof(IoStatus.Unsupported) => 95,
        nameof(IoStatus.TimedOut) => 110,
        nameof(IoStatus.Canceled) => 125,
        _ => 5,
    };

    /// <summary>One line: <c>write offset=4096, buflen=4096: IoError (detail)</c>.</summary>
    public string Describe() =>
        $"{Direction}{(ReadBack ? " (verify read-back)" : "")} offset={Offset}, buflen={Bytes}: {Status}{(Detail is null ? "" : $" ({Detail})")}";
}

/// <summary>
/// What became of a job's I/Os: every failure (ramp and read-back included) by status, the first one, the queues'
/// last failures, and the bookkeeping that proves nothing was lost or completed twice.
/// </summary>
public sealed class ErrorReport
{
    /// <summary>I/Os the job submitted.</summary>
    public long Submitted { get; init; }

    /// <summary>I/Os that came back (each once).</summary>
    public long Completed { get; init; }

    /// <summary>Completions for an I/O that had already completed: must be 0.</summary>
    public long Doubled { get; init; }

    /// <summary>I/Os submitted that never came back: must be 0.</summary>
    public long Lost => Submitted - Completed;

    /// <summary>Failed I/Os of the whole job (fio's <c>total_err</c>).</summary>
    public long Total { get; init; }

    /// <summary>Failed I/Os by status name, most frequent first.</summary>
    public IReadOnlyList<KeyValuePair<string, long>> ByStatus { get; init; } = [];

    /// <summary>The first failure, or null.</summary>
    public FailedIoReport? First { get; set; }

    /// <summary>Whether a failure that <c>--continue_on_error</c> does not cover ended the job.</summary>
    public bool StoppedJob { get; init; }

    /// <summary>The job's queues' last failed requests, newest first, as the engine recorded them.</summary>
    public IReadOnlyList<IoErrorRecord> Recent { get; set; } = [];

    /// <summary>Blocks that failed or overlapping writes left with unknown content, so verification skipped them until rewritten.</summary>
    public long VerifyBlocksUnknown { get; init; }

    /// <summary>Whether every I/O completed exactly once.</summary>
    public bool CompletionsIntact => Doubled == 0 && Lost == 0;

    /// <summary>
    /// The sum of several jobs' or clones' reports (fio's group_reporting): counts added, the first failure of the
    /// first part that had one, the newest recent failures of all; null when there are none.
    /// </summary>
    internal static ErrorReport? Sum(IReadOnlyList<ErrorReport> parts)
    {
        if (parts.Count == 0) return null;
        if (parts.Count == 1) return parts[0];
        return new ErrorReport
        {
            Submitted = parts.Sum(p => p.Submitted),
            Completed = parts.Sum(p => p.Completed),
            Doubled = parts.Sum(p => p.Doubled),
            Total = parts.Sum(p => p.Total),
            ByStatus = parts.SelectMany(p => p.ByStatus).GroupBy(kv => kv.Key)
                            .Select(g => KeyValuePair.Create(g.Key, g.Sum(kv => kv.Value))).OrderByDescending(kv => kv.Value).ToList(),
            First = parts.Select(p => p.First).FirstOrDefault(f => f is not null),
            StoppedJob = parts.Any(p => p.StoppedJob),
            Recent = parts.SelectMany(p => p.Recent).OrderByDescending(e => e.TimeUtc).Take(parts.Max(p => p.Recent.Count)).ToList(),
            VerifyBlocksUnknown = parts.Sum(p => p.VerifyBlocksUnknown),
        };
    }

    /// <summary>One line for a recent error: <c>12:00:01.234 q0 Out sector 8 4096 B: IoError (detail)</c>.</summary>
    public static string Describe(IoErrorRecord e) =>
        $"{e.TimeUtc:HH:mm:ss.fff} q{e.Queue} {e.Type} sector {e.Sector} {e.Bytes} B: {e.Status}{(e.Detail is null ? "" : $" ({e.Detail})")}";
}
