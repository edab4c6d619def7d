using Orion.Pmd.Engine.Requests;

namespace Orion.Pmd.Engine.Tests.Faults;

/// <summary>
/// Memory reclamation under faults: requests that die in queue resets, time out or fail give their bounce buffers
/// back; when the callers are done, the DMA pool holds nothing (a leak check), and an exhausted pool is a clear,
/// retryable error rather than a crash.
/// </summary>
[NonParallelizable]
public class ReclamationTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task BounceBuffersOfFailedAndResubmittedRequestsComeBack()
    {
        using var engine = PmdEngine.Start(new EngineOptions
        {
            Device = "mem:16M,fault=ioerr:rate=3%;drop:rate=1%;garbage=id-range:rate=1%;garbage=length:rate=1%;seed=3",
            Queues = 2,
            QueueSize = 32,
            Pin = false,
            BufferMemoryBytes = 8 << 20,
            RequestTimeout = TimeSpan.FromMilliseconds(50),
            TimeoutPolicy = TimeoutPolicy.RetryOnce,
        });
        var dev = engine.Device;
        long failed = 0;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            var plain = new byte[4096];                       // not DMA memory: every request bounces
            for (int i = 0; i < 300; i++)
            {
                try
                {
                    if (i % 2 == 0) await dev.WriteAsync((w * 300 + i) * 8L, plain);
                    else await dev.ReadAsync((w * 300 + i - 1) * 8L, plain);
                }
                catch (BlockDeviceException) { Interlocked.Increment(ref failed); }
            }
        })));
        var c = Enumerable.Range(0, 2).Select(q => dev.GetQueue(q).Counters).ToArray();
        Assert.That(c.Sum(x => x.QueueResets), Is.GreaterThan(0), "the faults forced queue resets");
        Assert.That(c.Sum(x => x.Bounces), Is.EqualTo(1200), "every request bounced once");
        Assert.That(failed, Is.GreaterThan(0));
        Assert.That(dev.Pool.InUseCount, Is.Zero, "no bounce buffer leaked");
        Assert.That(dev.Pool.InUseBytes, Is.Zero);
    }

    [Test]
    public void AnExhaustedPoolIsAClearErrorAndLosesNothing()
    {
        using var engine = ManualEngine.Start("mem:16M", tweak: o => o with { BufferMemoryBytes = 1 << 20, MaxBufferBytes = 64 << 10 });
        var dev = engine.Device;
        var held = new List<Memory.DmaBuffer>();
        while (dev.Pool.TryRent(4096, out var b)) held.Add(b);
        Assert.That(held, Is.Not.Empty);
        var e = Assert.Throws<InsufficientMemoryException>(() => dev.Rent(4096));
        Assert.That(e!.Message, Does.Contain("exhausted").And.Contain("BufferMemoryBytes"));
        // A bounced request meets the same error before anything reaches the device, and works once memory is back.
        Assert.Throws<InsufficientMemoryException>(() => dev.WriteAsync(0, new byte[4096]));
        Assert.That(dev.GetQueue(0).Counters.Requests, Is.Zero);
        foreach (var b in held) b.Dispose();
        engine.Wait(dev.WriteAsync(0, new byte[4096]));
        Assert.That(dev.Pool.InUseCount, Is.Zero);
    }
}
