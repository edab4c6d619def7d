using Orion.Pmd.Engine;
using Orion.Pmd.Engine.Volumes;
using Orion.Pmd.Storage.Tests.Support;

namespace Orion.Pmd.Storage.Tests;

/// <summary>
/// The write-ahead log on a real engine: records come back after reopen exactly and in order; concurrent appenders
/// share group writes and flushes; a torn or corrupted tail ends recovery before it; a stale frame after the tail,
/// from a group that was never acknowledged, is scrubbed so it never follows a new record; truncation and
/// re-formatting make old frames invalid; full logs, oversized records and unusable storage fail clearly.
/// </summary>
public class WriteAheadLogTests
{
    private static byte[] RecordOf(int i) => Enumerable.Range(0, 1 + (i * 37) % 700).Select(k => (byte)(k + i * 3)).ToArray();

    /// <summary>Byte offset, from the start of the log's storage, of the frame of the <paramref name="index"/>th record (0-based) written so far.</summary>
    private static long FrameOffset(int blockSize, IEnumerable<byte[]> records, int index)
        => 2L * blockSize + records.Take(index).Sum(r => (long)LogFrame.SizeOf(r.Length));

    [Test]
    public async Task RecordsComeBackInOrderAfterReopen()
    {
        using var engine = Engines.Start();
        var storage = BlockStorage.Of(engine.Device);
        await using (var log = await WriteAheadLog.FormatAsync(storage))
        {
            Assert.That(log.NextLsn, Is.EqualTo(1));
            for (int i = 0; i < 100; i++) Assert.That(await log.AppendAsync(RecordOf(i)), Is.EqualTo(i + 1));
            var concurrent = await Task.WhenAll(Enumerable.Range(100, 100).Select(i => log.AppendAsync(RecordOf(i)).AsTask()));
            Assert.That(concurrent.Order(), Is.EqualTo(Enumerable.Range(101, 100).Select(i => (long)i)));
        }
        var recovery = await WriteAheadLog.OpenAsync(storage);
        await using var reopened = recovery.Log;
        Assert.That(recovery.Records, Has.Count.EqualTo(200));
        Assert.That(recovery.NextLsn, Is.EqualTo(201));
        Assert.That(recovery.Records.Select(r => r.Lsn), Is.EqualTo(Enumerable.Range(1, 200).Select(i => (long)i)));
        for (int i = 0; i < 100; i++)
            Assert.That(recovery.Records[i].Data.ToArray(), Is.EqualTo(RecordOf(i)), $"record {i + 1}");
        // The concurrent ones landed in some order; each is one of those appended, exactly once.
        Assert.That(recovery.Records.Skip(100).Select(r => r.Data.ToArray().Length + ":" + Convert.ToHexString(r.Data.Span)).Order(),
                    Is.EqualTo(Enumerable.Range(100, 100).Select(i => RecordOf(i).Length + ":" + Convert.ToHexString(RecordOf(i))).Order()));
        Assert.That(await reopened.AppendAsync(RecordOf(7)), Is.EqualTo(201), "appends continue after the recovered records");
    }

    [Test]
    public async Task ConcurrentAppendersShareGroupWritesAndFlushes()
    {
        using var engine = Engines.Start();
        Assert.That(engine.Device.WriteCacheEnabled, Is.True, "the RAM disk offers a write cache by default");
        var counting = new CountingStorage(BlockStorage.Of(engine.Device));
        await using var log = await WriteAheadLog.FormatAsync(counting);
        long writesBefore = counting.Writes, flushesBefore = counting.Flushes;
        var requestsBefore = engine.Device.GetQueue(0).Counters.Requests;
        const int appenders = 64, each = 50;
        await Task.WhenAll(Enumerable.Range(0, appenders).Select(a => Task.Run(async () =>
        {
            for (int i = 0; i < each; i++) await log.AppendAsync(new byte[128]);
        })));
        var stats = log.Statistics;
        long writes = counting.Writes - writesBefore, flushes = counting.Flushes - flushesBefore;
        long requests = engine.Device.GetQueue(0).Counters.Requests - requestsBefore;
        TestContext.Out.WriteLine($"{stats.Appends} appends in {stats.Groups} groups: {writes} writes, {flushes} flushes, {requests} device requests");
        Assert.That(stats.Appends, Is.EqualTo(appenders * each));
        Assert.That(writes, Is.EqualTo(stats.Groups), "one write per group");
        Assert.That(flushes, Is.EqualTo(stats.Groups), "one flush per group when the write cache is on");
        Assert.That(stats.Flushes, Is.EqualTo(flushes));
        Assert.That(stats.Groups, Is.LessThan(stats.Appends), "groups carried more than one append");
        Assert.That(requests, Is.EqualTo(writes + flushes), "the device saw exactly the groups' writes and flushes");
    }

