using Orion.Pmd.Virtio;

namespace Orion.Pmd.Engine.Tests.Embedding;

/// <summary>
/// The durability rules of docs/embedding.md, on a disk whose volatile cache a power loss empties: an acknowledged
/// write is durable at once with the write cache off (or when the device has no FLUSH), and only after a later
/// <see cref="BlockDevice.FlushAsync"/> completes with the cache on.
/// </summary>
[NonParallelizable]
public class DurabilityTests
{
    private const int Blocks = 16;

    private static PmdEngine Start(VolatileCacheBackend disk, VirtioFeatures? features = null) => PmdEngine.Start(new EngineOptions
    {
        Device = "mem:4M",
        Pin = false,
        BufferMemoryBytes = 4 << 20,
        EmbeddedDeviceFactory = spec => EmbeddedDevice.Prepare(spec, disk),
        DeviceFeatures = features,
    });

    private static async Task WriteBlocks(BlockDevice dev, int first, int count, byte value)
    {
        using var data = dev.Rent(dev.BlockSize);
        data.Span.Fill(value);
        for (int i = first; i < first + count; i++) await dev.WriteAsync(i, data.Memory);
    }

    /// <summary>After the crash: the first byte of each block (they are written whole).</summary>
    private static async Task<byte[]> Reboot(VolatileCacheBackend disk)
    {
        disk.PowerLoss();
        await using var engine = Start(disk);
        var dev = engine.Device;
        var result = new byte[Blocks * 2];
        using var back = dev.Rent(dev.BlockSize);
        for (int i = 0; i < result.Length; i++)
        {
            await dev.ReadAsync(i, back.Memory);
            Assert.That(back.Span.ToArray(), Is.All.EqualTo(back.Span[0]), $"block {i} is whole");
            result[i] = back.Span[0];
        }
        return result;
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task WithTheWriteCacheOnOnlyFlushedWritesSurvive()
    {
        var disk = new VolatileCacheBackend(4 << 20);
        await using (var engine = Start(disk))
        {
            var dev = engine.Device;
            Assert.That(dev.WriteCacheEnabled, Is.True);
            await WriteBlocks(dev, 0, Blocks, 0xA1);
            await dev.FlushAsync();                             // everything acknowledged before it is durable
            await WriteBlocks(dev, Blocks, Blocks, 0xB2);       // acknowledged, never flushed
        }
        var after = await Reboot(disk);
        Assert.That(after[..Blocks], Is.All.EqualTo((byte)0xA1), "flushed writes survive the power loss");
        Assert.That(after[Blocks..], Is.All.EqualTo((byte)0), "acknowledged but unflushed writes may be lost (here they are)");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ADurableWriteSurvivesAPowerLoss_AndPlainWritesAfterItMayNot()
    {
        var disk = new VolatileCacheBackend(4 << 20);
        await using (var engine = Start(disk))
        {
            var dev = engine.Device;
            Assert.That(dev.WriteCacheEnabled, Is.True);
            using var data = dev.Rent(dev.BlockSize);
            data.Span.Fill(0xD4);
            for (int i = 0; i < Blocks; i++) await dev.WriteDurableAsync(i, data.Memory);
            Assert.That(disk.Flushes, Is.EqualTo(Blocks), "each durable write sent its flush");
            await WriteBlocks(dev, Blocks, Blocks, 0xE5);       // acknowledged, never flushed
        }
        var after = await Reboot(disk);
        Assert.That(after[..Blocks], Is.All.EqualTo((byte)0xD4), "durable writes survive the power loss");
        Assert.That(after[Blocks..], Is.All.EqualTo((byte)0), "plain writes after them were not flushed");
    }

    /// <summary>
    /// The embedded device's flush covers writes made available before it, so the engine places a durable write's
    /// flush beside the write instead of after its completion: both are at the (slow) device at once.
    /// </summary>
    [Test]
    [CancelAfter(60_000)]
    public async Task ADurableWritePlacesItsFlushBesideTheWrite_OnADeviceWhoseFlushCoversEarlierWrites()
    {
        await using var engine = PmdEngine.Start(new EngineOptions { Device = "mem:16M,delay=300ms", Pin = false, BufferMemoryBytes = 4 << 20 });
        var dev = engine.Device;
        var queue = dev.GetQueue(0);
        using var data = dev.Rent(dev.BlockSize);
        var durable = dev.WriteDurableAsync(5, data.Memory).AsTask();
        Assert.That(() => queue.Counters.InFlight, Is.EqualTo(2).After(20_000, 1), "the write and its flush at the device together");
        await durable;
        Assert.That(queue.Counters.InFlight, Is.Zero);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task WithTheWriteCacheOffEveryAcknowledgedWriteSurvives()
    {
        var disk = new VolatileCacheBackend(4 << 20);
        await using (var engine = Start(disk))
        {
            var dev = engine.Device;
            dev.SetWriteCache(false);
            Assert.That(dev.WriteCacheEnabled, Is.False);
            await WriteBlocks(dev, 0, Blocks * 2, 0xC3);        // no flush at all
        }
        var after = await Reboot(disk);
        Assert.That(after, Is.All.EqualTo((byte)0xC3));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task WriteThroughChosenByTheOwnerSurvivesADeviceReset()
    {
        var disk = new VolatileCacheBackend(4 << 20);
        await using (var engine = Start(disk))
        {
            var dev = engine.Device;
            dev.SetWriteCache(false);
            await WriteBlocks(dev, 0, Blocks, 0xE5);
            engine.ResetDevice();                               // the device comes back in its default (writeback) mode...
            Assert.That(dev.WriteCacheEnabled, Is.False, "...and the engine writes the owner's choice again");
            await WriteBlocks(dev, Blocks, Blocks, 0xE6);       // no flush: write-through must still mean durable
        }
        var after = await Reboot(disk);
        Assert.That(after[..Blocks], Is.All.EqualTo((byte)0xE5));
        Assert.That(after[Blocks..], Is.All.EqualTo((byte)0xE6));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task DeviceWithoutFlushIsWriteThrough()
    {
        var disk = new VolatileCacheBackend(4 << 20);
        var noFlush = VirtioFeatures.Version1 | VirtioFeatures.BlkSegMax | VirtioFeatures.BlkBlockSize | VirtioFeatures.RingIndirectDesc;
        await using (var engine = Start(disk, noFlush))
        {
            var dev = engine.Device;
            Assert.That(dev.SupportsFlush, Is.False);
            Assert.That(dev.WriteCacheEnabled, Is.False, "without FLUSH the driver takes the device for write-through");
            await WriteBlocks(dev, 0, Blocks * 2, 0xD4);
            await dev.FlushAsync();                              // completes at once: nothing to flush
        }
        var after = await Reboot(disk);
        Assert.That(after, Is.All.EqualTo((byte)0xD4), "the device kept its word: acknowledged means durable");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task FlushCoversWritesAcknowledgedBeforeItWasSubmitted()
    {
        var disk = new VolatileCacheBackend(4 << 20);
        await using (var engine = Start(disk))
        {
            var dev = engine.Device;
            // Concurrent writers; each flush is issued after the writes it must cover have been acknowledged.
            var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
            {
                await WriteBlocks(dev, w * 4, 4, (byte)(0x10 + w));
                await dev.FlushAsync();
            })).ToArray();
            await Task.WhenAll(writers);
        }
        var after = await Reboot(disk);
        for (int w = 0; w < 4; w++) Assert.That(after[(w * 4)..(w * 4 + 4)], Is.All.EqualTo((byte)(0x10 + w)), $"writer {w}");
        Assert.That(disk.Flushes, Is.GreaterThanOrEqualTo(1));
    }
}
