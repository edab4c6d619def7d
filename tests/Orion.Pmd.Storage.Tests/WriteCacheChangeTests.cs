using Orion.Pmd.Storage.Tests.Support;

namespace Orion.Pmd.Storage.Tests;

/// <summary>
/// The log and the page store follow the device's write-cache mode as it is now, not as it was when they were opened:
/// switched to write-back afterwards, a commit must still flush before it is acknowledged, or it is not durable.
/// </summary>
public class WriteCacheChangeTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task TheLogFlushesOnceTheWriteCacheIsTurnedOnAfterItOpened()
    {
        using var engine = Engines.Start();
        engine.Device.SetWriteCache(false);
        var counting = new CountingStorage(BlockStorage.Of(engine.Device));
        await using var log = await WriteAheadLog.FormatAsync(counting);
        await log.AppendAsync(new byte[100]);
        Assert.That(counting.Flushes, Is.Zero, "write-through: no flush needed");

        engine.Device.SetWriteCache(true);
        long before = counting.Flushes;
        await log.AppendAsync(new byte[100]);
        Assert.That(counting.Flushes, Is.GreaterThan(before), "write-back: the commit is flushed");
        Assert.That(log.Statistics.Flushes, Is.GreaterThan(0));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ThePageStoreFlushesOnceTheWriteCacheIsTurnedOnAfterItOpened()
    {
        using var engine = Engines.Start();
        engine.Device.SetWriteCache(false);
        var counting = new CountingStorage(BlockStorage.Of(engine.Device, 0, 2048));
        await using var store = await PageStore.FormatAsync(counting, new PageStoreOptions { PageCount = 8 });
        long before = counting.Flushes;
        await store.WritePageAsync(1, new byte[100]);
        Assert.That(counting.Flushes, Is.EqualTo(before), "write-through: no flush needed");

        engine.Device.SetWriteCache(true);
        before = counting.Flushes;
        await store.WritePageAsync(2, new byte[100]);
        Assert.That(counting.Flushes, Is.GreaterThan(before), "write-back: the page write is flushed");
    }
}