    [Test]
    public async Task WithTheWriteCacheOffNoFlushIsSent()
    {
        using var engine = Engines.Start();
        engine.Device.SetWriteCache(false);
        var counting = new CountingStorage(BlockStorage.Of(engine.Device));
        await using var log = await WriteAheadLog.FormatAsync(counting);
        await Task.WhenAll(Enumerable.Range(0, 20).Select(i => log.AppendAsync(RecordOf(i)).AsTask()));
        Assert.That(counting.Flushes, Is.Zero);
        Assert.That(log.Statistics.Flushes, Is.Zero);
        Assert.That(log.Statistics.Appends, Is.EqualTo(20));
    }

    [Test]
    public async Task ATornTailEndsRecoveryBeforeIt()
    {
        using var engine = Engines.Start();
        var storage = BlockStorage.Of(engine.Device);
        var records = Enumerable.Range(0, 10).Select(RecordOf).ToList();
        await using (var log = await WriteAheadLog.FormatAsync(storage))
            foreach (var r in records) await log.AppendAsync(r);
        // Damage the last record's payload, as a torn write of its block would.
        long last = FrameOffset(engine.Device.BlockSize, records, 9);
        await Engines.OverwriteAsync(engine.Device, last + LogFrame.HeaderBytes + 1, 3, i => (byte)(0xA5 + i));

        var recovery = await WriteAheadLog.OpenAsync(storage);
        await using (recovery.Log)
        {
            Assert.That(recovery.Records.Select(r => r.Data.ToArray()), Is.EqualTo(records.Take(9)));
            Assert.That(recovery.NextLsn, Is.EqualTo(10));
            Assert.That(await recovery.Log.AppendAsync(RecordOf(99)), Is.EqualTo(10), "the torn record's LSN is reused");
        }
        var again = await WriteAheadLog.OpenAsync(storage);
        await using (again.Log)
            Assert.That(again.Records.Select(r => r.Data.ToArray()), Is.EqualTo(records.Take(9).Append(RecordOf(99))));
    }

    [Test]
    public async Task ADamagedFrameInTheMiddleEndsRecoveryThere()
    {
        using var engine = Engines.Start();
        var storage = BlockStorage.Of(engine.Device);
        var records = Enumerable.Range(0, 30).Select(RecordOf).ToList();
        await using (var log = await WriteAheadLog.FormatAsync(storage))
            foreach (var r in records) await log.AppendAsync(r);
        await Engines.OverwriteAsync(engine.Device, FrameOffset(engine.Device.BlockSize, records, 12) + 2, 1, _ => 0x7F);  // the length field
        var recovery = await WriteAheadLog.OpenAsync(storage);
        await using (recovery.Log)
            Assert.That(recovery.Records.Select(r => r.Lsn), Is.EqualTo(Enumerable.Range(1, 12).Select(i => (long)i)));
    }

    [Test]
    public async Task AStaleFrameAfterTheTailIsScrubbedAndNeverFollowsANewRecord()
    {
        using var engine = Engines.Start();
        var storage = BlockStorage.Of(engine.Device);
        var records = Enumerable.Range(0, 5).Select(_ => new byte[100]).ToList();
        ulong generation;
        await using (var log = await WriteAheadLog.FormatAsync(storage))
        {
            foreach (var r in records) await log.AppendAsync(r);
            generation = (await RegionHeader.ReadAsync(storage, WriteAheadLog.Magic, WriteAheadLog.FormatVersion, "log"))!.Value.Generation;
        }
        // A crash in the middle of a group of LSN 6 and 7: 7 landed whole, 6 did not. LSN 6 is sized to end exactly
        // on a block boundary, so the new LSN 6 written after recovery ends there too and its block's zero padding
        // cannot hide the stale LSN 7 that starts the next block: only the scrub can.
        int bs = engine.Device.BlockSize;
        long tail = FrameOffset(bs, records, 5);
        int length6 = bs - (int)(tail % bs) - LogFrame.HeaderBytes;
        int size6 = LogFrame.SizeOf(length6), size7 = LogFrame.SizeOf(100);
        Assert.That((tail + size6) % bs, Is.Zero);
        var frames = new byte[size6 + size7];
        LogFrame.Write(frames, 6, generation, new byte[length6]);
        LogFrame.Write(frames.AsSpan(size6), 7, generation, Enumerable.Repeat((byte)0xEE, 100).ToArray());
        frames[30] ^= 0xFF;                                      // LSN 6 torn
        await Engines.OverwriteAsync(engine.Device, tail, frames.Length, i => frames[i]);

        var recovery = await WriteAheadLog.OpenAsync(storage);
        await using (recovery.Log)
        {
            Assert.That(recovery.Records, Has.Count.EqualTo(5));
            Assert.That(await recovery.Log.AppendAsync(new byte[length6]), Is.EqualTo(6));   // lands exactly where the torn LSN 6 was
        }
        var again = await WriteAheadLog.OpenAsync(storage);
        await using (again.Log)
        {
            Assert.That(again.Records, Has.Count.EqualTo(6), "the unacknowledged LSN 7 from before the crash must not reappear");
            Assert.That(again.NextLsn, Is.EqualTo(7));
        }
    }

