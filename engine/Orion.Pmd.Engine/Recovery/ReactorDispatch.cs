using Orion.Pmd.Engine.Queues;

namespace Orion.Pmd.Engine.Recovery;

/// <summary>
/// The one way recovery runs a step on a queue's reactor (the only thread that may touch the queue) and waits for
/// it. Inline where the caller owns the queue already: its own reactor, or the polling thread of manual threading.
/// </summary>
internal static class ReactorDispatch
{
    /// <summary>
    /// Runs <paramref name="step"/> for <paramref name="pair"/> on its reactor and waits for it, up to
    /// <paramref name="timeout"/> to be accepted and as long again to finish; with <paramref name="inline"/> (or on
    /// that reactor) on the calling thread. A step that throws surfaces as <see cref="IOException"/> naming
    /// <paramref name="what"/>; a reactor that does not run it in time as <see cref="TimeoutException"/>.
    /// </summary>
    public static void Run(QueuePair pair, Action<QueuePair> step, bool inline, TimeSpan timeout, string what)
    {
        if (inline || pair.Reactor.IsCurrent)
        {
            step(pair);
            return;
        }
        using var done = new ManualResetEventSlim();
        Exception? failure = null;
        void Run(object? _)
        {
            try { step(pair); }
            catch (Exception e) { failure = e; }
            finally { done.Set(); }
        }
        var deadline = DateTime.UtcNow + timeout;
        while (!pair.Reactor.TryPost(Run, null))
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"reactor of queue {pair.Index} accepted no message for {timeout.TotalMilliseconds} ms ({what})");
            Thread.Sleep(1);
        }
        if (!done.Wait(timeout))
            throw new TimeoutException($"reactor of queue {pair.Index} did not run the {what} within {timeout.TotalMilliseconds} ms");
        if (failure is not null) throw new IOException($"queue {pair.Index}: {what} failed: {failure.Message}", failure);
    }

    /// <summary><see cref="Run"/> on every queue in turn.</summary>
    public static void RunOnEach(IEnumerable<QueuePair> pairs, Action<QueuePair> step, bool inline, TimeSpan timeout, string what)
    {
        foreach (var p in pairs) Run(p, step, inline, timeout, what);
    }
}
