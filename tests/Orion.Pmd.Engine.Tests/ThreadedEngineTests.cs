using Orion.Pmd.Device;
using Orion.Pmd.Engine;
using Orion.Pmd.Engine.Requests;

namespace Orion.Pmd.Engine.Tests;

/// <summary>
/// The engine on real threads: a reactor and a device thread, unpinned and yielding when idle so a 2-core machine
/// stays usable. Callers on the thread pool await from many tasks at once.
/// </summary>
public class ThreadedEngineTests
{
    private static EngineOptions Options(EmbeddedDeviceMode mode, int queues = 1) => new()
    {
        Device = "mem:32M",
        Queues = queues,
        QueueSize = 64,
        Pin = false,
        DeviceMode = mode,
        BufferMemoryBytes = 16 << 20,
    };

    [TestCase(EmbeddedDeviceMode.Polled, 1)]
    [TestCase(EmbeddedDeviceMode.KickDriven, 1)]
    [TestCase(EmbeddedDeviceMode.Adaptive, 1)]
    [TestCase(EmbeddedDeviceMode.Adaptive, 2)]
    [TestCase(EmbeddedDeviceMode.Polled, 2)]
    [CancelAfter(60_000)]
    public async Task ConcurrentWritersThenReadersSeeTheirData(EmbeddedDeviceMode mode, int queues)
    {
        using var engine = PmdEngine.Start(Options(mode, queues));
        var dev = engine.Device;
        const int Tasks = 8, PerTask = 200;
        await Task.WhenAll(Enumerable.Range(0, Tasks).Select(t => Task.Run(async () =>
        {
            using var buf = dev.Rent(4096);
            for (int i = 0; i < PerTask; i++)
            {
                long lba = (t * PerTask + i) * 8L;
                buf.Span.Fill((byte)(t * 31 + i));
                await dev.WriteAsync(lba, buf.Memory);
            }
        })));
        await Task.Delay(50);     // an idle gap: a device that can sleep does, and the next request must kick it
        await Task.WhenAll(Enumerable.Range(0, Tasks).Select(t => Task.Run(async () =>
        {
            var managed = new byte[4096];     // bounced on purpose
            for (int i = 0; i < PerTask; i++)
            {
                long lba = (t * PerTask + i) * 8L;
                await dev.ReadAsync(lba, managed);
                Assert.That(managed, Is.All.EqualTo((byte)(t * 31 + i)), $"task {t} request {i}");
            }
        })));
        long requests = Enumerable.Range(0, queues).Sum(q => dev.GetQueue(q).Counters.Requests);
        Assert.That(requests, Is.EqualTo(2 * Tasks * PerTask));
        if (mode is EmbeddedDeviceMode.KickDriven or EmbeddedDeviceMode.Adaptive)
        {
            // Summed over queues: callers spread over queues by thread, so one queue may see little traffic.
            var device = ((EmbeddedTransport)engine.Transport).Device;
            Assert.That(Enumerable.Range(0, queues).Sum(q => dev.GetQueue(q).Counters.Kicks), Is.GreaterThan(0), "a sleeping device needs doorbells");
            Assert.That(Enumerable.Range(0, queues).Sum(q => device.GetQueueStats(q).Sleeps), Is.GreaterThan(0));
        }
        else
        {
            Assert.That(dev.GetQueue(0).Counters.Kicks, Is.LessThan(dev.GetQueue(0).Counters.Batches / 2 + 10),
                "a polling device suppresses almost all doorbells");
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task DisposeDrainsInFlightRequestsAndRefusesNewOnes()
    {
        var engine = PmdEngine.Start(Options(EmbeddedDeviceMode.Polled));
        var dev = engine.Device;
        var buffers = Enumerable.Range(0, 32).Select(_ => dev.Rent(4096)).ToArray();
        var tasks = buffers.Select((b, i) => dev.ReadAsync(i * 8, b.Memory).AsTask()).ToArray();
        engine.Dispose();
        foreach (var t in tasks)
        {
            try { await t; }
            catch (BlockDeviceException e) { Assert.That(e.Status, Is.EqualTo(IoStatus.Aborted)); }
        }
        Assert.That(() => dev.ReadAsync(0, buffers[0].Memory), Throws.TypeOf<ObjectDisposedException>());
        Assert.That(engine.Outstanding, Is.Zero);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task MonitorReportsLatencyAndCounters()
    {
        using var engine = PmdEngine.Start(Options(EmbeddedDeviceMode.Polled));
        var dev = engine.Device;
        using var buf = dev.Rent(4096);
        for (int i = 0; i < 500; i++) await dev.ReadAsync(i * 8, buf.Memory);
        var snap = engine.Monitor.TakeSnapshot();
        Assert.That(snap.Latency.TotalCount, Is.EqualTo(500));
        Assert.That(snap.Queues[0].Counters.Requests, Is.EqualTo(500));
        Assert.That(snap.Queues[0].Counters.Bytes, Is.EqualTo(500 * 4096));
        Assert.That(snap.Latency.GetValueAtPercentile(50), Is.GreaterThan(0));
        Assert.That(snap.BufferPoolInUseBytes, Is.EqualTo(4096));
        var again = engine.Monitor.TakeSnapshot();
        Assert.That(again.Latency.TotalCount, Is.Zero, "each snapshot holds the latency since the previous one");
    }
}
