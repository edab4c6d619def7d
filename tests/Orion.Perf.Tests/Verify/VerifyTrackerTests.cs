using Orion.Perf.Options;
using Orion.Perf.Verify;

namespace Orion.Perf.Tests.Verify;

/// <summary>The header format and the tracker's bookkeeping, without an engine: what a read must find, and when it is checked at all.</summary>
[TestFixture]
public class VerifyTrackerTests
{
    private const int BlockSize = 512;
    private const int ChunkBlocks = 8;                  // 4 KiB headers
    private const int ChunkBytes = BlockSize * ChunkBlocks;
    private const ulong Seed = 0x1234_5678_9abc_def0UL;

    private static VerifyTracker Tracker(int maxChunksPerIo = 4, int slots = 4) =>
        new(regionStartLba: 64, regionBlocks: 64 * ChunkBlocks, ChunkBlocks, BlockSize, maxChunksPerIo, slots, Seed);

    private static byte[] Random(int bytes, int seed = 1)
    {
        var b = new byte[bytes];
        new Random(seed).NextBytes(b);
        return b;
    }

    [Test]
    public void HeaderStampsAndReadsBackInFiosLayout()
    {
        var block = Random(ChunkBytes);
        VerifyHeader.Stamp(block, VerifyMode.Crc32c, offset: 40960, Seed, sequence: 7, thread: 3, issuedNs: 5_000_000_123);
        var h = VerifyHeader.Read(block);
        Assert.That(h, Is.EqualTo(new VerifyHeader(0xacca, 5, ChunkBytes, Seed, 40960, 5, 123, 3, 7, VerifyHeader.ComputeHeaderCrc(block))));
        Assert.That(BitConverter.ToUInt16(block, 0), Is.EqualTo(0xacca), "magic first");
        Assert.That(BitConverter.ToUInt64(block, 16), Is.EqualTo(40960), "fio's offset field at byte 16, after rand_seed");
        Assert.That(BitConverter.ToUInt32(block, 40), Is.EqualTo(FioChecksum.Crc32cNoInvert(block.AsSpan(44))), "the checksum after the 40-byte header covers the data after it");
        Assert.That(VerifyHeader.ChecksumMatches(block, VerifyMode.Crc32c, out _, out _), Is.True);
        block[100] ^= 1;
        Assert.That(VerifyHeader.ChecksumMatches(block, VerifyMode.Crc32c, out _, out _), Is.False, "the checksum covers the data after the header");
        block[100] ^= 1;
        block[17] ^= 1;
        Assert.That(VerifyHeader.ComputeHeaderCrc(block), Is.Not.EqualTo(h.Crc), "the header CRC seals the header");
    }

    [Test]
    public void WhatWasWrittenReadsBackClean()
    {
        var t = Tracker();
        var data = Random(2 * ChunkBytes);
        long lba = 64 + 3 * ChunkBlocks;
        t.WriteIssued(slot: 0, data, lba, blocks: 2);
        t.WriteCompleted(slot: 0, lba, blocks: 2, ok: true);
        t.ReadIssued(slot: 1, lba, blocks: 2);
        Assert.That(t.ReadCompleted(slot: 1, data, lba, blocks: 2, afterWrites: true), Is.Zero);
        Assert.That(t.CheckedAfterWrites, Is.EqualTo(2));
        Assert.That(t.Mismatches, Is.Zero);
        Assert.That(t.WrittenBlocks(), Is.EqualTo(2));
    }

    [Test]
    public void CorruptedDataIsAMismatchWithItsOffsetAndCrc()
    {
        var t = Tracker();
        var data = Random(ChunkBytes);
        long lba = 64 + 5 * ChunkBlocks;
        t.WriteIssued(0, data, lba, 1);
        t.WriteCompleted(0, lba, 1, true);
        data[2000] ^= 0xFF;
        t.ReadIssued(1, lba, 1);
        Assert.That(t.ReadCompleted(1, data, lba, 1, afterWrites: false), Is.EqualTo(1));
        Assert.That(t.Mismatches, Is.EqualTo(1));
        var m = t.Recorded[0];
        Assert.That(m.Offset, Is.EqualTo(lba * BlockSize));
        Assert.That(m.Length, Is.EqualTo(ChunkBytes));
        Assert.That(m.Found.Crc, Is.EqualTo(m.ComputedCrc), "the header is intact");
        Assert.That(m.ChecksumOk, Is.False);
        Assert.That(m.Problems(), Has.Some.StartsWith("crc32c stored 0x"));
        Assert.That(m.Describe(), Does.Contain($"offset {lba * BlockSize}").And.Contain("expected header: magic=0xacca"));
    }

