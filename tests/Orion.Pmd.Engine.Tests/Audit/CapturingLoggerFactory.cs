using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Orion.Pmd.Engine.Tests.Audit;

/// <summary>A logger factory and provider that keeps every event it is given, with its structured fields.</summary>
internal sealed class CapturingLoggerFactory : ILoggerFactory, ILoggerProvider
{
    public sealed record Event(string Category, LogLevel Level, EventId Id, string Message, IReadOnlyDictionary<string, object?> Fields);

    public ConcurrentQueue<Event> Events { get; } = new();

    public IReadOnlyList<Event> Named(string name) => Events.Where(e => e.Id.Name == name).ToList();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);
    public void AddProvider(ILoggerProvider provider) { }
    public void Dispose() { }

    private sealed class Logger(CapturingLoggerFactory owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var fields = new Dictionary<string, object?>();
            if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
                foreach (var (k, v) in pairs) fields[k] = v;
            owner.Events.Enqueue(new Event(category, logLevel, eventId, formatter(state, exception), fields));
        }
    }
}
