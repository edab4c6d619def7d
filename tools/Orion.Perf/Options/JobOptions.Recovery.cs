using Orion.Pmd.Engine;

namespace Orion.Perf.Options;

public sealed partial record JobOptions
{
    /// <summary>The longest <see cref="RequestTimeout"/> accepted.</summary>
    public static readonly TimeSpan MaxRequestTimeout = TimeSpan.FromHours(1);

    /// <summary>
    /// fio's <c>continue_on_error</c>: which failures the job counts and goes on after. Without it the first failed
    /// I/O ends the job with a message saying what failed, and the exit status is <c>5</c>.
    /// </summary>
    public ContinueOnError ContinueOnError { get; init; } = ContinueOnError.None;

    /// <summary>
    /// The engine's request timeout (<c>--request_timeout</c>, <see cref="EngineOptions.RequestTimeout"/>): a request
    /// older than this resets its queue. Null keeps the engine's default (30 s); zero turns it off.
    /// </summary>
    public TimeSpan? RequestTimeout { get; init; }

    /// <summary>What a timed-out request gets (<c>--timeout_policy=fail|retry</c>, <see cref="EngineOptions.TimeoutPolicy"/>).</summary>
    public TimeoutPolicy TimeoutPolicy { get; init; } = TimeoutPolicy.Fail;

    /// <summary>Reset a queue the device broke at once and place what it held again (<c>--recover_queues</c>, <see cref="EngineOptions.RecoverBrokenQueues"/>).</summary>
    public bool RecoverQueues { get; init; } = true;

    /// <summary>
    /// <c>--audit_log=FILE</c>: the engine's audit events (attach, negotiation, resets, detach, ...) as JSON lines
    /// in FILE; taken from the first job, like <see cref="OutputPath"/>. Null means none.
    /// </summary>
    public string? AuditLogPath { get; init; }

    /// <summary>Whether a failure in <paramref name="direction"/> (0 read, 1 write, 2 trim) lets the job go on.</summary>
    internal bool ContinuesAfter(int direction) =>
        ContinueOnError.HasFlag(direction == 0 ? ContinueOnError.Read : ContinueOnError.Write);

    private void ValidateRecovery(List<string> errors)
    {
        if (!Enum.IsDefined(ContinueOnError)) errors.Add($"--continue_on_error: unknown value {(int)ContinueOnError}; use none, read, write, io, verify or all");
        if (RequestTimeout is TimeSpan t && (t < TimeSpan.Zero || t > MaxRequestTimeout))
            errors.Add($"--request_timeout={FioTime.Format(t)}: the timeout must be from 1ms to 1h, or 0 to turn it off");
        else if (RequestTimeout is TimeSpan small && small > TimeSpan.Zero && small < TimeSpan.FromMilliseconds(1))
            errors.Add($"--request_timeout={FioTime.Format(small)}: the timeout must be at least 1ms (a shorter one would reset queues under normal latency), or 0 to turn it off");
        if (TimeoutPolicy == TimeoutPolicy.RetryOnce && RequestTimeout == TimeSpan.Zero)
            errors.Add("--timeout_policy=retry --request_timeout=0: with the timeout off nothing is retried; give a --request_timeout (for example 250ms)");
        if (AuditLogPath is { } audit)
        {
            if (string.IsNullOrWhiteSpace(audit)) errors.Add("--audit_log: the file name must not be empty (for example --audit_log=audit.jsonl)");
            else if (Directory.Exists(audit)) errors.Add($"--audit_log={audit}: '{audit}' is a directory; give a file name (for example {Path.Combine(audit, "audit.jsonl")})");
            else if (MissingDirectory(audit) is { } dir)
                errors.Add($"--audit_log={audit}: the directory '{dir}' does not exist; create it first or choose another file");
        }
    }
}
