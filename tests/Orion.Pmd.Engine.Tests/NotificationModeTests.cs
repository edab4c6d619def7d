using Orion.Pmd.Engine;
using Orion.Pmd.Engine.Transport;

namespace Orion.Pmd.Engine.Tests;

/// <summary>
/// Interrupt and adaptive modes: the reactor sleeps when idle, arms a device interrupt when it sleeps with requests
/// in flight, and wakes on the completion or on a new submission; polled mode never sleeps.
/// </summary>
[NonParallelizable]
public class NotificationModeTests
{
    private static PmdEngine Start(NotificationMode mode, int coalescing = 1) => PmdEngine.Start(new EngineOptions
    {
        Device = "null:16M",
        QueueSize = 64,
        Pin = false,
        Notifications = mode,
        InterruptCoalescing = coalescing,
        BufferMemoryBytes = 8 << 20,
        AdaptiveIdleBudget = TimeSpan.FromMicroseconds(20),
    });

    [TestCase(NotificationMode.Interrupt)]
    [TestCase(NotificationMode.Adaptive)]
    [CancelAfter(30_000)]
    public async Task SleepingReactorIsWokenByCompletionsAndSubmissions(NotificationMode mode)
    {
        using var engine = Start(mode);
        var dev = engine.Device;
        var device = ((EmbeddedTransport)engine.Transport).Device;
        using var buf = dev.Rent(4096);
        var before = engine.Reactors[0].GetStats();
        for (int i = 0; i < 200; i++)
        {
            await dev.ReadAsync(i * 8, buf.Memory);
            if (i % 20 == 0) await Task.Delay(3);      // idle gaps: the reactor parks, a submission must wake it
        }
        var stats = engine.Reactors[0].GetStats() - before;
        Assert.That(stats.Parks, Is.GreaterThan(0), "the reactor slept");
        Assert.That(stats.Wakeups, Is.GreaterThan(0), "and was woken");
        if (mode == NotificationMode.Interrupt)
        {
            Assert.That(dev.GetQueue(0).Counters.InterruptsArmed, Is.GreaterThan(0), "slept with a request in flight: asked for an interrupt");
            Assert.That(device.GetQueueStats(0).InterruptsSent, Is.GreaterThan(0), "the device signalled the call eventfd");
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task PolledReactorNeverSleepsAndTheDeviceNeverInterrupts()
    {
        using var engine = Start(NotificationMode.Polled);
        var dev = engine.Device;
        var device = ((EmbeddedTransport)engine.Transport).Device;
        using var buf = dev.Rent(4096);
        for (int i = 0; i < 100; i++)
        {
            await dev.ReadAsync(i * 8, buf.Memory);
            if (i % 20 == 0) await Task.Delay(2);
        }
        Assert.That(engine.Reactors[0].GetStats().Parks, Is.Zero);
        Assert.That(device.GetQueueStats(0).InterruptsSent, Is.Zero);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task CoalescedInterruptsStillDeliverEveryCompletion()
    {
        using var engine = Start(NotificationMode.Interrupt, coalescing: 8);
        var dev = engine.Device;
        var buffers = Enumerable.Range(0, 16).Select(_ => dev.Rent(4096)).ToArray();
        try
        {
            for (int round = 0; round < 20; round++)
                await Task.WhenAll(buffers.Select((b, i) => dev.ReadAsync((round * 16 + i) * 8L, b.Memory).AsTask()));
            Assert.That(dev.GetQueue(0).Counters.Requests, Is.EqualTo(320));
        }
        finally
        {
            foreach (var b in buffers) b.Dispose();
        }
    }
}
