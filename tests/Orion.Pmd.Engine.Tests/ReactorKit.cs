using Orion.Pmd.Engine.Requests;

namespace Orion.Pmd.Engine.Tests;

/// <summary>Running the callback form where it must run: on a queue's own reactor.</summary>
internal static class ReactorKit
{
    /// <summary>Runs <paramref name="action"/> on the queue's reactor and returns what it returned or threw.</summary>
    public static (T Result, Exception? Error) OnReactor<T>(BlockQueue queue, Func<T> action)
    {
        using var done = new ManualResetEventSlim();
        T result = default!;
        Exception? error = null;
        queue.Reactor.Post(_ =>
        {
            try { result = action(); }
            catch (Exception e) { error = e; }
            finally { done.Set(); }
        }, null);
        Assert.That(done.Wait(TimeSpan.FromSeconds(10)), Is.True, "the reactor ran the action");
        return (result, error);
    }

    /// <summary>Runs <paramref name="action"/> on the queue's reactor; rethrows what it threw.</summary>
    public static T Run<T>(BlockQueue queue, Func<T> action)
    {
        var (result, error) = OnReactor(queue, action);
        if (error is not null) throw error;
        return result;
    }
}

/// <summary>An <see cref="IBlockCompletion"/> that remembers every completion and signals each.</summary>
internal sealed class RecordingCompletion : IBlockCompletion
{
    private readonly List<(long Tag, IoStatus Status)> _done = [];

    /// <summary>Set by every completion.</summary>
    public readonly ManualResetEventSlim Signal = new();
    /// <summary>The last completion's status.</summary>
    public IoStatus Status;
    /// <summary>The last completion's tag.</summary>
    public long Tag;

    public IReadOnlyList<(long Tag, IoStatus Status)> Done { get { lock (_done) return _done.ToArray(); } }
    public int Count { get { lock (_done) return _done.Count; } }

    public void OnCompleted(long tag, IoStatus status)
    {
        lock (_done) _done.Add((tag, status));
        Tag = tag;
        Status = status;
        Signal.Set();
    }
}
