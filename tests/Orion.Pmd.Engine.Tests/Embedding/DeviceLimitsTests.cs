using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Virtio;

namespace Orion.Pmd.Engine.Tests.Embedding;

/// <summary>The device's alignment and limits as the storage layer reads them, and the callback form of write-zeroes.</summary>
[NonParallelizable]
public class DeviceLimitsTests
{
    [Test]
    public void LimitsComeFromTheNegotiatedConfiguration()
    {
        using var engine = ManualEngine.Start("mem:16M,bs=4096");
        var dev = engine.Device;
        Assert.That(dev.BlockSize, Is.EqualTo(4096));
        Assert.That(dev.PhysicalBlockSize % dev.BlockSize, Is.Zero);
        Assert.That(dev.MinimumIoBytes, Is.GreaterThanOrEqualTo(dev.BlockSize));
        Assert.That(dev.OptimalIoBytes % dev.BlockSize, Is.Zero);
        Assert.That(dev.BufferAlignment, Is.EqualTo(4096));
        Assert.That(dev.SupportsFlush, Is.EqualTo(dev.Features.HasFlag(VirtioFeatures.BlkFlush)));
        Assert.That(dev.SupportsDiscard, Is.True);
        Assert.That(dev.SupportsWriteZeroes, Is.True);
        Assert.That(dev.MaxDiscardBlocks, Is.InRange(1, dev.BlockCount));
        Assert.That(dev.MaxWriteZeroesBlocks, Is.InRange(1, dev.BlockCount));
        Assert.That(dev.DiscardGranularityBytes % dev.BlockSize, Is.Zero);
        Assert.That(dev.MaxSegments, Is.GreaterThan(1));
        Assert.That(dev.MaxTransferBytes, Is.GreaterThanOrEqualTo(dev.BlockSize));
    }

    [Test]
    public void FeaturesTheDeviceLacksReadAsUnavailable()
    {
        using var engine = ManualEngine.Start("mem:16M", tweak: o => o with
        {
            DeviceFeatures = VirtioFeatures.Version1 | VirtioFeatures.BlkSegMax | VirtioFeatures.BlkBlockSize,
        });
        var dev = engine.Device;
        Assert.That(dev.SupportsFlush, Is.False);
        Assert.That(dev.SupportsDiscard, Is.False);
        Assert.That(dev.SupportsWriteZeroes, Is.False);
        Assert.That(dev.MaxDiscardBlocks, Is.Zero);
        Assert.That(dev.MaxWriteZeroesBlocks, Is.Zero);
        Assert.That(dev.PhysicalBlockSize, Is.EqualTo(dev.BlockSize), "no topology: the logical block");
        Assert.That(dev.OptimalIoBytes, Is.Zero, "no topology: no suggestion");
        Assert.That(dev.WriteCacheEnabled, Is.False, "no FLUSH: no volatile cache");
        Assert.That(() => dev.WriteZeroesAsync(0, 1), Throws.InstanceOf<NotSupportedException>());
    }

    [Test]
    [CancelAfter(30_000)]
    public void WriteZeroesThroughTheCallbackForm()
    {
        using var engine = PmdEngine.Start(new EngineOptions { Device = "mem:16M", Pin = false, BufferMemoryBytes = 8 << 20 });
        var dev = engine.Device;
        using var data = dev.Rent(8 * 512);
        data.Span.Fill(0xEE);
        dev.WriteAsync(0, data.Memory).AsTask().Wait(TimeSpan.FromSeconds(10));
        var queue = dev.GetQueue(0);
        var done = new RecordingCompletion();
        Exception? error = null;
        bool submitted = false;
        using var ran = new ManualResetEventSlim();
        queue.Reactor.Post(_ =>
        {
            try
            {
                submitted = queue.TrySubmitWriteZeroes(2, 4, mayUnmap: false, done, 9);
                Assert.That(() => queue.TrySubmitWriteZeroes(dev.BlockCount, 1, false, done, 0), Throws.InstanceOf<ArgumentOutOfRangeException>());
                Assert.That(() => queue.TrySubmitWriteZeroes(0, long.MaxValue, false, done, 0), Throws.InstanceOf<ArgumentOutOfRangeException>(),
                            "a huge count is refused, never overflowed into a small one");
            }
            catch (Exception e) { error = e; }
            finally { ran.Set(); }
        }, null);
        Assert.That(ran.Wait(TimeSpan.FromSeconds(10)), Is.True);
        Assert.That(error, Is.Null);
        Assert.That(submitted, Is.True);
        Assert.That(done.Signal.Wait(TimeSpan.FromSeconds(10)), Is.True);
        Assert.That(done.Status, Is.EqualTo(IoStatus.Ok));
        Assert.That(done.Tag, Is.EqualTo(9));
        using var back = dev.Rent(8 * 512);
        dev.ReadAsync(0, back.Memory).AsTask().Wait(TimeSpan.FromSeconds(10));
        var bytes = back.Span.ToArray();
        Assert.That(bytes[..1024], Is.All.EqualTo((byte)0xEE));
        Assert.That(bytes[1024..3072], Is.All.EqualTo((byte)0));
        Assert.That(bytes[3072..], Is.All.EqualTo((byte)0xEE));
    }

    [Test]
    [CancelAfter(60_000)]
    public void CallersOnManyThreadsSpreadOverEveryQueue()
    {
        using var engine = PmdEngine.Start(new EngineOptions { Device = "null:16M", Queues = 2, Pin = false, BufferMemoryBytes = 8 << 20 });
        var dev = engine.Device;
        const int threads = 4, each = 50;
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            using var b = dev.Rent(4096);
            for (int i = 0; i < each; i++) dev.ReadAsync(i, b.Memory).AsTask().Wait();
        })).ToArray();
        foreach (var w in workers) w.Start();
        foreach (var w in workers) Assert.That(w.Join(TimeSpan.FromSeconds(40)), Is.True);
        long q0 = dev.GetQueue(0).Counters.Requests, q1 = dev.GetQueue(1).Counters.Requests;
        Assert.That(q0 + q1, Is.EqualTo(threads * each));
        // Four new threads get four consecutive home tickets: two threads per queue.
        Assert.That(q0, Is.EqualTo(threads * each / 2), "queue 0's share");
        Assert.That(q1, Is.EqualTo(threads * each / 2), "queue 1's share");
    }
}
