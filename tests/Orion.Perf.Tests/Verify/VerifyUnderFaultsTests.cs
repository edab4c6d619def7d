using Orion.Perf.Verify;

namespace Orion.Perf.Tests.Verify;

/// <summary>
/// Verification when writes fail or race: a failed write leaves its blocks unknown (it may or may not have reached the
/// medium, even after a later write), and so do two writes to one block in flight together (they may land in either
/// order, for example when the first times out and is retried after the second). Neither is a false mismatch.
/// </summary>
public class VerifyUnderFaultsTests
{
    private const int BlockSize = 512;
    private const int ChunkBlocks = 8;
    private const int ChunkBytes = BlockSize * ChunkBlocks;
    private const ulong Seed = 42;

    private static VerifyTracker Tracker() => new(regionStartLba: 0, regionBlocks: 16 * ChunkBlocks, ChunkBlocks, BlockSize, maxChunksPerIo: 1, slots: 4, Seed);

    private static byte[] Data(int seed)
    {
        var b = new byte[ChunkBytes];
        new Random(seed).NextBytes(b);
        return b;
    }

    [Test]
    public void AFailedWriteThatReachedTheMediumAfterAllIsNotAMismatch()
    {
        var t = Tracker();
        var good = Data(1);
        t.WriteIssued(0, good, 0, 1);
        t.WriteCompleted(0, 0, 1, ok: true);
        var failed = Data(2);
        t.WriteIssued(1, failed, 0, 1);
        t.WriteCompleted(1, 0, 1, ok: false);
        t.ReadIssued(2, 0, 1);
        Assert.That(t.ReadCompleted(2, failed, 0, 1, afterWrites: false), Is.Zero, "the failed write's data was found");
        t.ReadIssued(2, 0, 1);
        Assert.That(t.ReadCompleted(2, good, 0, 1, afterWrites: false), Is.Zero, "or the older data");
        Assert.That(t.UnknownAfterFailedWrite, Is.EqualTo(1));
        Assert.That(t.Mismatches, Is.Zero);
    }

    [Test]
    public void AFailedWriteMakesTheBlockUnknownEvenIfALaterOverlappingWriteSucceeds()
    {
        var t = Tracker();
        var first = Data(1);
        var second = Data(2);
        t.WriteIssued(0, first, 0, 1);
        t.WriteIssued(1, second, 0, 1);
        t.WriteCompleted(0, 0, 1, ok: false);     // timed out and reset away: it may still land after the second
        t.WriteCompleted(1, 0, 1, ok: true);
        t.ReadIssued(2, 0, 1);
        Assert.That(t.ReadCompleted(2, first, 0, 1, afterWrites: true), Is.Zero);
        Assert.That(t.CheckedAfterWrites, Is.Zero);
    }

    [Test]
    public void OverlappingWritesLeaveTheBlockUnknownUntilAWriteAloneRewritesIt()
    {
        var t = Tracker();
        var older = Data(1);
        var newer = Data(2);
        t.WriteIssued(0, older, 0, 1);
        t.WriteIssued(1, newer, 0, 1);
        t.WriteCompleted(1, 0, 1, ok: true);
        t.WriteCompleted(0, 0, 1, ok: true);      // the older one landed last
        t.ReadIssued(2, 0, 1);
        Assert.That(t.ReadCompleted(2, older, 0, 1, afterWrites: false), Is.Zero, "not a mismatch: either could be last");
        Assert.That(t.UnknownAfterOverlap, Is.EqualTo(1));

        // A write issued with nothing else in flight to the block makes it checkable again.
        var alone = Data(3);
        t.WriteIssued(0, alone, 0, 1);
        t.WriteCompleted(0, 0, 1, ok: true);
        t.ReadIssued(2, 0, 1);
        Assert.That(t.ReadCompleted(2, older, 0, 1, afterWrites: false), Is.EqualTo(1), "stale data is caught again");
        t.ReadIssued(2, 0, 1);
        Assert.That(t.ReadCompleted(2, alone, 0, 1, afterWrites: false), Is.Zero);
    }

    [Test]
    public void TheReadBackSkipsBlocksLeftUnknown()
    {
        var t = Tracker();
        t.WriteIssued(0, Data(1), 0, 1);
        t.WriteCompleted(0, 0, 1, ok: false);
        t.WriteIssued(0, Data(2), t.LbaOf(1), 1);
        t.WriteCompleted(0, t.LbaOf(1), 1, ok: true);
        long cursor = 0;
        Assert.That(t.NextWrittenRun(ref cursor, 4, out long firstBlock, out int count), Is.True);
        Assert.That((firstBlock, count), Is.EqualTo((1L, 1)));
    }
}
