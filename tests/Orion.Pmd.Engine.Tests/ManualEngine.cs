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
        Assert.That(engine.RunUntilDone(() => task.IsCompleted), Is.True, "request did not complete");
        task.GetAwaiter().GetResult();
    }

    public static T Wait<T>(this PmdEngine engine, ValueTask<T> task)
    {
        Assert.That(engine.RunUntilDone(() => task.IsCompleted), Is.True, "request did not complete");
        return task.GetAwaiter().GetResult();
    }

    /// <summary>
    /// 100,000 polls; then, while a file device still has requests in the kernel (io_uring: a disk on a busy machine can
    /// take longer than those polls), more of them, up to 20 s.
    /// </summary>
    public static bool RunUntilDone(this PmdEngine engine, Func<bool> condition)
    {
        if (engine.RunUntil(condition, 100_000)) return true;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (InKernel(engine) && clock.Elapsed < TimeSpan.FromSeconds(20))
            if (engine.RunUntil(condition, 1_000)) return true;
        return condition();
    }

    private static bool InKernel(PmdEngine engine)
        => engine.Transport is EmbeddedTransport embedded && embedded.Device.InFlightBackendRequests > 0;
}