    [Test]
    public void AnOlderWriteIsStaleData()
    {
        var t = Tracker();
        long lba = 64;
        var first = Random(ChunkBytes, 1);
        t.WriteIssued(0, first, lba, 1);
        t.WriteCompleted(0, lba, 1, true);
        var old = first.ToArray();
        var second = Random(ChunkBytes, 2);
        t.WriteIssued(0, second, lba, 1);
        t.WriteCompleted(0, lba, 1, true);
        t.ReadIssued(1, lba, 1);
        Assert.That(t.ReadCompleted(1, old, lba, 1, true), Is.EqualTo(1), "the device returned the first write: a lost write");
        Assert.That(t.Recorded[0].Problems(), Has.Some.Contains("stale data"));
        Assert.That(t.Recorded[0].Problems(), Has.None.Contains("crc32c"), "the old block is intact, only old");
    }

    [Test]
    public void DataForAnotherBlockIsAMisdirectedWrite()
    {
        var t = Tracker();
        var a = Random(ChunkBytes, 1);
        var b = Random(ChunkBytes, 2);
        t.WriteIssued(0, a, 64, 1);
        t.WriteIssued(1, b, 64 + ChunkBlocks, 1);
        t.WriteCompleted(0, 64, 1, true);
        t.WriteCompleted(1, 64 + ChunkBlocks, 1, true);
        t.ReadIssued(2, 64, 1);
        Assert.That(t.ReadCompleted(2, b, 64, 1, true), Is.EqualTo(1));
        Assert.That(t.Recorded[0].Problems(), Has.Some.Contains("misdirected write"));
    }

    [Test]
    public void ZeroesAreNotABlockThisJobWrote()
    {
        var t = Tracker();
        t.WriteIssued(0, Random(ChunkBytes), 64, 1);
        t.WriteCompleted(0, 64, 1, true);
        t.ReadIssued(1, 64, 1);
        Assert.That(t.ReadCompleted(1, new byte[ChunkBytes], 64, 1, true), Is.EqualTo(1));
        Assert.That(t.Recorded[0].Problems()[0], Does.StartWith("no verify header (magic 0x0000"));
    }

    [Test]
    public void BlocksNeverWrittenAreNotChecked()
    {
        var t = Tracker();
        t.ReadIssued(0, 64, 2);
        Assert.That(t.ReadCompleted(0, new byte[2 * ChunkBytes], 64, 2, false), Is.Zero);
        Assert.That(t.CheckedInline, Is.Zero);
    }

    [Test]
    public void AReadRacingAWriteIsNotChecked()
    {
        var t = Tracker();
        var data = Random(ChunkBytes);
        t.WriteIssued(0, data, 64, 1);
        t.WriteCompleted(0, 64, 1, true);
        // A second write is in flight when the read is issued: old or new data would both be right.
        t.WriteIssued(1, Random(ChunkBytes, 5), 64, 1);
        t.ReadIssued(2, 64, 1);
        t.WriteCompleted(1, 64, 1, true);
        Assert.That(t.ReadCompleted(2, data, 64, 1, false), Is.Zero);
        // A write issued while the read is in flight: likewise.
        t.ReadIssued(2, 64, 1);
        t.WriteIssued(1, Random(ChunkBytes, 6), 64, 1);
        t.WriteCompleted(1, 64, 1, true);
        Assert.That(t.ReadCompleted(2, data, 64, 1, false), Is.Zero);
        Assert.That(t.CheckedInline, Is.Zero);
    }

    [Test]
    public void AFailedWriteLeavesItsBlockUnchecked()
    {
        var t = Tracker();
        t.WriteIssued(0, Random(ChunkBytes), 64, 1);
        t.WriteCompleted(0, 64, 1, ok: false);
        t.ReadIssued(1, 64, 1);
        Assert.That(t.ReadCompleted(1, new byte[ChunkBytes], 64, 1, true), Is.Zero);
        Assert.That(t.WrittenBlocks(), Is.Zero);
    }

    [Test]
    public void ReadBackWalksWrittenRunsNoLongerThanABuffer()
    {
        var t = Tracker(maxChunksPerIo: 2);
        foreach (long block in new long[] { 1, 2, 3, 7, 63 })
        {
            t.WriteIssued(0, Random(ChunkBytes), t.LbaOf(block), 1);
            t.WriteCompleted(0, t.LbaOf(block), 1, true);
        }
        long cursor = 0;
        var runs = new List<(long, int)>();
        while (t.NextWrittenRun(ref cursor, 2, out long first, out int count)) runs.Add((first, count));
        Assert.That(runs, Is.EqualTo(new[] { (1L, 2), (3L, 1), (7L, 1), (63L, 1) }));
    }

    [Test]
    public void OnlyTheFirstMismatchesAreKeptInDetail()
    {
        var t = Tracker(maxChunksPerIo: 1, slots: 1);
        for (long block = 0; block < 20; block++)
        {
            long lba = t.LbaOf(block);
            t.WriteIssued(0, Random(ChunkBytes), lba, 1);
            t.WriteCompleted(0, lba, 1, true);
            t.ReadIssued(0, lba, 1);
            t.ReadCompleted(0, new byte[ChunkBytes], lba, 1, true);
        }
        Assert.That(t.Mismatches, Is.EqualTo(20));
        Assert.That(t.Recorded.Length, Is.EqualTo(VerifyTracker.MaxRecorded));
    }
}
