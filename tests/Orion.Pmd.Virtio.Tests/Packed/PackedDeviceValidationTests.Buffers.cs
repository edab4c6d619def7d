using Orion.Pmd.Virtio.Memory;
using Orion.Pmd.Virtio.Rings;
using Orion.Pmd.Virtio.Tests.Support;
using static Orion.Pmd.Virtio.Rings.PackedDescriptorFlags;

namespace Orion.Pmd.Virtio.Tests.Packed;

// Indirect tables, addresses, ordering and size, sequencing, and the constructor's checks.
public unsafe partial class PackedDeviceValidationTests
{
    // ---------------- indirect ----------------

    [Test]
    public void IndirectWithoutNegotiation()
    {
        Make(indirect: false);
        _pair.WriteIndirectTable(2, _pair.Buffers(1, (16, false), (1, true)));
        _evil.MakeAvailable(D(Table, 32, Indirect));
        ExpectBroken(VirtqueueError.IndirectNotAllowed, "ring position 0", "INDIRECT_DESC was not negotiated");
    }

    [Test]
    public void IndirectWithNext()
    {
        Make();
        _pair.WriteIndirectTable(2, _pair.Buffers(1, (16, false), (1, true)));
        _evil.MakeAvailable(D(Table, 32, Indirect | Next), D(Buf(1024), 1, Write));
        ExpectBroken(VirtqueueError.IndirectNotAllowed, "indirect descriptor at ring position 0", "NEXT");
    }

    [Test]
    public void IndirectAfterADirectDescriptor()
    {
        Make();
        _pair.WriteIndirectTable(2, _pair.Buffers(1, (16, false), (1, true)));
        _evil.MakeAvailable(D(Buf(1024), 16, Next), D(Table, 32, Indirect));
        ExpectBroken(VirtqueueError.IndirectNotAllowed, "indirect descriptor at ring position 1", "not alone");
    }

    [TestCase(0u)]
    [TestCase(1u)]
    [TestCase(8u)]
    [TestCase(17u)]
    [TestCase(24u)]
    [TestCase(65536u * 16)]
    [TestCase(0xFFFF_FFF0u)]
    public void IndirectTableLengthInvalid(uint length)
    {
        Make();
        _evil.MakeAvailable(D(Table, length, Indirect));
        ExpectBroken(VirtqueueError.IndirectTableInvalid, "ring position 0", $"length {length}");
    }

    [Test]
    public void NestedIndirect()
    {
        Make();
        Ring.WriteTableEntry(Table, 0, Buf(0), 16, None);
        Ring.WriteTableEntry(Table, 1, Table + 256, 32, Indirect);
        _evil.MakeAvailable(D(Table, 32, Indirect));
        ExpectBroken(VirtqueueError.NestedIndirect, "ring position 0", "entry 1");
    }

    [Test]
    public void IndirectTable_IsReadInOrder_IgnoringReservedNextIdAndTheHeadsWriteFlag()
    {
        // §2.7.7: only WRITE is valid in table entries, the others and the id are reserved and ignored; WRITE on the
        // descriptor that points at the table is reserved and ignored as well.
        Make();
        var segs = _pair.Buffers(1, (16, false), (100, true), (1, true));
        ulong table = Table + 3;                       // tables need no alignment
        Ring.WriteTableEntry(table, 0, segs[0].GuestAddress, 16, Next, 0xBEEF);
        Ring.WriteTableEntry(table, 1, segs[1].GuestAddress, 100, Write | Next, 7);
        Ring.WriteTableEntry(table, 2, segs[2].GuestAddress, 1, Write | Next);
        _evil.MakeAvailable(D(table, 48, Indirect | Write, 4));
        Assert.That(Pop(), Is.True, Device.ErrorMessage);
        _pair.AssertChain(_pair.Chain, 4, segs);
    }

    // ---------------- addresses ----------------

    private (ulong Address, uint Length) BadRange(string which) => which switch
    {
        "below base" => (Region.GuestBase - 16, 16),
        "straddles end" => (Region.GuestEnd - 8, 16),
        "at end" => (Region.GuestEnd, 1),
        "4 GiB" => (Region.GuestBase, uint.MaxValue),
        "wraps u64" => (ulong.MaxValue - 7, 16),
        "zero" => (0, 16),
        "host of front guard" => ((ulong)(Region.Host - GuardedRegion.GuardBytes), 32),
        "host of the region" => ((ulong)Region.Host, 32),
        _ => throw new ArgumentOutOfRangeException(nameof(which)),
    };

