using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Orion.Perf.Audit;

/// <summary>
/// <c>--audit_log=FILE</c>: a logger factory (and provider) that writes every event to one file as a JSON line —
/// <c>time</c> (UTC, ISO 8601), <c>level</c>, <c>category</c>, <c>event_id</c>, <c>event_name</c>, <c>message</c>
/// and the event's structured <c>state</c> — flushed after each line, so a crash loses nothing written before it.
/// Audit events are rare (attach, negotiation, resets, detach), so a lock per line costs nothing that matters.
/// Built on the logging abstractions alone: no Microsoft.Extensions.Logging host is needed.
/// </summary>
internal sealed class JsonLinesLog : ILoggerFactory, ILoggerProvider
{
    private static readonly JsonWriterOptions LineOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly TextWriter _writer;
    private readonly bool _ownsWriter;
    private readonly Lock _lock = new();
    private readonly MemoryStream _line = new();      // one line at a time, reused
    private bool _disposed;

    /// <summary>Writes to a new file at <paramref name="path"/> (replacing one that is there).</summary>
    public JsonLinesLog(string path) : this(new StreamWriter(path, append: false, new UTF8Encoding(false)), ownsWriter: true)
    {
    }

    /// <summary>Writes to <paramref name="writer"/>; disposes it with this log when <paramref name="ownsWriter"/>.</summary>
    public JsonLinesLog(TextWriter writer, bool ownsWriter)
    {
        _writer = writer;
        _ownsWriter = ownsWriter;
    }

    /// <summary>The least severe level written (everything but <see cref="LogLevel.None"/> by default).</summary>
    public LogLevel MinimumLevel { get; init; } = LogLevel.Trace;

    /// <summary>Events written so far.</summary>
    public long Written { get; private set; }

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <summary>Other providers are not combined with this one: it is the only sink <c>orion-perf</c> needs.</summary>
    public void AddProvider(ILoggerProvider provider) =>
        throw new NotSupportedException("the audit log file takes no other logging providers");

    /// <summary>Flushes and closes the file; later events are dropped.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            _writer.Flush();
            if (_ownsWriter) _writer.Dispose();
        }
    }

    private void Write<TState>(string category, LogLevel level, EventId id, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        string message = formatter(state, exception);
        lock (_lock)
        {
            if (_disposed) return;
            _line.SetLength(0);
            using (var j = new Utf8JsonWriter(_line, LineOptions))
            {
                j.WriteStartObject();
                j.WriteString("time", DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture));
                j.WriteString("level", level.ToString());
                j.WriteString("category", category);
                j.WriteNumber("event_id", id.Id);
                if (id.Name is { } name) j.WriteString("event_name", name);
                j.WriteString("message", message);
                if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
                {
                    j.WriteStartObject("state");
                    foreach (var (key, value) in pairs)
                    {
                        if (key == "{OriginalFormat}") continue;       // the message already says it, filled in
                        WriteValue(j, key, value);
                    }
                    j.WriteEndObject();
                }
                if (exception is not null) j.WriteString("exception", exception.ToString());
                j.WriteEndObject();
            }
            _writer.WriteLine(Encoding.UTF8.GetString(_line.GetBuffer(), 0, (int)_line.Length));
            _writer.Flush();
            Written++;
        }
    }

    /// <summary>Numbers and booleans stay JSON numbers and booleans; everything else (enums included) is its text.</summary>
    private static void WriteValue(Utf8JsonWriter j, string key, object? value)
    {
        switch (value)
        {
            case null: j.WriteNull(key); break;
            case bool b: j.WriteBoolean(key, b); break;
            case int i: j.WriteNumber(key, i); break;
            case long l: j.WriteNumber(key, l); break;
            case uint u: j.WriteNumber(key, u); break;
            case ulong ul: j.WriteNumber(key, ul); break;
            case short s: j.WriteNumber(key, s); break;
            case ushort us: j.WriteNumber(key, us); break;
            case byte by: j.WriteNumber(key, by); break;
            case double d when double.IsFinite(d): j.WriteNumber(key, d); break;
            case Enum e: j.WriteString(key, e.ToString()); break;
            default: j.WriteString(key, Convert.ToString(value, CultureInfo.InvariantCulture)); break;
        }
    }

    private sealed class Logger(JsonLinesLog log, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= log.MinimumLevel;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            log.Write(category, logLevel, eventId, state, exception, formatter);
        }
    }
}