    [Test]
    public async Task TruncationAndReformattingMakeOldFramesInvalid()
    {
        using var engine = Engines.Start();
        var storage = BlockStorage.Of(engine.Device);
        await using (var log = await WriteAheadLog.FormatAsync(storage))
        {
            for (int i = 0; i < 10; i++) await log.AppendAsync(RecordOf(i));
            await log.TruncateAsync();
            Assert.That(log.FirstLsn, Is.EqualTo(11));
            Assert.That(log.UsedBytes, Is.Zero);
            for (int i = 0; i < 3; i++) Assert.That(await log.AppendAsync(new byte[8]), Is.EqualTo(11 + i));
        }
        var recovery = await WriteAheadLog.OpenAsync(storage);
        await using (recovery.Log)
        {
            Assert.That(recovery.Records.Select(r => r.Lsn), Is.EqualTo(new long[] { 11, 12, 13 }), "frames of the older generation beyond the new tail are not records");
            Assert.That(recovery.Records.All(r => r.Data.Length == 8), Is.True);
        }
        await (await WriteAheadLog.FormatAsync(storage)).DisposeAsync();
        var fresh = await WriteAheadLog.OpenAsync(storage);
        await using (fresh.Log)
        {
            Assert.That(fresh.Records, Is.Empty);
            Assert.That(fresh.NextLsn, Is.EqualTo(1));
        }
    }

    [Test]
    public async Task ManyWaitingAppendsAreHeldBackNotFailed()
    {
        using var engine = Engines.Start();
        await using var log = await WriteAheadLog.FormatAsync(BlockStorage.Of(engine.Device), new WriteAheadLogOptions { MaxPendingAppends = 2 });
        var lsns = await Task.WhenAll(Enumerable.Range(0, 300).Select(i => log.AppendAsync(RecordOf(i)).AsTask()));
        Assert.That(lsns.Order(), Is.EqualTo(Enumerable.Range(1, 300).Select(i => (long)i)));
    }

    [Test]
    public async Task AFullLogRefusesWithAClearErrorAndKeepsWhatItAcknowledged()
    {
        using var engine = Engines.Start();
        var options = new WriteAheadLogOptions { MaxGroupBytes = 4096 };
        var storage = BlockStorage.Of(engine.Device, 100, 2 + 2 * 4096 / engine.Device.BlockSize);
        long acknowledged = 0;
        await using (var log = await WriteAheadLog.FormatAsync(storage, options))
        {
            var full = await Assert.ThrowsAsync<WriteAheadLogFullException>(async () =>
            {
                while (true) { await log.AppendAsync(new byte[500]); acknowledged++; }
            });
            Assert.That(full!.Message, Does.Contain("full"));
            Assert.That(acknowledged, Is.EqualTo(2 * 4096 / LogFrame.SizeOf(500)));
        }
        var recovery = await WriteAheadLog.OpenAsync(storage, options);
        await using (recovery.Log)
            Assert.That(recovery.Records, Has.Count.EqualTo(acknowledged));
    }

    [Test]
    public async Task ALogOnAVolumeRecovers()
    {
        using var engine = Engines.Start();
        var volume = engine.Device.CreateVolume("wal", 1000, 2000, VolumeAccess.ReadWrite);
        var storage = BlockStorage.Of(volume);
        await using (var log = await WriteAheadLog.FormatAsync(storage))
            for (int i = 0; i < 20; i++) await log.AppendAsync(RecordOf(i));
        var recovery = await WriteAheadLog.OpenAsync(storage);
        await using (recovery.Log)
            Assert.That(recovery.Records.Select(r => r.Data.ToArray()), Is.EqualTo(Enumerable.Range(0, 20).Select(RecordOf)));
        // Nothing landed outside the volume: the device's first blocks are still zero.
        using var head = engine.Device.Rent(1000 * engine.Device.BlockSize);
        await engine.Device.ReadAsync(0, head.Memory);
        Assert.That(head.Span.IndexOfAnyExcept((byte)0), Is.EqualTo(-1));
    }