    private static readonly string[] BadRanges = ["below base", "straddles end", "at end", "4 GiB", "wraps u64", "zero", "host of front guard", "host of the region"];

    [TestCaseSource(nameof(BadRanges))]
    public void BufferOutsideRegisteredMemory_Direct(string which)
    {
        Make();
        var (address, length) = BadRange(which);
        _evil.MakeAvailable(D(Buf(0), 16, Next), D(address, length, Write));
        ExpectBroken(VirtqueueError.AddressOutOfRange, $"buffer [0x{address:x}, +{length})", "ring position 0");
    }

    [TestCaseSource(nameof(BadRanges))]
    public void BufferOutsideRegisteredMemory_InAnIndirectTable(string which)
    {
        Make();
        var (address, length) = BadRange(which);
        Ring.WriteTableEntry(Table, 0, Buf(0), 16, None);
        Ring.WriteTableEntry(Table, 1, address, length, Write);
        _evil.MakeAvailable(D(Table, 32, Indirect));
        ExpectBroken(VirtqueueError.AddressOutOfRange, $"buffer [0x{address:x}, +{length})");
    }

    [TestCase("below base")]
    [TestCase("at end")]
    [TestCase("wraps u64")]
    [TestCase("host of the region")]
    public void IndirectTableOutsideRegisteredMemory(string which)
    {
        Make();
        var (address, _) = BadRange(which);
        _evil.MakeAvailable(D(address, 32, Indirect));
        ExpectBroken(VirtqueueError.AddressOutOfRange, $"indirect table of the chain at ring position 0 at [0x{address:x}, +32)");
    }

    // ---------------- ordering and size ----------------

    [Test]
    public void ReadableAfterWritable_Direct()
    {
        Make();
        _evil.MakeAvailable(D(Buf(0), 16, Next), D(Buf(16), 16, Next | Write), D(Buf(32), 16));
        ExpectBroken(VirtqueueError.ReadableAfterWritable, "ring position 0", "device-readable buffer after a device-writable");
    }

    [Test]
    public void ReadableAfterWritable_Indirect()
    {
        Make();
        _pair.WriteIndirectTable(2, [new BufferSegment(Buf(0), 16, true), new BufferSegment(Buf(16), 16, false)]);
        _evil.MakeAvailable(D(Table, 32, Indirect));
        ExpectBroken(VirtqueueError.ReadableAfterWritable, "ring position 0");
    }

    [Test]
    public void ChainLongerThanTheDescriptorChainCapacity_Direct()
    {
        Make(maxSegments: 4);
        var chain = new RawDescriptor[5];
        for (int i = 0; i < 5; i++) chain[i] = D(Buf(16 * i), 16, i < 4 ? Next : None);
        _evil.MakeAvailable(chain);
        ExpectBroken(VirtqueueError.ChainTooLong, "ring position 0", "more than 4 buffers");
    }

    [Test]
    public void ChainLongerThanTheDescriptorChainCapacity_Indirect()
    {
        Make(maxSegments: 4);
        _pair.WriteIndirectTable(2, _pair.Buffers(1, (16, false), (16, false), (16, false), (16, true), (1, true)));
        _evil.MakeAvailable(D(Table, 16 * 5, Indirect));
        ExpectBroken(VirtqueueError.ChainTooLong, "more than 4 buffers");
    }

    [Test]
    public void ChainOfMoreThan4GiB()
    {
        Make();
        const ulong bigGuest = 0x100_0000_0000;       // never dereferenced: translation is arithmetic
        Region.Table.Add(new MemoryRegion(bigGuest, 8UL << 30, 0x10_0000));
        _evil.MakeAvailable(D(bigGuest, 3u << 30, Next), D(bigGuest + (3UL << 30), 3u << 30, Write));
        ExpectBroken(VirtqueueError.ChainTooLong, "ring position 0", "4 GiB");
    }

    // ---------------- sequencing ----------------

