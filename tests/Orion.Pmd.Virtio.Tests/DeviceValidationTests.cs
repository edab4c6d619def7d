using Orion.Pmd.Virtio.Memory;
using Orion.Pmd.Virtio.Rings;
using Orion.Pmd.Virtio.Tests.Support;

namespace Orion.Pmd.Virtio.Tests;

/// <summary>
/// The device against a hostile driver that writes raw descriptors and avail entries: every inconsistency is named,
/// latches the queue broken, and nothing outside registered memory is ever touched (rust-vmm <c>virtio-queue</c>
/// validation: avail-index sanity, TTL on chains, indirect-table checks, address translation).
/// </summary>
public unsafe class DeviceValidationTests
{
    private const int Size = 8;
    private RingPair _pair = null!;

    [TearDown]
    public void TearDown()
    {
        if (_pair is null) return;
        Assert.That(_pair.Region.GuardsIntact, Is.True, "guard bytes around the region");
        _pair.Dispose();
        _pair = null!;
    }

    /// <summary>A pair with kicks suppressed under EVENT_IDX, so that every successful pop writes avail_event.</summary>
    private void Make(bool indirect = true, int maxSegments = 1024)
    {
        _pair = new RingPair(Size, eventIdx: true, indirect: indirect, maxSegments: maxSegments);
        _pair.Device.SuppressKicks();
    }

    private SplitQueueDevice Device => _pair.Device;
    private HostileDriver Evil => _pair.HostileDriver;
    private GuardedRegion Region => _pair.Region;

    /// <summary>A valid buffer address inside the data area.</summary>
    private ulong Buf(int offset) => _pair.SlotGuest(1) + (ulong)offset;

    /// <summary>Where tests put indirect tables.</summary>
    private ulong Table => _pair.SlotGuest(2);

    private bool Pop() => Device.TryPopAvail(_pair.Chain);

