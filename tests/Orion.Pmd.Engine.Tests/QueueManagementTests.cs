using Orion.Pmd.Testing;
using Orion.Pmd.Engine;
using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Engine.Tests;

/// <summary>Queues at run time: disable and enable, reset (also recovering a broken queue), and switching notification modes.</summary>
[NonParallelizable]
public class QueueManagementTests
{
    private static PmdEngine Threaded(int queues = 2, RingFormat ring = RingFormat.Split) => PmdEngine.Start(new EngineOptions
    {
        Device = "mem:16M", Queues = queues, QueueSize = 32, Ring = ring, Pin = false, BufferMemoryBytes = 8 << 20,
    });

    [Test]
    [CancelAfter(30_000)]
    public async Task DisabledQueueGetsNoNewWorkAndTheOthersCarryOn()
    {
        using var engine = Threaded();
        var dev = engine.Device;
        using var buf = dev.Rent(4096);
        dev.GetQueue(0).Disable();
        long before = dev.GetQueue(0).Counters.Requests;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(async () =>
        {
            using var b = dev.Rent(4096);
            for (int i = 0; i < 50; i++) await dev.ReadAsync((t * 50 + i) * 8L, b.Memory);
        })));
        Assert.That(dev.GetQueue(0).Counters.Requests, Is.EqualTo(before), "nothing went to the disabled queue");
        Assert.That(dev.GetQueue(1).Counters.Requests, Is.GreaterThanOrEqualTo(400));
        dev.GetQueue(1).Disable();
        Assert.That(() => dev.ReadAsync(0, buf.Memory), Throws.InvalidOperationException.With.Message.Contains("every queue"));
        dev.GetQueue(0).Enable();
        await dev.ReadAsync(0, buf.Memory);
        Assert.That(dev.GetQueue(0).Counters.Requests, Is.EqualTo(before + 1));
    }

    [TestCase(RingFormat.Split)]
    [TestCase(RingFormat.Packed)]
    [CancelAfter(30_000)]
    public async Task ResetQueueStartsOverAndKeepsData(RingFormat ring)
    {
        using var engine = Threaded(queues: 1, ring: ring);
        var dev = engine.Device;
        using var buf = dev.Rent(4096);
        for (int i = 0; i < 100; i++)
        {
            buf.Span.Fill((byte)i);
            await dev.WriteAsync(i * 8, buf.Memory);
        }
        var queue = dev.GetQueue(0);
        Assert.That(() => queue.Reset(), Throws.InvalidOperationException.With.Message.Contains("disable"));
        queue.Disable();
        queue.Reset();
        queue.Enable();
        for (int i = 0; i < 100; i++)
        {
            await dev.ReadAsync(i * 8, buf.Memory);
            Assert.That(buf.Span.ToArray(), Is.All.EqualTo((byte)i));
        }
        Assert.That(queue.Counters.Errors, Is.Zero);
    }

    [Test]
    public void ResetRecoversAQueueTheDeviceBroke()
    {
        using var engine = ManualEngine.Start(queueSize: 16, tweak: o => o with { RecoverBrokenQueues = false });
        var dev = engine.Device;
        using var buf = dev.Rent(4096);
        var first = dev.ReadAsync(0, buf.Memory);
        engine.Reactors[0].RunOnce();
        UsedRingForgery.ForgeUsed(engine.Pairs[0].Ring, 9u);     // an id that was never made available
        engine.Reactors[0].RunOnce();
        Assert.That(engine.Pairs[0].Ring.Error, Is.EqualTo(VirtqueueError.UsedIdNotHead));
        Assert.That(first.IsCompleted, Is.False, "failed, but withheld until the device let go of the caller's buffer");

        var queue = dev.GetQueue(0);
        queue.Disable();
        queue.Reset();
        Assert.That(() => first.GetAwaiter().GetResult(), Throws.TypeOf<BlockDeviceException>(), "the reset handed it back");
        queue.Enable();
        Assert.That(engine.Pairs[0].Ring.IsBroken, Is.False);
        for (int i = 0; i < 40; i++)       // more than the ring holds: every slot came back
        {
            buf.Span.Fill((byte)(i + 1));
            engine.Wait(dev.WriteAsync(i * 8, buf.Memory));
            buf.Span.Clear();
            engine.Wait(dev.ReadAsync(i * 8, buf.Memory));
            Assert.That(buf.Span.ToArray(), Is.All.EqualTo((byte)(i + 1)));
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task NotificationModeChangesAtRunTime()
    {
        using var engine = Threaded(queues: 1);
        var dev = engine.Device;
        var queue = dev.GetQueue(0);
        using var buf = dev.Rent(4096);
        async Task Burst()
        {
            for (int i = 0; i < 60; i++)
            {
                await dev.ReadAsync(i * 8, buf.Memory);
                if (i % 15 == 0) await Task.Delay(3);
            }
        }
        await Burst();
        Assert.That(engine.Reactors[0].GetStats().Parks, Is.Zero, "polled: never sleeps");
        queue.SetNotificationMode(NotificationMode.Interrupt);
        await Burst();
        long parks = engine.Reactors[0].GetStats().Parks;
        Assert.That(parks, Is.GreaterThan(0), "interrupt: sleeps when idle");
        queue.SetNotificationMode(NotificationMode.Polled);
        await Task.Delay(20);
        long settled = engine.Reactors[0].GetStats().Parks;
        await Burst();
        Assert.That(engine.Reactors[0].GetStats().Parks, Is.EqualTo(settled), "polled again: no more sleeps");
    }
}
