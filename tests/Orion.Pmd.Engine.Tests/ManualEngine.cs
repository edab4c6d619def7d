using Orion.Pmd.Engine;

namespace Orion.Pmd.Engine.Tests;

/// <summary>Helpers to drive an engine deterministically on the test thread (no reactor or device threads).</summary>
internal static class ManualEngine
{
    public static PmdEngine Start(string device = "mem:16M", int queues = 1, int queueSize = 64, Func<EngineOptions, EngineOptions>? tweak = null)
    {
        var options = new EngineOptions
        {
            Device = device,
            Queues = queues,
            QueueSize = queueSize,
            Threading = EngineThreading.Manual,
            BufferMemoryBytes = 16L << 20,
        };
        return PmdEngine.Start(tweak is null ? options : tweak(options));
    }

    /// <summary>Polls until the task completes, then returns its result (or throws its exception).</summary>
    public static void Wait(this PmdEngine engine, ValueTask task)
    {
        Assert.That(engine.RunUntil(() => task.IsCompleted, 100_000), Is.True, "request did not complete");
        task.GetAwaiter().GetResult();
    }

    public static T Wait<T>(this PmdEngine engine, ValueTask<T> task)
    {
        Assert.That(engine.RunUntil(() => task.IsCompleted, 100_000), Is.True, "request did not complete");
        return task.GetAwaiter().GetResult();
    }
}