    /// <summary>
    /// Pops, expects the device to break with <paramref name="error"/> and a message naming <paramref name="parts"/>,
    /// then offers a well-formed request and checks that a latched device neither pops it nor writes anything.
    /// </summary>
    private void ExpectBroken(VirtqueueError error, params string[] parts)
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Pop(), Is.False, "the bad chain is refused");
            Assert.That(Device.IsBroken, Is.True);
            Assert.That(Device.Error, Is.EqualTo(error), Device.ErrorMessage);
            foreach (var part in parts) Assert.That(Device.ErrorMessage, Does.Contain(part));
        }

        ushort next = Device.NextAvailIndex;
        Evil.WriteDescriptor(Size - 1, Buf(0), 16, VirtqDescriptorFlags.None);
        Evil.MakeAvailable(Size - 1);
        var snapshot = Region.Snapshot();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Pop(), Is.False, "a latched device pops nothing");
            Assert.That(Pop(), Is.False);
            Assert.That(Device.NextAvailIndex, Is.EqualTo(next));
            Assert.That(Region.Snapshot().AsSpan().SequenceEqual(snapshot), Is.True, "nothing written after break");
            Assert.That(Device.Error, Is.EqualTo(error), "the first error stays");
        }
    }

    // ---------------- avail index and heads ----------------

    [TestCase(9, "moved from 0 to 9 (9 entries)")]
    [TestCase(100, "(100 entries)")]
    [TestCase(65535, "(65535 entries)")]     // moved backwards by one
    public void AvailIndexRunsAheadByMoreThanTheQueueSize(int idx, string part)
    {
        Make();
        Evil.AvailIdx = (ushort)idx;
        ExpectBroken(VirtqueueError.AvailIndexRunsAhead, part, "queue size 8");
    }

    [Test]
    public void AvailIndexExactlyAQueueAhead_IsFine()
    {
        Make();
        for (int i = 0; i < Size; i++)
        {
            Evil.WriteDescriptor(i, Buf(16 * i), 16, VirtqDescriptorFlags.None);
            Evil.MakeAvailable((ushort)i);
        }
        for (int i = 0; i < Size; i++)
        {
            Assert.That(Pop(), Is.True, Device.ErrorMessage);
            Assert.That(_pair.Chain.Head, Is.EqualTo((ushort)i));
        }
        Assert.That(Pop(), Is.False);
        Assert.That(Device.IsBroken, Is.False);
    }

    [TestCase((ushort)8)]
    [TestCase((ushort)9)]
    [TestCase((ushort)0xFFFF)]
    public void HeadOutOfRange(ushort head)
    {
        Make();
        Evil.MakeAvailable(head);
        ExpectBroken(VirtqueueError.DescriptorIndexOutOfRange, $"head {head}", "8-entry");
    }

    [TestCase((ushort)8)]
    [TestCase((ushort)0xFFFF)]
    public void NextOutOfRange(ushort next)
    {
        Make();
        Evil.WriteDescriptor(0, Buf(0), 16, VirtqDescriptorFlags.Next, 1);
        Evil.WriteDescriptor(1, Buf(16), 16, VirtqDescriptorFlags.Next, next);
        Evil.MakeAvailable(0);
        ExpectBroken(VirtqueueError.DescriptorIndexOutOfRange, "head 0", $"links to {next}");
    }

    // ---------------- loops ----------------

    [Test]
    public void ChainLoop_Direct()
    {
        Make();
        Evil.WriteDescriptor(0, Buf(0), 16, VirtqDescriptorFlags.Next, 1);
        Evil.WriteDescriptor(1, Buf(16), 16, VirtqDescriptorFlags.Next, 2);
        Evil.WriteDescriptor(2, Buf(32), 16, VirtqDescriptorFlags.Next, 0);
        Evil.MakeAvailable(0);
        ExpectBroken(VirtqueueError.DescriptorChainLoop, "from head 0", "8-entry");
    }

    [Test]
    public void ChainLoop_DescriptorLinkingToItself()
    {
        Make();
        Evil.WriteDescriptor(3, Buf(0), 16, VirtqDescriptorFlags.Next | VirtqDescriptorFlags.Write, 3);
        Evil.MakeAvailable(3);
        ExpectBroken(VirtqueueError.DescriptorChainLoop, "from head 3");
    }

    [Test]
    public void ChainOfExactlyTheQueueSize_IsFine()
    {
        Make();
        for (int i = 0; i < Size; i++)
            Evil.WriteDescriptor(i, Buf(16 * i), 16, i < Size - 1 ? VirtqDescriptorFlags.Next : VirtqDescriptorFlags.None, (ushort)(i + 1));
        Evil.MakeAvailable(0);
        Assert.That(Pop(), Is.True, Device.ErrorMessage);
        Assert.That(_pair.Chain.Count, Is.EqualTo(Size));
    }

    [Test]
    public void IndirectLoop()
    {
        Make();
        Evil.WriteTableEntry(Table, 0, Buf(0), 16, VirtqDescriptorFlags.Next, 1);
        Evil.WriteTableEntry(Table, 1, Buf(16), 16, VirtqDescriptorFlags.Next, 2);
        Evil.WriteTableEntry(Table, 2, Buf(32), 16, VirtqDescriptorFlags.Next, 0);
        Evil.WriteDescriptor(0, Table, 48, VirtqDescriptorFlags.Indirect);
        Evil.MakeAvailable(0);
        ExpectBroken(VirtqueueError.DescriptorChainLoop, "indirect table of head 0", "loop");
    }

    [Test]
    public void IndirectNextOutOfRange()
    {
        Make();
        Evil.WriteTableEntry(Table, 0, Buf(0), 16, VirtqDescriptorFlags.Next, 1);
        Evil.WriteTableEntry(Table, 1, Buf(16), 16, VirtqDescriptorFlags.Next, 2);
        Evil.WriteDescriptor(0, Table, 32, VirtqDescriptorFlags.Indirect);
        Evil.MakeAvailable(0);
        ExpectBroken(VirtqueueError.DescriptorIndexOutOfRange, "indirect table of head 0", "entry 2 of 2");
    }

    // ---------------- indirect tables ----------------

    [Test]
    public void NestedIndirect()
    {
        Make();
        Evil.WriteTableEntry(Table, 0, Buf(0), 16, VirtqDescriptorFlags.Next, 1);
        Evil.WriteTableEntry(Table, 1, Table + 256, 32, VirtqDescriptorFlags.Indirect);
        Evil.WriteDescriptor(0, Table, 32, VirtqDescriptorFlags.Indirect);
        Evil.MakeAvailable(0);
        ExpectBroken(VirtqueueError.NestedIndirect, "indirect table of head 0", "entry 1");
    }

    [TestCase(0u)]
    [TestCase(1u)]
    [TestCase(8u)]
    [TestCase(17u)]
    [TestCase(24u)]
    [TestCase(65536u * 16)]      // more than 65535 entries
    [TestCase(0xFFFF_FFF0u)]
    public void IndirectTableLengthInvalid(uint length)
    {
        Make();
        Evil.WriteDescriptor(0, Table, length, VirtqDescriptorFlags.Indirect);
        Evil.MakeAvailable(0);
        ExpectBroken(VirtqueueError.IndirectTableInvalid, "head 0", $"length {length}");
    }

    [Test]
    public void IndirectWithoutNegotiation()
    {
        Make(indirect: false);
        _pair.WriteIndirectTable(2, _pair.Buffers(1, (16, false), (1, true)));
        Evil.WriteDescriptor(0, Table, 32, VirtqDescriptorFlags.Indirect);
        Evil.MakeAvailable(0);
        ExpectBroken(VirtqueueError.IndirectNotAllowed, "descriptor 0", "INDIRECT_DESC was not negotiated");
    }

    [Test]
    public void IndirectWithNext()
    {
        Make();
        _pair.WriteIndirectTable(2, _pair.Buffers(1, (16, false), (1, true)));
        Evil.WriteDescriptor(0, Table, 32, VirtqDescriptorFlags.Indirect | VirtqDescriptorFlags.Next, 1);
        Evil.WriteDescriptor(1, Buf(1024), 1, VirtqDescriptorFlags.Write);
        Evil.MakeAvailable(0);
        ExpectBroken(VirtqueueError.IndirectNotAllowed, "indirect descriptor 0", "NEXT");
    }

    [Test]
    public void IndirectAfterDirectDescriptors()
    {
        Make();
        _pair.WriteIndirectTable(2, _pair.Buffers(1, (16, false), (1, true)));
        Evil.WriteDescriptor(4, Buf(1024), 16, VirtqDescriptorFlags.Next, 5);
        Evil.WriteDescriptor(5, Table, 32, VirtqDescriptorFlags.Indirect);
        Evil.MakeAvailable(4);
        ExpectBroken(VirtqueueError.IndirectNotAllowed, "indirect descriptor 5", "not alone");
    }

    [Test]
    public void IndirectDescriptorWithWriteFlag_TheFlagIsIgnored()
    {
        // VirtIO 1.1 §2.6.5.3.2: the device MUST ignore the write-only flag of a descriptor that refers to a table.
        Make();
        var segs = _pair.Buffers(1, (16, false), (1, true));
        _pair.WriteIndirectTable(2, segs);
        Evil.WriteDescriptor(0, Table, 32, VirtqDescriptorFlags.Indirect | VirtqDescriptorFlags.Write);
        Evil.MakeAvailable(0);
        Assert.That(Pop(), Is.True, Device.ErrorMessage);
        _pair.AssertChain(_pair.Chain, 0, segs);
    }

    // ---------------- addresses ----------------

    /// <summary>Guest ranges that must be refused. Host addresses of the guard bytes are among them: a device that
    /// used guest addresses as pointers would read the guards.</summary>
    private (ulong Address, uint Length) BadRange(string which) => which switch
    {
        "below base" => (Region.GuestBase - 16, 16),
        "straddles base" => (Region.GuestBase - 1, 2),
        "straddles end" => (Region.GuestEnd - 8, 16),
        "at end" => (Region.GuestEnd, 1),
        "at end, empty" => (Region.GuestEnd, 0),
        "too long" => (Region.GuestBase + 16, (uint)Region.Length),
        "4 GiB" => (Region.GuestBase, uint.MaxValue),
        "wraps u64" => (ulong.MaxValue - 7, 16),
        "top byte" => (ulong.MaxValue, 1),
        "zero" => (0, 16),
        "host of front guard" => ((ulong)(Region.Host - GuardedRegion.GuardBytes), 32),
        "host of back guard" => ((ulong)(Region.Host + Region.Length), 32),
        "host of the region" => ((ulong)Region.Host, 32),
        _ => throw new ArgumentOutOfRangeException(nameof(which)),
    };

    private static readonly string[] BadRanges =
    [
        "below base", "straddles base", "straddles end", "at end", "at end, empty", "too long", "4 GiB", "wraps u64",
        "top byte", "zero", "host of front guard", "host of back guard", "host of the region",
    ];

    [TestCaseSource(nameof(BadRanges))]
    public void BufferOutsideRegisteredMemory_Direct(string which)
    {
        Make();
        var (address, length) = BadRange(which);
        Evil.WriteDescriptor(0, Buf(0), 16, VirtqDescriptorFlags.Next, 1);
        Evil.WriteDescriptor(1, address, length, VirtqDescriptorFlags.Write);
        Evil.MakeAvailable(0);
        ExpectBroken(VirtqueueError.AddressOutOfRange, $"buffer [0x{address:x}, +{length})", "head 0");
    }

    [TestCaseSource(nameof(BadRanges))]
    public void BufferOutsideRegisteredMemory_InAnIndirectTable(string which)
    {
        Make();
        var (address, length) = BadRange(which);
        Evil.WriteTableEntry(Table, 0, Buf(0), 16, VirtqDescriptorFlags.Next, 1);
        Evil.WriteTableEntry(Table, 1, address, length, VirtqDescriptorFlags.Write);
        Evil.WriteDescriptor(6, Table, 32, VirtqDescriptorFlags.Indirect);
        Evil.MakeAvailable(6);
        ExpectBroken(VirtqueueError.AddressOutOfRange, $"buffer [0x{address:x}, +{length})", "head 6");
    }

    // The table is always 32 bytes long, so only the ranges whose start alone is bad apply.
    private static readonly string[] BadTableRanges =
    [
        "below base", "straddles base", "straddles end", "at end", "wraps u64", "top byte", "zero",
        "host of front guard", "host of back guard", "host of the region",
    ];

    [TestCaseSource(nameof(BadTableRanges))]
    public void IndirectTableOutsideRegisteredMemory(string which)
    {
        Make();
        var (address, _) = BadRange(which);
        Evil.WriteDescriptor(0, address, 32, VirtqDescriptorFlags.Indirect);
        Evil.MakeAvailable(0);
        ExpectBroken(VirtqueueError.AddressOutOfRange, $"indirect table of head 0 at [0x{address:x}, +32)");
    }

    [Test]
    public void IndirectTableAtAnUnalignedAddress_IsAccepted()
    {
        // The spec puts no alignment requirement on indirect tables; the device must read them wherever they are.
        Make();
        ulong table = Table + 3;
        var segs = _pair.Buffers(1, (16, false), (100, true), (1, true));
        for (int i = 0; i < segs.Length; i++)
        {
            var flags = (segs[i].DeviceWritable ? VirtqDescriptorFlags.Write : 0) | (i < 2 ? VirtqDescriptorFlags.Next : 0);
            Evil.WriteTableEntry(table, i, segs[i].GuestAddress, segs[i].Length, flags, (ushort)(i + 1));
        }
        Evil.WriteDescriptor(0, table, 48, VirtqDescriptorFlags.Indirect);
        Evil.MakeAvailable(0);
        Assert.That(Pop(), Is.True, Device.ErrorMessage);
        _pair.AssertChain(_pair.Chain, 0, segs);
    }

    [Test]
    public void BuffersAtTheVeryEdgesOfTheRegion_AreAccepted()
    {
        Make();
        Evil.WriteDescriptor(0, Region.GuestBase, 1, VirtqDescriptorFlags.Next, 1);
        Evil.WriteDescriptor(1, Region.GuestEnd - 1, 1, VirtqDescriptorFlags.Write);
        Evil.MakeAvailable(0);
        Assert.That(Pop(), Is.True, Device.ErrorMessage);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(_pair.Chain.Segments[0].Host, Is.EqualTo((nint)Region.Host));
            Assert.That(_pair.Chain.Segments[1].Host, Is.EqualTo((nint)(Region.Host + Region.Length - 1)));
        }
    }

    // ---------------- ordering and size ----------------

    [Test]
    public void ReadableAfterWritable_Direct()
    {
        Make();
        Evil.WriteDescriptor(0, Buf(0), 16, VirtqDescriptorFlags.Next, 1);
        Evil.WriteDescriptor(1, Buf(16), 16, VirtqDescriptorFlags.Next | VirtqDescriptorFlags.Write, 2);
        Evil.WriteDescriptor(2, Buf(32), 16, VirtqDescriptorFlags.None);
        Evil.MakeAvailable(0);
        ExpectBroken(VirtqueueError.ReadableAfterWritable, "head 0", "device-readable buffer after a device-writable");
    }

    [Test]
    public void ReadableAfterWritable_Indirect()
    {
        Make();
        _pair.WriteIndirectTable(2, [new BufferSegment(Buf(0), 16, true), new BufferSegment(Buf(16), 16, false)]);
        Evil.WriteDescriptor(2, Table, 32, VirtqDescriptorFlags.Indirect);
        Evil.MakeAvailable(2);
        ExpectBroken(VirtqueueError.ReadableAfterWritable, "head 2");
    }

    [Test]
    public void ChainLongerThanTheDescriptorChainCapacity_Direct()
    {
        Make(maxSegments: 4);
        for (int i = 0; i < 5; i++)
            Evil.WriteDescriptor(i, Buf(16 * i), 16, i < 4 ? VirtqDescriptorFlags.Next : VirtqDescriptorFlags.None, (ushort)(i + 1));
        Evil.MakeAvailable(0);
        ExpectBroken(VirtqueueError.ChainTooLong, "head 0", "more than 4 buffers");
    }

    [Test]
    public void ChainLongerThanTheDescriptorChainCapacity_Indirect()
    {
        Make(maxSegments: 4);
        var segs = _pair.Buffers(1, (16, false), (16, false), (16, false), (16, true), (1, true));
        _pair.WriteIndirectTable(2, segs);
        Evil.WriteDescriptor(0, Table, 16 * 5, VirtqDescriptorFlags.Indirect);
        Evil.MakeAvailable(0);
        ExpectBroken(VirtqueueError.ChainTooLong, "more than 4 buffers");
    }

    [Test]
    public void ChainAtTheDescriptorChainCapacity_IsFine()
    {
        Make(maxSegments: 4);
        var segs = _pair.Buffers(1, (16, false), (16, false), (16, true), (1, true));
        _pair.WriteIndirectTable(2, segs);
        Evil.WriteDescriptor(0, Table, 16 * 4, VirtqDescriptorFlags.Indirect);
        Evil.MakeAvailable(0);
        Assert.That(Pop(), Is.True, Device.ErrorMessage);
        _pair.AssertChain(_pair.Chain, 0, segs);
    }

    [Test]
    public void ChainOfMoreThan4GiB()
    {
        Make();
        // A second region far from the first, large but never dereferenced: translation is arithmetic, and the device
        // does not touch buffers while popping. Its host base is a dummy value for that reason.
        const ulong bigGuest = 0x100_0000_0000;
        Region.Table.Add(new MemoryRegion(bigGuest, 8UL << 30, 0x10_0000));
        Evil.WriteDescriptor(0, bigGuest, 3u << 30, VirtqDescriptorFlags.Next, 1);
        Evil.WriteDescriptor(1, bigGuest + (3UL << 30), 3u << 30, VirtqDescriptorFlags.Write);
        Evil.MakeAvailable(0);
        ExpectBroken(VirtqueueError.ChainTooLong, "head 0", "4 GiB");
    }

    // ---------------- sequencing ----------------

    [Test]
    public void ABadRequestAfterGoodOnes_GoodOnesWereDelivered()
    {
        Make();
        Evil.WriteDescriptor(0, Buf(0), 16, VirtqDescriptorFlags.None);
        Evil.WriteDescriptor(1, Buf(16), 16, VirtqDescriptorFlags.None);
        Evil.MakeAvailable(0);
        Evil.MakeAvailable(1);
        Evil.MakeAvailable(Size);     // bad head
        Assert.That(Pop(), Is.True);
        Assert.That(Pop(), Is.True);
        Assert.That(_pair.HostileDevice.AvailEvent, Is.EqualTo(unchecked((ushort)(2 - Size - 1))), "suppressed kicks: avail_event a queue behind");
        ExpectBroken(VirtqueueError.DescriptorIndexOutOfRange, $"head {Size}");
    }

    [Test]
    public void MarkBroken_LatchesAndTheFirstErrorWins()
    {
        Make();
        Device.MarkBroken(VirtqueueError.WrapCounterInvalid, "reset requested");
        Device.MarkBroken(VirtqueueError.ChainTooLong, "second");
        Assert.That(Device.ErrorMessage, Is.EqualTo("reset requested"));
        Evil.WriteDescriptor(0, Buf(0), 16, VirtqDescriptorFlags.None);
        Evil.MakeAvailable(0);
        Assert.That(Pop(), Is.False);
        Assert.That(Device.Error, Is.EqualTo(VirtqueueError.WrapCounterInvalid));
    }

    [Test]
    public void ADriverChangingADescriptorAfterPublishing_IsReadOnce()
    {
        // The device copies each descriptor before validating it; a valid chain stays valid in the popped result.
        Make();
        var segs = _pair.Buffers(1, (16, false), (64, true));
        Evil.WriteDescriptor(0, segs[0].GuestAddress, 16, VirtqDescriptorFlags.Next, 1);
        Evil.WriteDescriptor(1, segs[1].GuestAddress, 64, VirtqDescriptorFlags.Write);
        Evil.MakeAvailable(0);
        Assert.That(Pop(), Is.True);
        Evil.WriteDescriptor(1, 0xBAD, 0xFFFF, VirtqDescriptorFlags.None);
        _pair.AssertChain(_pair.Chain, 0, segs);
    }

    // ---------------- constructor ----------------

    [TestCase(8UL, 0UL, 0UL, "descriptor table", "16-byte")]
    [TestCase(0UL, 1UL, 0UL, "avail ring", "2-byte")]
    [TestCase(0UL, 0UL, 2UL, "used ring", "4-byte")]
    public void Constructor_RejectsMisalignedParts(ulong descShift, ulong availShift, ulong usedShift, string what, string alignment)
    {
        Make();
        var a = _pair.Addresses;
        var bad = new SplitRingAddresses(a.DescriptorTable + descShift, a.AvailRing + availShift, a.UsedRing + usedShift);
        Assert.That(() => new SplitQueueDevice(Region.Table, bad, Size, true, true),
            Throws.ArgumentException.With.Message.Contains(what).And.Message.Contains(alignment));
    }

    [Test]
    public void Constructor_RejectsPartsOutsideRegisteredMemory()
    {
        Make();
        var a = _pair.Addresses;
        ulong tail = Region.GuestEnd - 64;    // 16-byte aligned, but the parts are longer than 64 bytes
        using (Assert.EnterMultipleScope())
        {
            Assert.That(() => new SplitQueueDevice(Region.Table, a with { DescriptorTable = tail }, Size, false, false),
                Throws.ArgumentException.With.Message.Contains("descriptor table").And.Message.Contains("outside registered memory"));
            Assert.That(() => new SplitQueueDevice(Region.Table, a with { AvailRing = Region.GuestEnd - 4 }, Size, false, false),
                Throws.ArgumentException.With.Message.Contains("avail ring").And.Message.Contains("outside registered memory"));
            Assert.That(() => new SplitQueueDevice(Region.Table, a with { UsedRing = Region.GuestBase - 0x1000 }, Size, false, false),
                Throws.ArgumentException.With.Message.Contains("used ring").And.Message.Contains("outside registered memory"));
            Assert.That(() => new SplitQueueDevice(Region.Table, new SplitRingAddresses((ulong)Region.Host, (ulong)Region.Host + 0x1000, (ulong)Region.Host + 0x2000), Size, false, false),
                Throws.ArgumentException, "host addresses are not guest addresses");
            Assert.That(() => new SplitQueueDevice(Region.Table, a, 2 * Size, false, false),
                Throws.Nothing, "a larger queue still fits here");
        }
    }

    [TestCase(0)]
    [TestCase(3)]
    [TestCase(65536)]
    [TestCase(-8)]
    public void Constructor_RejectsInvalidSizes(int size)
    {
        Make();
        Assert.That(() => new SplitQueueDevice(Region.Table, _pair.Addresses, size, false, false), Throws.ArgumentException);
    }
}
