using Orion.Pmd.Engine;
using Orion.Pmd.Virtio;

namespace Orion.Pmd.Engine.Tests.Contract;

/// <summary>
/// A device may offer any subset of the optional features: the driver falls back and never uses a feature that was
/// not negotiated. Every subset below moves data correctly and refuses what the device cannot do, clearly.
/// </summary>
public class FeatureSubsetTests
{
    private static readonly VirtioFeatures[] Optional =
    [
        VirtioFeatures.RingIndirectDesc, VirtioFeatures.RingEventIdx, VirtioFeatures.BlkMultiQueue, VirtioFeatures.BlkFlush,
        VirtioFeatures.BlkDiscard, VirtioFeatures.BlkWriteZeroes, VirtioFeatures.BlkBlockSize, VirtioFeatures.BlkTopology,
        VirtioFeatures.BlkSegMax, VirtioFeatures.BlkConfigWce,
    ];

    private static IEnumerable<TestCaseData> Subsets()
    {
        // Every single feature alone, none at all, all of them, and a fixed sample of random subsets.
        yield return new TestCaseData(VirtioFeatures.None).SetArgDisplayNames("none");
        foreach (var f in Optional) yield return new TestCaseData(f).SetArgDisplayNames(f.ToString());
        yield return new TestCaseData(Optional.Aggregate(VirtioFeatures.None, (a, b) => a | b)).SetArgDisplayNames("all");
        var rnd = new Random(2026);
        for (int i = 0; i < 12; i++)
        {
            var set = Optional.Where(_ => rnd.Next(2) == 0).Aggregate(VirtioFeatures.None, (a, b) => a | b);
            yield return new TestCaseData(set).SetArgDisplayNames($"random{i}");
        }
    }

    [TestCaseSource(nameof(Subsets))]
    public void SubsetMovesDataAndRefusesTheRest(VirtioFeatures optional)
    {
        var offered = VirtioFeatures.Version1 | optional;
        using var engine = ManualEngine.Start("mem:8M,bs=4096", queueSize: 16, tweak: o => o with { DeviceFeatures = offered });
        var dev = engine.Device;
        Assert.That(dev.Features & ~offered, Is.EqualTo(VirtioFeatures.None), "never accepts what was not offered");
        // Without BLK_SIZE the driver must not assume the device's 4096-byte blocks: it addresses 512-byte sectors.
        Assert.That(dev.BlockSize, Is.EqualTo(optional.HasFlag(VirtioFeatures.BlkBlockSize) ? 4096 : 512));

        int unit = 4096;
        var buffers = Enumerable.Range(0, 24).Select(i => dev.Rent(unit)).ToArray();
        try
        {
            for (int i = 0; i < buffers.Length; i++) buffers[i].Span.Fill((byte)(i + 7));
            long Lba(int i) => (long)i * unit / dev.BlockSize;
            var writes = buffers.Select((b, i) => dev.WriteAsync(Lba(i), b.Memory)).ToArray();
            Assert.That(engine.RunUntil(() => writes.All(t => t.IsCompleted)), Is.True);
            foreach (var t in writes) t.GetAwaiter().GetResult();
            engine.Wait(dev.FlushAsync());
            foreach (var b in buffers) b.Span.Clear();
            var reads = buffers.Select((b, i) => dev.ReadAsync(Lba(i), b.Memory)).ToArray();
            Assert.That(engine.RunUntil(() => reads.All(t => t.IsCompleted)), Is.True);
            foreach (var t in reads) t.GetAwaiter().GetResult();
            for (int i = 0; i < buffers.Length; i++) Assert.That(buffers[i].Span.ToArray(), Is.All.EqualTo((byte)(i + 7)));

            // Whole 4 KiB units: a driver without BLK_SIZE cannot know the device's block size, and the device
            // rightly refuses ranges that split its blocks.
            long blocks = unit / dev.BlockSize;
            if (optional.HasFlag(VirtioFeatures.BlkDiscard)) engine.Wait(dev.DiscardAsync(0, blocks));
            else Assert.That(() => dev.DiscardAsync(0, blocks), Throws.TypeOf<NotSupportedException>());
            if (optional.HasFlag(VirtioFeatures.BlkWriteZeroes)) engine.Wait(dev.WriteZeroesAsync(blocks, blocks));
            else Assert.That(() => dev.WriteZeroesAsync(blocks, blocks), Throws.TypeOf<NotSupportedException>());
        }
        finally
        {
            foreach (var b in buffers) b.Dispose();
        }
    }

    [Test]
    public void WriteCacheModeFollowsConfigWce()
    {
        using var engine = ManualEngine.Start();
        var dev = engine.Device;
        var device = ((EmbeddedTransport)engine.Transport).Device;
        Assert.That(dev.WriteCacheEnabled, Is.True, "FLUSH and writeback=1: a volatile cache");
        dev.SetWriteCache(false);
        Assert.That(dev.WriteCacheEnabled, Is.False);
        Assert.That(device.WriteCacheEnabled, Is.False, "the device switched to write-through");
        dev.SetWriteCache(true);
        Assert.That(device.WriteCacheEnabled, Is.True);

        using var noWce = ManualEngine.Start(tweak: o => o with { DeviceFeatures = VirtioFeatures.Version1 | VirtioFeatures.BlkFlush });
        Assert.That(noWce.Device.WriteCacheEnabled, Is.True, "FLUSH without CONFIG_WCE: the cache is there and fixed");
        Assert.That(() => noWce.Device.SetWriteCache(false), Throws.TypeOf<NotSupportedException>().With.Message.Contains("CONFIG_WCE"));

        using var noFlush = ManualEngine.Start(tweak: o => o with { DeviceFeatures = VirtioFeatures.Version1 });
        Assert.That(noFlush.Device.WriteCacheEnabled, Is.False, "no FLUSH: writes are durable when they complete");
    }

    [Test]
    public void MoreQueuesThanTheDeviceServesIsAClearError()
    {
        Assert.That(() => ManualEngine.Start(queues: 2, tweak: o => o with { DeviceFeatures = VirtioFeatures.Version1 }),
            Throws.TypeOf<NotSupportedException>().With.Message.Contains("serves 1 queue"));
    }
}
