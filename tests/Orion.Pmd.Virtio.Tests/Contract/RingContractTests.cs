using System.Runtime.CompilerServices;
using Orion.Pmd.Virtio.Blk;
using Orion.Pmd.Virtio.Rings;
using Orion.Pmd.Virtio.Tests.Support;

namespace Orion.Pmd.Virtio.Tests.Contract;

/// <summary>
/// What every ring format must do, written once and run against each (System.Threading.Channels' ChannelTestBase
/// idea): a derived fixture supplies a driver and a device of its format on one region, the device seeing only guest
/// addresses. Only <see cref="IDriverQueue"/> and <see cref="IDeviceQueue"/> are used here; format-specific bytes are
/// checked in each format's own tests.
/// </summary>
public abstract unsafe partial class RingContractTests
{
    /// <summary>
    /// Builds a queue pair of the fixture's format. <paramref name="initialIndex"/> starts a split queue's free-running
    /// indices there (to cross the 16-bit wrap early); the packed format has no such index and ignores it.
    /// </summary>
    private protected abstract RingHarness Create(int size, bool eventIdx = false, bool indirect = true, bool suppressInterrupts = true,
        ushort initialIndex = 0, int slots = -1, int slotBytes = 8192, int maxSegments = 1024);

    private static void AssertHealthy(RingHarness pair)
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(pair.Driver.IsBroken, Is.False, pair.Driver.ErrorMessage);
            Assert.That(pair.Device.IsBroken, Is.False, pair.Device.ErrorMessage);
            Assert.That(pair.Region.GuardsIntact, Is.True, "guard bytes around the region");
        }
    }

    [Test]
    public void Indirect_BlkRead_RoundTrip()
    {
        using var pair = Create(16);
        var segs = pair.Buffers(3, (BlkRequestHeader.Size, false), (4096, true), (1, true));
        Unsafe.Write(pair.HostOf(segs[0].GuestAddress), new BlkRequestHeader(BlkRequestType.In, 0x1234_5678));

        int id = pair.AddIndirect(3, segs);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(id, Is.InRange(0, 15));
            Assert.That(pair.Driver.FreeDescriptors, Is.EqualTo(15), "an indirect request takes one descriptor");
            Assert.That(pair.Driver.InFlight, Is.EqualTo(1));
            Assert.That(pair.Device.HasAvailable, Is.False, "nothing is visible before publish");
            Assert.That(pair.Device.TryPopAvail(pair.Chain), Is.False, "nothing is visible before publish");
        }
        Assert.That(pair.Driver.PublishAndCheckKick(), Is.True, "a fresh device wants kicks");
        Assert.That(pair.Device.HasAvailable, Is.True);

        var chain = pair.Chain;
        Assert.That(pair.Device.TryPopAvail(chain), Is.True, pair.Device.ErrorMessage);
        pair.AssertChain(chain, id, segs);
        var header = Unsafe.Read<BlkRequestHeader>((void*)chain.Segments[0].Host);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(header.Type, Is.EqualTo(BlkRequestType.In));
            Assert.That(header.Sector, Is.EqualTo(0x1234_5678UL));
        }
        new Span<byte>((void*)chain.Segments[1].Host, 4096).Fill(0x5A);
        *(byte*)chain.Segments[2].Host = (byte)BlkStatus.Ok;
        pair.Device.PushUsed(chain.Head, 4097);
        Assert.That(pair.Driver.HasPendingUsed, Is.False, "nothing is visible before the device publishes");
        pair.Device.PublishUsed();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(pair.Driver.HasPendingUsed, Is.True);
            Assert.That(pair.Driver.TryPopUsed(out ushort doneId, out uint len), Is.True, pair.Driver.ErrorMessage);
            Assert.That(doneId, Is.EqualTo(id));
            Assert.That(len, Is.EqualTo(4097u));
            Assert.That(new ReadOnlySpan<byte>(pair.HostOf(segs[1].GuestAddress), 4096).ContainsAnyExcept((byte)0x5A), Is.False, "data landed in the driver's buffer");
            Assert.That(*pair.HostOf(segs[2].GuestAddress), Is.EqualTo((byte)BlkStatus.Ok));
            Assert.That(pair.Driver.FreeDescriptors, Is.EqualTo(16), "descriptor returned");
            Assert.That(pair.Driver.InFlight, Is.Zero);
            Assert.That(pair.Driver.HasPendingUsed, Is.False);
            Assert.That(pair.Driver.TryPopUsed(out _, out _), Is.False, "nothing more");
        }
        AssertHealthy(pair);
    }

    [Test]
    public void Chain_BlkWrite_RoundTrip()
    {
        using var pair = Create(16);
        var segs = pair.Buffers(0, (BlkRequestHeader.Size, false), (512, false), (1024, false), (1, true));
        new Span<byte>(pair.HostOf(segs[2].GuestAddress), 1024).Fill(2);

        int id = pair.Driver.AddChain(segs);
        Assert.That(pair.Driver.FreeDescriptors, Is.EqualTo(12), "a chain takes one descriptor per buffer");
        Assert.That(pair.Driver.PublishAndCheckKick(), Is.True);
        Assert.That(pair.Device.TryPopAvail(pair.Chain), Is.True, pair.Device.ErrorMessage);
        pair.AssertChain(pair.Chain, id, segs);
        Assert.That(new ReadOnlySpan<byte>((void*)pair.Chain.Segments[2].Host, 1024).ContainsAnyExcept((byte)2), Is.False, "device reads the driver's data");
        pair.Device.PushUsed(pair.Chain.Head, 1);
        pair.Device.PublishUsed();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(pair.Driver.TryPopUsed(out ushort doneId, out uint len), Is.True);
            Assert.That((doneId, len), Is.EqualTo(((ushort)id, 1u)));
            Assert.That(pair.Driver.FreeDescriptors, Is.EqualTo(16));
        }
        AssertHealthy(pair);
    }

    [Test]
    public void AddArguments_AreValidated()
    {
        using var pair = Create(16);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(() => pair.Driver.AddChain([]), Throws.ArgumentException);
            Assert.That(() => pair.Driver.AddIndirect(pair.SlotGuest(0), 0, 0), Throws.TypeOf<ArgumentOutOfRangeException>());
            Assert.That(() => pair.Driver.AddIndirect(pair.SlotGuest(0), 4096, 0), Throws.TypeOf<ArgumentOutOfRangeException>());
            Assert.That(() => pair.Driver.AddIndirect(pair.SlotGuest(0), -1, 0), Throws.TypeOf<ArgumentOutOfRangeException>());
            Assert.That(() => pair.Driver.WriteIndirectTable(new byte[31], pair.Buffers(0, (1, false), (1, true))), Throws.ArgumentException, "table too small");
            Assert.That(() => pair.Driver.WriteIndirectTable(new byte[64], []), Throws.TypeOf<ArgumentOutOfRangeException>());
            Assert.That(() => pair.Driver.EnableInterruptsCoalesced(0), Throws.TypeOf<ArgumentOutOfRangeException>());
            Assert.That(() => pair.Driver.EnableInterruptsCoalesced(17), Throws.TypeOf<ArgumentOutOfRangeException>());
            Assert.That(pair.Driver.FreeDescriptors, Is.EqualTo(16));
        }
    }

    [Test]
    public void FreeDescriptors_AccountsForChainsAndRefusesWhatDoesNotFit()
    {
        using var pair = Create(16);
        var d = pair.Driver;
        int a = d.AddChain(pair.Buffers(0, (16, false), (100, true), (1, true), (1, true), (1, true)));  // 5
        int b = d.AddChain(pair.Buffers(1, (16, false), (1, true)));                                   // 2
        int c = pair.AddIndirect(2, pair.Buffers(2, (16, false), (10, true), (1, true)));               // 1
        int e = d.AddChain(pair.Buffers(3, (16, false), (50, false), (60, false), (70, false), (80, false), (90, false), (1, true)));  // 7
        using (Assert.EnterMultipleScope())
        {
            Assert.That(new[] { a, b, c, e }, Is.All.InRange(0, 15));
            Assert.That(new[] { a, b, c, e }, Is.Unique);
            Assert.That(d.FreeDescriptors, Is.EqualTo(1));
            Assert.That(d.InFlight, Is.EqualTo(4));
        }

        var snapshot = pair.Region.Snapshot();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(d.AddChain(pair.Buffers(4, (16, false), (1, true))), Is.EqualTo(-1), "two descriptors do not fit in one");
            Assert.That(d.FreeDescriptors, Is.EqualTo(1));
            Assert.That(pair.Region.Snapshot(), Is.EqualTo(snapshot), "a refused add writes nothing");
        }
        int f = d.AddChain(pair.Buffers(4, (1, true)));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(f, Is.InRange(0, 15));
            Assert.That(d.FreeDescriptors, Is.Zero);
            Assert.That(pair.AddIndirect(5, pair.Buffers(5, (1, true))), Is.EqualTo(-1), "no descriptor for an indirect request");
            Assert.That(d.AddChain(pair.Buffers(5, (1, true))), Is.EqualTo(-1));
        }
        d.PublishAndCheckKick();

        // The device completes out of order; each completion returns exactly its chain's descriptors.
        var chains = new Dictionary<int, uint>();
        while (pair.Device.TryPopAvail(pair.Chain)) chains[pair.Chain.Head] = (uint)pair.Chain.WritableBytes;
        Assert.That(chains.Keys, Is.EquivalentTo(new[] { a, b, c, e, f }), pair.Device.ErrorMessage);
        var expectFree = new[] { (b, 2), (f, 1 + 2), (a, 3 + 5), (e, 8 + 7), (c, 15 + 1) };
        foreach (var (id, free) in expectFree)
        {
            pair.Device.PushUsed((ushort)id, chains[id]);
            pair.Device.PublishUsed();
            Assert.That(d.TryPopUsed(out ushort done, out uint len), Is.True, d.ErrorMessage);
            using (Assert.EnterMultipleScope())
            {
                Assert.That((done, len), Is.EqualTo(((ushort)id, chains[id])));
                Assert.That(d.FreeDescriptors, Is.EqualTo(free), $"after completing {id}");
            }
        }

        // Everything is free again: the whole ring can be taken as one long chain (in a packed ring it crosses the end).
        var all = new (int, bool)[16];
        for (int i = 0; i < 16; i++) all[i] = (8, i >= 8);
        var longSegs = pair.Buffers(6, all);
        int g = d.AddChain(longSegs);
        Assert.That(g, Is.InRange(0, 15));
        d.PublishAndCheckKick();
        Assert.That(pair.Device.TryPopAvail(pair.Chain), Is.True, pair.Device.ErrorMessage);
        pair.AssertChain(pair.Chain, g, longSegs);
        AssertHealthy(pair);
    }

    [Test]
    public void ABatchOfMixedRequests_IsPoppedInOrderAndCompletedInAnyOrder()
    {
        using var pair = Create(16);
        var expected = new List<(int Id, BufferSegment[] Segs)>();
        for (int slot = 0; slot < 7; slot++)   // 3 indirect + 4 chains of 3 = 15 of 16 descriptors
        {
            var segs = pair.Buffers(slot, (16, false), (512 * (slot + 1), slot % 2 == 0), (1, true));
            int id = slot % 3 == 0 ? pair.AddIndirect(slot, segs) : pair.Driver.AddChain(segs);
            Assert.That(id, Is.GreaterThanOrEqualTo(0));
            expected.Add((id, segs));
        }
        Assert.That(pair.Driver.PublishAndCheckKick(), Is.True);

        var popped = new List<(ushort Head, uint Writable)>();
        foreach (var (id, segs) in expected)
        {
            Assert.That(pair.Device.TryPopAvail(pair.Chain), Is.True, pair.Device.ErrorMessage);
            pair.AssertChain(pair.Chain, id, segs);
            popped.Add((pair.Chain.Head, (uint)pair.Chain.WritableBytes));
        }
        Assert.That(pair.Device.TryPopAvail(pair.Chain), Is.False);

        popped.Reverse();
        foreach (var (head, writable) in popped) pair.Device.PushUsed(head, writable);
        pair.Device.PublishUsed();
        foreach (var (head, writable) in popped)
        {
            Assert.That(pair.Driver.TryPopUsed(out ushort id, out uint len), Is.True, pair.Driver.ErrorMessage);
            Assert.That((id, len), Is.EqualTo((head, writable)));
        }
        using (Assert.EnterMultipleScope())
        {
            Assert.That(pair.Driver.FreeDescriptors, Is.EqualTo(16));
            Assert.That(pair.Driver.InFlight, Is.Zero);
        }
        AssertHealthy(pair);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void ABatch_StaysInvisibleUntilPublished_ThenGetsOneKickDecision(bool eventIdx)
    {
        using var pair = Create(16, eventIdx: eventIdx, initialIndex: 65530);
        pair.Device.EnableKicksAndRecheck();
        var ids = new List<int>();
        for (int i = 0; i < 12; i++)
        {
            ids.Add(i % 2 == 0 ? pair.AddIndirect(i, pair.Buffers(i, (16, false), (1, true))) : pair.Driver.AddChain(pair.Buffers(i, (1, true))));
            using (Assert.EnterMultipleScope())
            {
                Assert.That(pair.Device.HasAvailable, Is.False, $"after add {i}: nothing visible before publish");
                Assert.That(pair.Device.TryPopAvail(pair.Chain), Is.False, $"after add {i}");
            }
        }
        Assert.That(pair.Driver.PublishAndCheckKick(), Is.True, "one kick for the batch");
        Assert.That(pair.Driver.PublishAndCheckKick(), Is.False, "nothing new: no second kick");
        foreach (int id in ids)
        {
            Assert.That(pair.Device.TryPopAvail(pair.Chain), Is.True, pair.Device.ErrorMessage);
            Assert.That(pair.Chain.Head, Is.EqualTo(id), "popped in the order added");
        }
        Assert.That(pair.Device.TryPopAvail(pair.Chain), Is.False);
        AssertHealthy(pair);
    }

    [TestCase(1, false)]
    [TestCase(4, true)]
    [TestCase(8, false)]
    [TestCase(16, true)]
    [TestCase(256, true)]
    public void ThousandsOfRequests_AcrossManyLapsOfTheRing(int size, bool eventIdx)
    {
        using var pair = Create(size, eventIdx: eventIdx, initialIndex: 65530, slots: size, slotBytes: 2048);
        var rng = new Random(size * 31);
        const int total = 70_000;     // many laps of every ring; a split index crosses 65535 twice
        int submitted = 0, completed = 0;
        var outstanding = new Dictionary<ushort, (int Slot, uint Writable)>();
        var freeSlots = new Stack<int>(Enumerable.Range(0, size));
        var popped = new List<(ushort Head, uint Writable)>();

        while (completed < total)
        {
            // driver: a random batch of indirect requests and chains, one publish
            int batch = rng.Next(1, size + 1);
            for (int i = 0; i < batch && submitted < total && freeSlots.Count > 0; i++)
            {
                int slot = freeSlots.Peek();
                bool useIndirect = rng.Next(2) == 0;
                int parts = useIndirect ? 2 : rng.Next(1, 4);
                if (pair.Driver.FreeDescriptors < (useIndirect ? 1 : parts)) break;
                var segs = parts == 1 ? pair.Buffers(slot, (rng.Next(1, 512), true))
                    : parts == 2 ? pair.Buffers(slot, (16, false), (rng.Next(1, 512), true))
                    : pair.Buffers(slot, (16, false), (rng.Next(1, 512), true), (1, true));
                int id = useIndirect ? pair.AddIndirect(slot, segs) : pair.Driver.AddChain(segs);
                if (id < 0) Assert.Fail($"add refused with {pair.Driver.FreeDescriptors} descriptors free");
                freeSlots.Pop();
                outstanding.Add((ushort)id, (slot, RingHarness.WritableBytes(segs)));
                submitted++;
            }
            pair.Driver.PublishAndCheckKick();

            // device: pop everything, complete in reverse order with random lengths
            popped.Clear();
            while (pair.Device.TryPopAvail(pair.Chain)) popped.Add((pair.Chain.Head, (uint)pair.Chain.WritableBytes));
            for (int i = popped.Count - 1; i >= 0; i--)
                pair.Device.PushUsed(popped[i].Head, (uint)rng.Next(0, (int)popped[i].Writable + 1));
            pair.Device.PublishUsed();

            while (pair.Driver.TryPopUsed(out ushort id, out uint len))
            {
                if (!outstanding.Remove(id, out var o)) Assert.Fail($"completion for id {id} was not outstanding");
                if (len > o.Writable) Assert.Fail($"length {len} > {o.Writable}");
                freeSlots.Push(o.Slot);
                completed++;
            }
            if (pair.Driver.IsBroken || pair.Device.IsBroken)
                Assert.Fail($"broken: driver {pair.Driver.ErrorMessage}, device {pair.Device.ErrorMessage}");
        }
        using (Assert.EnterMultipleScope())
        {
            Assert.That(outstanding, Is.Empty);
            Assert.That(pair.Driver.FreeDescriptors, Is.EqualTo(size));
            Assert.That(pair.Driver.InFlight, Is.Zero);
            Assert.That(pair.Device.HasAvailable, Is.False);
            Assert.That(pair.Driver.HasPendingUsed, Is.False);
        }
        AssertHealthy(pair);
    }

    [Test]
    public void AFullQueue_PublishedInOneBatch_RoundAfterRound()
    {
        const int size = 64;
        using var pair = Create(size, eventIdx: true, initialIndex: 65535 - 10);
        for (int round = 0; round < 5; round++)
        {
            var ids = new HashSet<int>();
            for (int i = 0; i < size; i++)
            {
                // every third request a two-descriptor chain, so the full ring is reached before 64 requests
                int id = pair.Driver.FreeDescriptors >= 2 && i % 3 == 2
                    ? pair.Driver.AddChain(pair.Buffers(i, (16, false), (1, true)))
                    : pair.AddIndirect(i, pair.Buffers(i, (16, false), (1, true)));
                if (id < 0) break;
                Assert.That(ids.Add(id), Is.True, "ids are unique");
            }
            Assert.That(pair.Driver.FreeDescriptors, Is.Zero, "the ring is full");
            Assert.That(pair.Driver.AddChain(pair.Buffers(0, (1, true))), Is.EqualTo(-1), "queue full");
            pair.Driver.PublishAndCheckKick();
            Assert.That(pair.ServiceAll(), Is.EqualTo(ids.Count));
            while (pair.Driver.TryPopUsed(out ushort id, out _)) Assert.That(ids.Remove(id), Is.True);
            using (Assert.EnterMultipleScope())
            {
                Assert.That(ids, Is.Empty, $"round {round}: every request completed");
                Assert.That(pair.Driver.FreeDescriptors, Is.EqualTo(size));
            }
            AssertHealthy(pair);
        }
    }

    public static IEnumerable<TestCaseData> ModelCases()
    {
        // seed, queue size, EVENT_IDX, INDIRECT_DESC, initial index (split only)
        yield return new TestCaseData(1, 16, false, true, (ushort)0);
        yield return new TestCaseData(2, 64, true, true, (ushort)65000);
        yield return new TestCaseData(3, 8, true, false, (ushort)65530);
        yield return new TestCaseData(4, 128, false, true, (ushort)32767);
        yield return new TestCaseData(5, 4, false, true, (ushort)65535);
        yield return new TestCaseData(6, 2, true, false, (ushort)65534);
    }

    [TestCaseSource(nameof(ModelCases))]
    public void RandomInterleaving_MatchesTheModel(int seed, int size, bool eventIdx, bool indirect, ushort initial)
    {
        using var pair = Create(size, eventIdx: eventIdx, indirect: indirect, initialIndex: initial, slotBytes: 4096);
        RingModel.Run(pair, seed, indirect);
    }
}
