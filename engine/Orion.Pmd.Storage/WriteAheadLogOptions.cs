namespace Orion.Pmd.Storage;

/// <summary>Options of a <see cref="WriteAheadLog"/>.</summary>
public sealed record WriteAheadLogOptions
{
    /// <summary>
    /// Most bytes of frames one group writes (a multiple of the block size, at most the storage's largest transfer
    /// less one block). It bounds a record (<see cref="WriteAheadLog.MaxRecordBytes"/>) and the window after the tail
    /// that a crash may leave half-written. Fixed when the log is formatted; opening uses the formatted value.
    /// </summary>
    public int MaxGroupBytes { get; init; } = 256 * 1024;

    /// <summary>Most appends waiting or in flight at once; further appenders wait (back-pressure), none is failed.</summary>
    public int MaxPendingAppends { get; init; } = 4096;

    /// <summary>Format the storage when its header blocks are blank (all zero) instead of failing.</summary>
    public bool FormatIfBlank { get; init; }
}

/// <summary>A committed record: its log sequence number and its bytes.</summary>
/// <param name="Lsn">Log sequence number: 1 for the first record ever, then consecutive.</param>
/// <param name="Data">The record as appended.</param>
public readonly record struct LogRecord(long Lsn, ReadOnlyMemory<byte> Data);

/// <summary>Counts of a log's work since it was opened (read them for group-commit ratios).</summary>
/// <param name="Appends">Records made durable.</param>
/// <param name="Groups">Group writes (one write request each).</param>
/// <param name="Flushes">Flushes sent (one per group when the write cache is on, none when it is off).</param>
/// <param name="BytesWritten">Bytes written by group writes, tail-block rewrites included.</param>
public readonly record struct WriteAheadLogStatistics(long Appends, long Groups, long Flushes, long BytesWritten);
