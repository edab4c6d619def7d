using Orion.Pmd.Engine;
using Orion.Pmd.Engine.Requests;

namespace Orion.Pmd.Engine.Tests;

/// <summary>
/// What an engine's <see cref="PmdEngine.Dispose"/> leaves behind: requests the device never completed, and buffer
/// handles that outlive the engine's memory.
/// </summary>
public class DisposeTests
{
    private static EngineOptions Options(string device, bool onReactors) => new()
    {
        Device = device,
        Queues = 1,
        QueueSize = 32,
        Pin = false,
        BufferMemoryBytes = 4 << 20,
        DrainTimeout = TimeSpan.FromMilliseconds(100),
        Threading = onReactors ? EngineThreading.Threads : EngineThreading.Manual,
    };

    [TestCase(true)]
    [TestCase(false)]
    [CancelAfter(30_000)]
    public async Task RequestTheDeviceNeverCompletesFailsWhenTheDrainTimesOut(bool onReactors)
    {
        // The device drops every request: it stays in the ring, and the drain can only time out.
        var engine = PmdEngine.Start(Options("mem:16M,fault=drop:every=1", onReactors));
        var dev = engine.Device;
        using var buf = dev.Rent(4096);
        var dma = dev.ReadAsync(0, buf.Memory).AsTask();
        var bounced = dev.ReadAsync(8, new byte[4096]).AsTask();        // through a bounce buffer
        if (!onReactors)
        {
            // Nothing places the requests but a poll: place them now, so they are held by the ring, not pending.
            for (int i = 0; i < 10; i++) engine.PollOnce();
        }
        else
        {
            await Task.Delay(100);                                       // the reactor places both
        }
        engine.Dispose();

        foreach (var task in new[] { dma, bounced })
        {
            var finished = await Task.WhenAny(task, Task.Delay(5_000));
            Assert.That(finished, Is.SameAs(task), "a request still in the ring when the drain timed out never completed");
            Assert.That(task.IsFaulted, Is.True);
            var e = (BlockDeviceException)task.Exception!.InnerException!;
            Assert.That(e.Status, Is.EqualTo(IoStatus.Aborted));
            Assert.That(e.Message, Does.Contain("engine stopped"));
        }
        Assert.That(engine.Outstanding, Is.Zero);
    }

    [Test]
    public void BufferKeptPastDisposeRefusesAccessInsteadOfReachingUnmappedMemory()
    {
        var engine = PmdEngine.Start(Options("mem:16M", onReactors: false) with { ZeroBuffersOnReturn = true });
        var buf = engine.Device.Rent(4096);
        var memory = buf.Memory;
        buf.Span[0] = 1;
        engine.Dispose();

        Assert.That(buf.IsDisposed, Is.True);
        var e = Assert.Throws<ObjectDisposedException>(() => _ = buf.Span)!;
        Assert.That(e.Message, Does.Contain("engine"));
        Assert.Throws<ObjectDisposedException>(() => _ = buf.Memory);
        Assert.Throws<ObjectDisposedException>(() => _ = memory.Span);
        Assert.Throws<ObjectDisposedException>(() => memory.Pin());
        Assert.Throws<ObjectDisposedException>(() => engine.Device.Rent(4096));
        Assert.DoesNotThrow(() => buf.Dispose(), "returning a buffer of a stopped engine is harmless (and zeroes nothing)");
        Assert.DoesNotThrow(() => buf.Dispose());
    }
}
