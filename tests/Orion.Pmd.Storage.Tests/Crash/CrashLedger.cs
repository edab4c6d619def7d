using System.Globalization;
using Orion.Storage.CrashWorker;

namespace Orion.Pmd.Storage.Tests.Crash;

/// <summary>
/// What the crash workers reported durable, over every round: each record's LSN and identity, each page's newest
/// acknowledged version and token; and the check that a recovered log and page store hold all of it.
/// </summary>
internal sealed class CrashLedger
{
    public Dictionary<long, (int Round, int Task, long Seq)> Records { get; } = [];
    public Dictionary<long, (long Version, long Token)> Pages { get; } = [];

    /// <summary>Takes the worker's whole report lines (a line cut off by the kill lacks its " $" and is ignored).</summary>
    public void Absorb(IEnumerable<string> lines)
    {
        foreach (var line in lines)
        {
            if (!line.EndsWith(" $", StringComparison.Ordinal)) continue;
            var f = line.Split(' ');
            if (f[0] == "R")
            {
                long lsn = long.Parse(f[1], CultureInfo.InvariantCulture);
                var id = (int.Parse(f[2], CultureInfo.InvariantCulture), int.Parse(f[3], CultureInfo.InvariantCulture), long.Parse(f[4], CultureInfo.InvariantCulture));
                if (Records.TryGetValue(lsn, out var earlier) && earlier != id)
                    Assert.Fail($"LSN {lsn} was acknowledged twice: for {earlier} and later for {id}: a committed record was overwritten");
                Records[lsn] = id;
            }
            else if (f[0] == "P")
            {
                long page = long.Parse(f[1], CultureInfo.InvariantCulture);
                var entry = (long.Parse(f[2], CultureInfo.InvariantCulture), long.Parse(f[3], CultureInfo.InvariantCulture));
                if (!Pages.TryGetValue(page, out var known) || entry.Item1 > known.Version) Pages[page] = entry;
            }
        }
    }

    /// <summary>Recovers the log and the page store on <paramref name="engine"/>'s device and checks them against the ledger.</summary>
    public async Task<string> VerifyAsync(Orion.Pmd.Engine.PmdEngine engine, string when)
    {
        var dev = engine.Device;
        long logBlocks = CrashWorkload.LogBlocks(dev.BlockCount);
        var recovery = await WriteAheadLog.OpenAsync(BlockStorage.Of(dev, 0, logBlocks),
                                                     new WriteAheadLogOptions { FormatIfBlank = Records.Count == 0, MaxGroupBytes = 64 * 1024 });
        await using var log = recovery.Log;
        var found = new Dictionary<long, (int, int, long)>();
        var lastSeq = new Dictionary<(int, int), long>();
        foreach (var r in recovery.Records)
        {
            Assert.That(CrashWorkload.TryParseRecord(r.Data.Span, out int round, out int task, out long seq), Is.True,
                        $"{when}: recovered record LSN {r.Lsn} ({r.Data.Length} bytes) is not one the worker wrote");
            if (lastSeq.TryGetValue((round, task), out long previous))
                Assert.That(seq, Is.GreaterThan(previous), $"{when}: LSN {r.Lsn}: appender {round}/{task}'s records out of order");
            lastSeq[(round, task)] = seq;
            found[r.Lsn] = (round, task, seq);
        }
        foreach (var (lsn, id) in Records)
        {
            Assert.That(found.TryGetValue(lsn, out var got), Is.True, $"{when}: committed record LSN {lsn} {id} is missing (recovered {recovery.Records.Count}, next LSN {recovery.NextLsn})");
            Assert.That(got, Is.EqualTo(id), $"{when}: LSN {lsn} holds another record");
        }

        await using var store = await PageStore.OpenAsync(BlockStorage.Of(dev, logBlocks, dev.BlockCount - logBlocks),
                                                          new PageStoreOptions { FormatIfBlank = Pages.Count == 0, PageCount = CrashWorkload.Pages });
        Assert.That(store.CorruptedPages, Is.Empty, $"{when}: corrupted pages");
        var payload = new byte[PageStore.PayloadSize];
        for (long page = 0; page < CrashWorkload.Pages; page++)
        {
            long version = await store.ReadPageAsync(page, payload);
            if (version > 0)
                Assert.That(CrashWorkload.TryParsePage(payload, page, out _), Is.True, $"{when}: page {page} version {version} is not a page the worker wrote");
            if (!Pages.TryGetValue(page, out var committed)) continue;
            Assert.That(version, Is.GreaterThanOrEqualTo(committed.Version), $"{when}: page {page} went back before its acknowledged version");
            if (version == committed.Version)
            {
                CrashWorkload.TryParsePage(payload, page, out long token);
                Assert.That(token, Is.EqualTo(committed.Token), $"{when}: page {page} version {version} holds other content than acknowledged");
            }
        }
        return $"{recovery.Records.Count} records recovered ({Records.Count} acknowledged), {Pages.Count} pages acknowledged";
    }
}
