using Orion.Pmd.Engine;
using Orion.Pmd.Storage.Tests.Support;

namespace Orion.Pmd.Storage.Tests;

/// <summary>
/// The page store on a real engine: versions increase and survive reopen; a damaged newest slot falls back to the
/// previous version; a torn first write reads as never written; two damaged slots are reported as corruption and
/// never returned; formatting retires old pages; bad page numbers, payloads and storage fail clearly.
/// </summary>
public class PageStoreTests
{
    private const long First = 4096;                              // the store's first device block in these tests
    private const long Blocks = 2048;

    private static byte[] PayloadOf(long page, int version) => Enumerable.Range(0, 100 + (int)(page * 13 + version * 7) % 3900).Select(i => (byte)(i + page + version * 5)).ToArray();

    private static IBlockStorage StorageOf(PmdEngine engine) => BlockStorage.Of(engine.Device, First, Blocks);

    private static async Task<byte[]> ReadAsync(PageStore store, long page, int length)
    {
        var data = new byte[length];
        await store.ReadPageAsync(page, data);
        return data;
    }

    /// <summary>Writes random bytes over one slot, as a torn or failing write would leave it.</summary>
    private static Task GarbleAsync(PmdEngine engine, PageStore store, long page, int slot)
    {
        var rnd = new Random((int)page * 2 + slot);
        return Engines.OverwriteAsync(engine.Device, (First + store.SlotLba(page, slot)) * engine.Device.BlockSize + 50, 2000, _ => (byte)rnd.Next(256));
    }

    [Test]
    public async Task PagesKeepTheirNewestVersionAcrossReopen()
    {
        using var engine = Engines.Start();
        await using (var store = await PageStore.FormatAsync(StorageOf(engine), new PageStoreOptions { PageCount = 50 }))
        {
            Assert.That(store.PageCount, Is.EqualTo(50));
            for (int v = 1; v <= 3; v++)
                for (long p = 0; p < 50; p += 7)
                    Assert.That(await store.WritePageAsync(p, PayloadOf(p, v)), Is.EqualTo(v));
            Assert.That(await ReadAsync(store, 7, 100), Is.EqualTo(PayloadOf(7, 3).Take(100)));
        }
        await using var reopened = await PageStore.OpenAsync(StorageOf(engine));
        Assert.That(reopened.PageCount, Is.EqualTo(50));
        Assert.That(reopened.CorruptedPages, Is.Empty);
        for (long p = 0; p < 50; p++)
        {
            var page = new byte[PageStore.PayloadSize];
            long version = await reopened.ReadPageAsync(p, page);
            if (p % 7 != 0)
            {
                Assert.That(version, Is.Zero, $"page {p} was never written");
                Assert.That(page.All(b => b == 0), Is.True);
                continue;
            }
            Assert.That(version, Is.EqualTo(3), $"page {p}");
            var expected = PayloadOf(p, 3);
            Assert.That(page.Take(expected.Length), Is.EqualTo(expected));
            Assert.That(page.Skip(expected.Length).All(b => b == 0), Is.True, "the rest of a page reads as zeroes");
        }
        Assert.That(await reopened.WritePageAsync(14, PayloadOf(14, 4)), Is.EqualTo(4));
    }

    [Test]
    public async Task ADamagedNewestSlotFallsBackToThePreviousVersion([Values] bool reopen)
    {
        using var engine = Engines.Start();
        var store = await PageStore.FormatAsync(StorageOf(engine), new PageStoreOptions { PageCount = 8 });
        await store.WritePageAsync(3, PayloadOf(3, 1));               // slot A
        await store.WritePageAsync(3, PayloadOf(3, 2));               // slot B
        await GarbleAsync(engine, store, 3, 1);
        if (reopen)
        {
            await store.DisposeAsync();
            store = await PageStore.OpenAsync(StorageOf(engine));
            Assert.That(store.GetVersion(3), Is.EqualTo(1));
        }
        await using (store)
        {
            var page = new byte[PageStore.PayloadSize];
            Assert.That(await store.ReadPageAsync(3, page), Is.EqualTo(1));
            Assert.That(page.Take(PayloadOf(3, 1).Length), Is.EqualTo(PayloadOf(3, 1)));
            Assert.That(store.CorruptedPages, Is.Empty);
            // The next write goes over the damaged slot, never over the intact version.
            Assert.That(await store.WritePageAsync(3, PayloadOf(3, 9)), Is.EqualTo(2));
            Assert.That(await ReadAsync(store, 3, 100), Is.EqualTo(PayloadOf(3, 9).Take(100)));
        }
        await using var again = await PageStore.OpenAsync(StorageOf(engine));
        Assert.That(await ReadAsync(again, 3, 100), Is.EqualTo(PayloadOf(3, 9).Take(100)));
    }

