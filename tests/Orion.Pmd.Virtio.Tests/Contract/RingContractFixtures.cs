using Orion.Pmd.Virtio.Tests.Support;

namespace Orion.Pmd.Virtio.Tests.Contract;

/// <summary>The ring contract on split queues (VirtIO 1.1 §2.6).</summary>
[TestFixture]
public sealed class SplitRingContractTests : RingContractTests
{
    private protected override RingHarness Create(int size, bool eventIdx = false, bool indirect = true, bool suppressInterrupts = true,
        ushort initialIndex = 0, int slots = -1, int slotBytes = 8192, int maxSegments = 1024)
        => new RingPair(size, eventIdx, indirect, suppressInterrupts, initialIndex, slots, slotBytes, maxSegments);
}

/// <summary>The ring contract on packed queues (VirtIO 1.1 §2.7), plus sizes only the packed format allows.</summary>
[TestFixture]
public sealed class PackedRingContractTests : RingContractTests
{
    private protected override RingHarness Create(int size, bool eventIdx = false, bool indirect = true, bool suppressInterrupts = true,
        ushort initialIndex = 0, int slots = -1, int slotBytes = 8192, int maxSegments = 1024)
        => new PackedRingPair(size, eventIdx, indirect, suppressInterrupts, slots, slotBytes, maxSegments);

    // seed, queue size (not a power of two), EVENT_IDX, INDIRECT_DESC
    [TestCase(11, 3, false, true)]
    [TestCase(12, 5, true, false)]
    [TestCase(13, 7, true, true)]
    [TestCase(14, 100, false, false)]
    public void RandomInterleaving_MatchesTheModel_OddSizes(int seed, int size, bool eventIdx, bool indirect)
    {
        using var pair = Create(size, eventIdx: eventIdx, indirect: indirect, slotBytes: 4096);
        RingModel.Run(pair, seed, indirect);
    }
}
