using System.Globalization;
using System.Text.Json;
using Orion.Perf.Options;

namespace Orion.Perf.Reporting;

/// <summary>
/// The errors and integrity part of a job's report, human and JSON: fio's <c>total_err</c> and <c>first_error</c>,
/// failures by status, the queues' last failures with the engine's detail, and whether every I/O completed
/// exactly once.
/// </summary>
public static class ErrorSection
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>
    /// Whether the job's data and bookkeeping are intact: no verify mismatch, no lost or doubled completion. A soak
    /// run fails (non-zero exit) otherwise.
    /// </summary>
    public static bool Intact(JobResult job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return job.Verify is not { Mismatches: > 0 } && job.Errors is not { CompletionsIntact: false };
    }

    /// <summary>Whether the human report shows the section: there were failures, or the job was told to expect them.</summary>
    private static bool Shown(JobResult job) =>
        job.Errors is { } e && (e.Total > 0 || !e.CompletionsIntact || job.Options.ContinueOnError != ContinueOnError.None);

    /// <summary>fio's <c>errors : total=N, first_error=E/&lt;name&gt;</c>, then kinds, completions and the last failures.</summary>
    public static void WriteHuman(TextWriter w, JobResult job)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(job);
        if (!Shown(job)) return;
        var e = job.Errors!;
        string first = e.First is { } f ? $", first_error={f.Errno.ToString(Inv)}/<{f.Status}>: {f.Describe()}" : "";
        w.WriteLine($"  errors       : total={e.Total.ToString(Inv)}{first}" + (e.StoppedJob ? "; it stopped the job" : ""));
        if (e.ByStatus.Count > 0)
            w.WriteLine("  error kinds  : " + string.Join(", ", e.ByStatus.Select(kv => $"{kv.Key}={kv.Value.ToString(Inv)}")));
        w.WriteLine($"  completions  : submitted={e.Submitted.ToString(Inv)}, completed={e.Completed.ToString(Inv)}, lost={e.Lost.ToString(Inv)}, " +
                    $"doubled={e.Doubled.ToString(Inv)}" +
                    (e.VerifyBlocksUnknown > 0 ? $"; verify skipped {e.VerifyBlocksUnknown.ToString(Inv)} block(s) left unknown by failed or overlapping writes until rewritten" : ""));
        foreach (var r in e.Recent) w.WriteLine("  recent error : " + ErrorReport.Describe(r));
        long mismatches = job.Verify?.Mismatches ?? 0;
        w.WriteLine($"  integrity    : {(Intact(job) ? "ok" : "FAILED")} (verify mismatches={(job.Verify is null ? "n/a" : mismatches.ToString(Inv))}, " +
                    $"lost={e.Lost.ToString(Inv)}, doubled={e.Doubled.ToString(Inv)})");
    }

    /// <summary>
    /// fio's per-job <c>total_err</c> and <c>first_error</c> (an errno, 0 for none), written as fio writes them: only
    /// when the job has <c>continue_on_error</c> (<c>orion.errors.total</c> is always there).
    /// </summary>
    public static void WriteFioFields(Utf8JsonWriter j, JobResult job)
    {
        ArgumentNullException.ThrowIfNull(j);
        ArgumentNullException.ThrowIfNull(job);
        if (job.Options.ContinueOnError == ContinueOnError.None) return;
        j.WriteNumber("total_err", job.TotalErrors);
        j.WriteNumber("first_error", job.Errors?.First?.Errno ?? 0);
    }

    /// <summary>The <c>orion.errors</c> object: per direction (measured window), totals, kinds, first and recent failures, completions.</summary>
    public static void WriteJson(Utf8JsonWriter j, JobResult job)
    {
        ArgumentNullException.ThrowIfNull(j);
        ArgumentNullException.ThrowIfNull(job);
        j.WriteStartObject("errors");
        j.WriteNumber("read", job.Read.Errors);
        j.WriteNumber("write", job.Write.Errors);
        j.WriteNumber("trim", job.Trim.Errors);
        j.WriteNumber("total", job.TotalErrors);
        j.WriteString("continue_on_error", job.Options.ContinueOnError.FioName());
        if (job.Errors is { } e)
        {
            j.WriteBoolean("stopped_job", e.StoppedJob);
            j.WriteStartObject("by_status");
            foreach (var (status, count) in e.ByStatus) j.WriteNumber(status, count);
            j.WriteEndObject();
            j.WritePropertyName("first");
            if (e.First is { } f)
            {
                j.WriteStartObject();
                j.WriteString("direction", f.Direction);
                j.WriteNumber("offset", f.Offset);
                j.WriteNumber("bytes", f.Bytes);
                j.WriteString("status", f.Status);
                j.WriteNumber("errno", f.Errno);
                j.WriteBoolean("read_back", f.ReadBack);
                if (f.Detail is null) j.WriteNull("detail"); else j.WriteString("detail", f.Detail);
                j.WriteEndObject();
            }
            else j.WriteNullValue();
            j.WriteStartArray("recent");
            foreach (var r in e.Recent)
            {
                j.WriteStartObject();
                j.WriteString("time", r.TimeUtc.ToString("O", Inv));
                j.WriteNumber("queue", r.Queue);
                j.WriteString("type", r.Type.ToString());
                j.WriteNumber("sector", r.Sector);
                j.WriteNumber("bytes", r.Bytes);
                j.WriteString("status", r.Status.ToString());
                if (r.Detail is null) j.WriteNull("detail"); else j.WriteString("detail", r.Detail);
                j.WriteEndObject();
            }
            j.WriteEndArray();
            j.WriteStartObject("completions");
            j.WriteNumber("submitted", e.Submitted);
            j.WriteNumber("completed", e.Completed);
            j.WriteNumber("lost", e.Lost);
            j.WriteNumber("doubled", e.Doubled);
            j.WriteEndObject();
            j.WriteNumber("verify_blocks_unknown", e.VerifyBlocksUnknown);
        }
        j.WriteBoolean("intact", Intact(job));
        j.WriteEndObject();
    }
}