    [Test]
    public async Task ATornFirstWriteReadsAsNeverWritten()
    {
        using var engine = Engines.Start();
        await using (var store = await PageStore.FormatAsync(StorageOf(engine), new PageStoreOptions { PageCount = 8 }))
            await GarbleAsync(engine, store, 5, 0);
        await using var reopened = await PageStore.OpenAsync(StorageOf(engine));
        Assert.That(reopened.CorruptedPages, Is.Empty);
        Assert.That(await reopened.ReadPageAsync(5, new byte[10]), Is.Zero);
        Assert.That(await reopened.WritePageAsync(5, PayloadOf(5, 1)), Is.EqualTo(1));
        Assert.That(await ReadAsync(reopened, 5, 50), Is.EqualTo(PayloadOf(5, 1).Take(50)));
    }

    [Test]
    public async Task APageWithBothSlotsDamagedIsReportedNeverReturned()
    {
        using var engine = Engines.Start();
        await using (var store = await PageStore.FormatAsync(StorageOf(engine), new PageStoreOptions { PageCount = 8 }))
        {
            await store.WritePageAsync(2, PayloadOf(2, 1));
            await store.WritePageAsync(2, PayloadOf(2, 2));
            await store.WritePageAsync(4, PayloadOf(4, 1));
            await GarbleAsync(engine, store, 2, 0);
            await GarbleAsync(engine, store, 2, 1);
            await GarbleAsync(engine, store, 4, 0);
            var live = await Assert.ThrowsAsync<PageCorruptedException>(async () => await store.ReadPageAsync(4, new byte[10]));
            Assert.That(live!.PageNumber, Is.EqualTo(4), "found by a read as well as by a scan");
        }
        await using var reopened = await PageStore.OpenAsync(StorageOf(engine));
        Assert.That(reopened.CorruptedPages, Is.EqualTo(new long[] { 2 }));
        var error = await Assert.ThrowsAsync<PageCorruptedException>(async () => await reopened.ReadPageAsync(2, new byte[10]));
        Assert.That(error!.PageNumber, Is.EqualTo(2));
        Assert.That(error.Message, Does.Contain("page 2").And.Contain("corrupted"));
        // Page 4's only slot is damaged and its other slot was never written: its first write never happened as far as the store can tell.
        Assert.That(await reopened.ReadPageAsync(4, new byte[10]), Is.Zero);
        // Rewriting a corrupted page repairs it.
        await reopened.WritePageAsync(2, PayloadOf(2, 5));
        Assert.That(reopened.CorruptedPages, Is.Empty);
        Assert.That(await ReadAsync(reopened, 2, 100), Is.EqualTo(PayloadOf(2, 5).Take(100)));
    }

    [Test]
    public async Task FormattingRetiresTheOldPages()
    {
        using var engine = Engines.Start();
        await using (var store = await PageStore.FormatAsync(StorageOf(engine), new PageStoreOptions { PageCount = 8 }))
            await store.WritePageAsync(1, PayloadOf(1, 1));
        await using (var fresh = await PageStore.FormatAsync(StorageOf(engine), new PageStoreOptions { PageCount = 8 }))
            Assert.That(await fresh.ReadPageAsync(1, new byte[10]), Is.Zero);
        await using var reopened = await PageStore.OpenAsync(StorageOf(engine));
        Assert.That(reopened.GetVersion(1), Is.Zero);
    }

    [Test]
    public async Task ConcurrentWritersGetConsecutiveVersions()
    {
        using var engine = Engines.Start();
        await using var store = await PageStore.FormatAsync(StorageOf(engine), new PageStoreOptions { PageCount = 16 });
        var versions = await Task.WhenAll(Enumerable.Range(0, 160).Select(i => store.WritePageAsync(i % 16, PayloadOf(i % 16, i)).AsTask()));
        for (int p = 0; p < 16; p++)
            Assert.That(versions.Where((_, i) => i % 16 == p).Order(), Is.EqualTo(Enumerable.Range(1, 10).Select(v => (long)v)), $"page {p}");
    }

    [Test]
    public async Task BadInputIsRefusedClearly()
    {
        using var engine = Engines.Start();
        await using var store = await PageStore.FormatAsync(StorageOf(engine), new PageStoreOptions { PageCount = 8 });
        var outOfRange = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.WritePageAsync(8, new byte[1]));
        Assert.That(outOfRange!.Message, Does.Contain("pages 0 to 7"));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.ReadPageAsync(-1, new byte[1]));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.ReadPageAsync(0, new byte[PageStore.PayloadSize + 1]));
        var tooLarge = await Assert.ThrowsAsync<ArgumentException>(async () => await store.WritePageAsync(0, new byte[PageStore.PayloadSize + 1]));
        Assert.That(tooLarge!.Message, Does.Contain($"{PageStore.PayloadSize} bytes"));
        Assert.That(await store.WritePageAsync(0, new byte[PageStore.PayloadSize]), Is.EqualTo(1), "a full page fits");

        var tiny = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => PageStore.FormatAsync(BlockStorage.Of(engine.Device, 0, 20)));
        Assert.That(tiny!.Message, Does.Contain("too small"));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => PageStore.FormatAsync(StorageOf(engine), new PageStoreOptions { PageCount = 1_000_000 }));
        var blank = await Assert.ThrowsAsync<StorageFormatException>(() => PageStore.OpenAsync(BlockStorage.Of(engine.Device, 20000, 1000)));
        Assert.That(blank!.Message, Does.Contain("blank"));
    }
}