    [Test]
    public async Task BadInputIsRefusedClearly()
    {
        using var engine = Engines.Start();
        var storage = BlockStorage.Of(engine.Device);
        await using var log = await WriteAheadLog.FormatAsync(storage, new WriteAheadLogOptions { MaxGroupBytes = 8192 });
        var tooLarge = Assert.Throws<ArgumentException>(() => log.AppendAsync(new byte[log.MaxRecordBytes + 1]));
        Assert.That(tooLarge!.Message, Does.Contain($"{log.MaxRecordBytes} bytes"));
        Assert.That(await log.AppendAsync(new byte[log.MaxRecordBytes]), Is.EqualTo(1), "the largest record fits");

        var tiny = BlockStorage.Of(engine.Device, 0, 5);
        var small = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => WriteAheadLog.FormatAsync(tiny));
        Assert.That(small!.Message, Does.Contain("needs at least"));
        await Assert.ThrowsAsync<ArgumentException>(() => WriteAheadLog.FormatAsync(storage, new WriteAheadLogOptions { MaxGroupBytes = 1000 }));
        await Assert.ThrowsAsync<ArgumentException>(() => WriteAheadLog.FormatAsync(storage, new WriteAheadLogOptions { MaxGroupBytes = 64 << 20 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => BlockStorage.Of(engine.Device, engine.Device.BlockCount - 1, 2));

        var blank = BlockStorage.Of(engine.Device, 20000, 1000);
        var notFormatted = await Assert.ThrowsAsync<StorageFormatException>(() => WriteAheadLog.OpenAsync(blank));
        Assert.That(notFormatted!.Message, Does.Contain("blank"));
        await (await PageStore.FormatAsync(blank)).DisposeAsync();
        var wrongKind = await Assert.ThrowsAsync<StorageFormatException>(() => WriteAheadLog.OpenAsync(blank));
        Assert.That(wrongKind!.Message, Does.Contain("another structure"));

        var garbage = BlockStorage.Of(engine.Device, 22000, 1000);
        await Engines.OverwriteAsync(engine.Device, 22000L * engine.Device.BlockSize, 64, i => (byte)(i + 1));
        await Assert.ThrowsAsync<StorageFormatException>(() => WriteAheadLog.OpenAsync(garbage, new WriteAheadLogOptions { FormatIfBlank = true }),
                                                    "a non-blank, non-log header is never formatted over implicitly");
    }

    [Test]
    public async Task AppendsAfterDisposeAreRefused()
    {
        using var engine = Engines.Start();
        var log = await WriteAheadLog.FormatAsync(BlockStorage.Of(engine.Device));
        var pending = Enumerable.Range(0, 50).Select(i => log.AppendAsync(RecordOf(i)).AsTask()).ToArray();
        await log.DisposeAsync();
        Assert.That((await Task.WhenAll(pending)).Order(), Is.EqualTo(Enumerable.Range(1, 50).Select(i => (long)i)), "accepted appends are written before dispose returns");
        Assert.Throws<ObjectDisposedException>(() => log.AppendAsync(new byte[1]));
    }

    [Test]
    public async Task AppendsAllocateNothingInTheSteadyState()
    {
        // On storage that allocates nothing itself, so what is measured is the log's own cost (the device path's
        // is the engine's business and has its own tests).
        await using var log = await WriteAheadLog.FormatAsync(new MemoryStorage(512, 64 * 1024));
        var record = new byte[128];
        async Task Run(int appends)
        {
            for (int i = 0; i < appends; i++) await log.AppendAsync(record);
        }
        // On the thread pool: NUnit runs async tests under a SynchronizationContext, which costs every await a post.
        await Task.Run(() => Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Run(2000))));     // warm-up: pools, JIT, tiering
        const int each = 5000;
        long before = GC.GetTotalAllocatedBytes(precise: true);
        await Task.Run(() => Task.WhenAll(Run(each), Run(each), Run(each), Run(each)));
        long bytes = GC.GetTotalAllocatedBytes(precise: true) - before;
        TestContext.Out.WriteLine($"{bytes} bytes allocated in the process for {4 * each} appends in {log.Statistics.Groups} groups");
        // The four loops' own tasks and state machines take a few hundred bytes; anything per append would be 20,000x.
        Assert.That(bytes, Is.LessThan(4 * each * 4), "bytes per append in the steady state");
    }
}

