using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Engine.Transport;

namespace Orion.Pmd.Engine.Tests.Embedding;

/// <summary>
/// Cancellation is honest: a request withdrawn before it reached the device throws
/// <see cref="OperationCanceledException"/> and the device never sees it; a request the device already has runs to
/// its end and reports the device's result.
/// </summary>
[NonParallelizable]
public class CancellationTests
{
    private static PmdEngine Start(string device, int queueSize = 32) => PmdEngine.Start(new EngineOptions
    {
        Device = device,
        QueueSize = queueSize,
        Pin = false,
        BufferMemoryBytes = 8 << 20,
    });

    private static long DeviceRequests(PmdEngine engine) => ((EmbeddedTransport)engine.Transport).Device.GetQueueStats(0).Requests;

    private static void WaitFor(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out waiting for {what}");
            Thread.Sleep(1);
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task AlreadyCancelledTokenSendsNothingAndHoldsNothing()
    {
        using var engine = Start("mem:16M");
        var dev = engine.Device;
        var own = new byte[4096];                      // not DMA memory: a bounce buffer would be rented
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        await Assert.ThrowsAsync<TaskCanceledException>(async () => await dev.ReadAsync(0, own, cts.Token));
        await Assert.ThrowsAsync<TaskCanceledException>(async () => await dev.WriteAsync(0, own, cts.Token));
        await Assert.ThrowsAsync<TaskCanceledException>(async () => await dev.FlushAsync(cts.Token));
        await Assert.ThrowsAsync<TaskCanceledException>(async () => await dev.WriteZeroesAsync(0, 1, cancellationToken: cts.Token));
        Assert.That(dev.Pool.InUseCount, Is.Zero, "the bounce buffers went back to the pool");
        await dev.ReadAsync(0, own);                   // the device still works; nothing else reached it
        Assert.That(DeviceRequests(engine), Is.EqualTo(1));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task RequestWaitingForRingSpaceIsWithdrawnAndNeverSent()
    {
        // Two slots, a slow device: two reads sit at the device and the third waits for ring space.
        using var engine = Start("mem:16M,delay=300ms", queueSize: 2);
        var dev = engine.Device;
        var queue = dev.GetQueue(0);
        using var a = dev.Rent(4096);
        using var b = dev.Rent(4096);
        using var c = dev.Rent(4096);
        var first = dev.ReadAsync(0, a.Memory).AsTask();
        var second = dev.ReadAsync(1, b.Memory).AsTask();
        using var cts = new CancellationTokenSource();
        var third = dev.ReadAsync(2, c.Memory, cts.Token).AsTask();
        WaitFor(() => queue.Counters.InFlight == 2 && queue.Counters.Pending == 1, "two in flight and one waiting");
        cts.Cancel();
        var thrown = await Assert.CatchAsync<OperationCanceledException>(async () => await third);
        Assert.That(thrown!.CancellationToken, Is.EqualTo(cts.Token));
        Assert.That(thrown.Message, Does.Contain("nothing was sent"));
        await first;
        await second;
        Assert.That(DeviceRequests(engine), Is.EqualTo(2), "the withdrawn read never reached the device");
        Assert.That(queue.Counters.Errors, Is.Zero, "a withdrawal is not a device error");
        Assert.That(queue.Outstanding, Is.Zero);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task RequestTheDeviceHasRunsToItsEnd()
    {
        using var engine = Start("mem:16M,delay=300ms");
        var dev = engine.Device;
        var queue = dev.GetQueue(0);
        using var data = dev.Rent(4096);
        data.Span.Fill(0x5A);
        using var cts = new CancellationTokenSource();
        var write = dev.WriteAsync(7, data.Memory, cts.Token).AsTask();
        WaitFor(() => queue.Counters.InFlight == 1, "the write at the device");
        cts.Cancel();
        await write;                                     // completes with the device's result, not cancelled
        using var back = dev.Rent(4096);
        await dev.ReadAsync(7, back.Memory);
        Assert.That(back.Span.ToArray(), Is.All.EqualTo((byte)0x5A), "the write the device had took effect");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task TokenThatNeverFiresCostsNothingAndLeavesNoRegistration()
    {
        using var engine = Start("mem:16M");
        var dev = engine.Device;
        using var buffer = dev.Rent(4096);
        using var cts = new CancellationTokenSource();
        for (int i = 0; i < 100; i++) await dev.ReadAsync(i, buffer.Memory, cts.Token);
        // Every registration was removed when its request ended: cancelling now reaches no (reused) request.
        cts.Cancel();
        await dev.ReadAsync(0, buffer.Memory);
        Assert.That(engine.Device.GetQueue(0).Counters.Errors, Is.Zero);
        Assert.That(DeviceRequests(engine), Is.EqualTo(101));
    }

    [Test]
    public void LiveTokenAllocatesNothingPerIo()
    {
        // A token that can fire costs a registration per request; the runtime reuses its nodes, so after warm-up
        // a cancellable request allocates no more than an uncancellable one: nothing.
        using var engine = ManualEngine.Start("mem:16M", queueSize: 64);
        var dev = engine.Device;
        using var buffer = dev.Rent(4096);
        using var cts = new CancellationTokenSource();
        void Cycle(int count)
        {
            for (int i = 0; i < count; i++)
            {
                var task = dev.ReadAsync(i % 1000 * 8, buffer.Memory, cts.Token);
                while (!task.IsCompleted) engine.PollOnce();
                task.GetAwaiter().GetResult();
            }
        }
        Cycle(3_000);
        SteadyAllocation.AssertSteady(SteadyAllocation.OnThisThread(() => Cycle(20_000)), "20,000 cancellable I/Os");
    }

    [Test]
    [CancelAfter(30_000)]
    public void CancelledStatusIsNamed()
    {
        Assert.That(Enum.IsDefined(IoStatus.Canceled), Is.True);
        Assert.That((byte)IoStatus.Canceled, Is.GreaterThanOrEqualTo(0x80), "an engine status, never a device status byte");
    }
}