    [Test]
    public void ABadRequestAfterGoodOnes_GoodOnesWereDelivered()
    {
        Make();
        _evil.MakeAvailable(D(Buf(0), 16, None, 0));
        _evil.MakeAvailable(D(Buf(16), 16, None, 1));
        _evil.MakeAvailable(D(Buf(32), 16, None, Size));
        Assert.That(Pop(), Is.True);
        Assert.That(Pop(), Is.True);
        ExpectBroken(VirtqueueError.BufferIdOutOfRange, $"buffer id {Size}", "ring position 2");
    }

    [Test]
    public void MarkBroken_LatchesAndTheFirstErrorWins()
    {
        Make();
        Device.MarkBroken(VirtqueueError.WrapCounterInvalid, "reset requested");
        Device.MarkBroken(VirtqueueError.ChainTooLong, "second");
        Assert.That(Device.ErrorMessage, Is.EqualTo("reset requested"));
        _evil.MakeAvailable(D(Buf(0), 16));
        Assert.That(Pop(), Is.False);
        Assert.That(Device.Error, Is.EqualTo(VirtqueueError.WrapCounterInvalid));
    }

    [Test]
    public void ADriverChangingADescriptorAfterExposingIt_IsReadOnce()
    {
        Make();
        var segs = _pair.Buffers(1, (16, false), (64, true));
        _evil.MakeAvailable(D(segs[0].GuestAddress, 16, Next), D(segs[1].GuestAddress, 64, Write, 1));
        Assert.That(Pop(), Is.True);
        Ring.WriteDescriptor(1, 0xBAD, 0xFFFF, 0xFFFF, 0xFFFF);
        _pair.AssertChain(_pair.Chain, 1, segs);
    }

    // ---------------- constructor ----------------

    [TestCase(8UL, 0UL, 0UL, "descriptor ring", "16-byte")]
    [TestCase(0UL, 2UL, 0UL, "driver area", "4-byte")]
    [TestCase(0UL, 0UL, 1UL, "device area", "4-byte")]
    public void Constructor_RejectsMisalignedAreas(ulong descShift, ulong driverShift, ulong deviceShift, string what, string alignment)
    {
        Make();
        var a = _pair.Addresses;
        var bad = new SplitRingAddresses(a.DescriptorTable + descShift, a.AvailRing + driverShift, a.UsedRing + deviceShift);
        Assert.That(() => new PackedQueueDevice(Region.Table, bad, Size, true, true),
            Throws.ArgumentException.With.Message.Contains(what).And.Message.Contains(alignment));
    }

    [Test]
    public void Constructor_RejectsAreasOutsideRegisteredMemory()
    {
        Make();
        var a = _pair.Addresses;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(() => new PackedQueueDevice(Region.Table, a with { DescriptorTable = Region.GuestEnd - 64 }, Size, false, false),
                Throws.ArgumentException.With.Message.Contains("descriptor ring").And.Message.Contains("outside registered memory"));
            Assert.That(() => new PackedQueueDevice(Region.Table, a with { AvailRing = Region.GuestEnd }, Size, false, false),
                Throws.ArgumentException.With.Message.Contains("driver area").And.Message.Contains("outside registered memory"));
            Assert.That(() => new PackedQueueDevice(Region.Table, a with { UsedRing = Region.GuestBase - 0x1000 }, Size, false, false),
                Throws.ArgumentException.With.Message.Contains("device area").And.Message.Contains("outside registered memory"));
            Assert.That(() => new PackedQueueDevice(Region.Table, new SplitRingAddresses((ulong)Region.Host, (ulong)Region.Host + 0x1000, (ulong)Region.Host + 0x2000), Size, false, false),
                Throws.ArgumentException, "host addresses are not guest addresses");
            Assert.That(() => new PackedQueueDevice(Region.Table, a, 5, false, false), Throws.Nothing, "not a power of two: fine for packed");
        }
    }

    [TestCase(0)]
    [TestCase(-8)]
    [TestCase(32769)]
    [TestCase(65536)]
    public void Constructor_RejectsInvalidSizes(int size)
    {
        Make();
        Assert.That(() => new PackedQueueDevice(Region.Table, _pair.Addresses, size, false, false), Throws.ArgumentException);
    }
}
