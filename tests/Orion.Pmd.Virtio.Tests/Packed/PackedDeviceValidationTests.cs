using Orion.Pmd.Virtio.Rings;
using Orion.Pmd.Virtio.Tests.Support;
using static Orion.Pmd.Virtio.Rings.PackedDescriptorFlags;

namespace Orion.Pmd.Virtio.Tests.Packed;

/// <summary>
/// The packed device against a hostile driver that writes raw descriptors: every inconsistency is named, latches the
/// queue broken, and nothing outside registered memory is ever touched.
/// </summary>
public unsafe partial class PackedDeviceValidationTests
{
    private const int Size = 8;
    private PackedRingPair _pair = null!;
    private PackedHostileDriver _evil = null!;

    [TearDown]
    public void TearDown()
    {
        if (_pair is null) return;
        Assert.That(_pair.Region.GuardsIntact, Is.True, "guard bytes around the region");
        _pair.Dispose();
        _pair = null!;
    }

    private void Make(bool indirect = true, int maxSegments = 1024)
    {
        _pair = new PackedRingPair(Size, eventIdx: true, indirect: indirect, maxSegments: maxSegments);
        _pair.Device.SuppressKicks();
        _evil = new PackedHostileDriver(_pair.Ring);
    }

    private PackedQueueDevice Device => _pair.Device;
    private PackedRingBytes Ring => _pair.Ring;
    private GuardedRegion Region => _pair.Region;
    private ulong Buf(int offset) => _pair.SlotGuest(1) + (ulong)offset;
    private ulong Table => _pair.SlotGuest(2);
    private bool Pop() => Device.TryPopAvail(_pair.Chain);
    private static RawDescriptor D(ulong address, uint length, PackedDescriptorFlags flags = None, ushort id = 0) => new(address, length, flags, id);

    /// <summary>Makes <paramref name="n"/> one-descriptor buffers available and lets the device complete them all.</summary>
    private void Advance(int n)
    {
        for (int i = 0; i < n; i++)
        {
            _evil.MakeAvailable(D(Buf(16 * i), 16, None, (ushort)i));
            Assert.That(Pop(), Is.True, Device.ErrorMessage);
            Device.PushUsed(_pair.Chain.Head, 0);
        }
        Device.PublishUsed();
    }

    /// <summary>
    /// Pops, expects the device to break with <paramref name="error"/> and a message naming <paramref name="parts"/>,
    /// then offers a well-formed descriptor where the device looks next and checks that a latched device neither pops
    /// it nor writes anything.
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
        ushort next = Device.NextAvailPosition;
        Ring.WriteDescriptor(next, Buf(0), 16, 7, PackedRingBytes.AvailBits(Device.AvailWrapCounter));
        var snapshot = Region.Snapshot();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Pop(), Is.False, "a latched device pops nothing");
            Assert.That(Pop(), Is.False);
            Assert.That(Device.NextAvailPosition, Is.EqualTo(next));
            Assert.That(Region.Snapshot().AsSpan().SequenceEqual(snapshot), Is.True, "nothing written after break");
            Assert.That(Device.Error, Is.EqualTo(error), "the first error stays");
        }
    }

    // ---------------- flags and wrap counters ----------------

    [Test]
    public void UsedBitsWhereTheNextAvailableBelongs_WrapCounterInvalid()
    {
        Make();
        Ring.WriteDescriptor(0, Buf(0), 16, 0, PackedRingBytes.AvailFlag | PackedRingBytes.UsedFlag);
        Assert.That(Device.HasAvailable, Is.True, "no validation there: the pop must get to see it");
        ExpectBroken(VirtqueueError.WrapCounterInvalid, "ring position 0", "AVAIL and USED both 1");
    }

    [Test]
    public void UsedBitsInTheSecondLap_WrapCounterInvalid()
    {
        Make();
        Advance(Size);
        Ring.WriteDescriptor(0, Buf(0), 16, 0, 0);      // AVAIL = USED = 0: a used descriptor of lap 2
        ExpectBroken(VirtqueueError.WrapCounterInvalid, "ring position 0", "both 0");
    }

    [TestCase((ushort)0)]                                 // zeroed ring
    [TestCase(PackedRingBytes.UsedFlag)]                  // AVAIL = 0, USED = 1: available in the other lap
    public void PreviousLapBits_AreNotAvailable_AndNotAnError(ushort flags)
    {
        Make();
        Ring.WriteDescriptor(0, Buf(0), 16, 0, flags);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Device.HasAvailable, Is.False);
            Assert.That(Pop(), Is.False);
            Assert.That(Device.IsBroken, Is.False);
        }
        Advance(Size);
        Assert.That(Pop(), Is.False, "after a lap, the lap-1 used descriptors are not available either");
        Assert.That(Device.IsBroken, Is.False);
    }

    [Test]
    public void AChainDescriptorWithoutAvailBits_WrapCounterInvalid()
    {
        Make();
        Ring.WriteDescriptor(1, Buf(16), 16, 3, (ushort)Write);                     // no AVAIL/USED bits
        Ring.WriteDescriptor(0, Buf(0), 16, 0, (ushort)(Next | Avail));
        ExpectBroken(VirtqueueError.WrapCounterInvalid, "ring position 1 in the chain from 0", "flags 0x0002", "wrap counter 1");
    }

    [Test]
    public void AChainCrossingTheRingEnd_FlipsItsWrapBits()
    {
        Make();
        Advance(6);
        var segs = _pair.Buffers(3, (16, false), (32, false), (64, true), (1, true));
        _evil.MakeAvailable(D(segs[0].GuestAddress, 16, Next), D(segs[1].GuestAddress, 32, Next), D(segs[2].GuestAddress, 64, Write | Next), D(segs[3].GuestAddress, 1, Write, 5));
        Assert.That(Ring.Flags(0), Is.EqualTo((ushort)(PackedRingBytes.UsedFlag | 2 | 1)), "lap 2 bits past the end");
        Assert.That(Pop(), Is.True, Device.ErrorMessage);
        _pair.AssertChain(_pair.Chain, 5, segs);
        Assert.That((Device.NextAvailPosition, Device.AvailWrapCounter), Is.EqualTo(((ushort)2, false)));
    }

    [Test]
    public void AChainCrossingTheRingEndWithoutFlippingItsWrapBits_WrapCounterInvalid()
    {
        Make();
        Advance(6);
        ushort lap1 = PackedRingBytes.AvailBits(true);
        Ring.WriteDescriptor(7, Buf(16), 16, 0, (ushort)(lap1 | (ushort)Next));
        Ring.WriteDescriptor(0, Buf(32), 16, 1, (ushort)(lap1 | (ushort)Write));     // should carry lap 2's bits
        Ring.WriteDescriptor(6, Buf(0), 16, 0, (ushort)(lap1 | (ushort)Next));
        ExpectBroken(VirtqueueError.WrapCounterInvalid, "ring position 0 in the chain from 6", "wrap counter 0");
    }

    // ---------------- chain length ----------------

    [Test]
    public void NextOnEveryDescriptorOfTheRing_Loops()
    {
        Make();
        var chain = new RawDescriptor[Size];
        for (int i = 0; i < Size; i++) chain[i] = D(Buf(16 * i), 16, Next);
        _evil.MakeAvailable(chain);
        ExpectBroken(VirtqueueError.DescriptorChainLoop, "ring position 0", "NEXT set on all 8 descriptors");
    }

    [Test]
    public void AChainOfExactlyTheQueueSize_IsFine()
    {
        Make();
        var chain = new RawDescriptor[Size];
        for (int i = 0; i < Size; i++) chain[i] = D(Buf(16 * i), 16, i < Size - 1 ? Next : None, 3);
        _evil.MakeAvailable(chain);
        Assert.That(Pop(), Is.True, Device.ErrorMessage);
        Assert.That((_pair.Chain.Count, _pair.Chain.Head), Is.EqualTo((Size, (ushort)3)));
    }

    [Test]
    public void MoreDescriptorsOutThanTheRingHolds_AvailIndexRunsAhead()
    {
        Make();
        for (ushort id = 0; id < Size / 2; id++)
        {
            _evil.MakeAvailable(D(Buf(0), 16, Next), D(Buf(16), 16, None, id));
            Assert.That(Pop(), Is.True, Device.ErrorMessage);
        }
        // The device holds all eight descriptors; the driver cannot have more out, yet writes a lap-2 descriptor over one.
        _evil.MakeAvailable(D(Buf(0), 16, None, 6));
        ExpectBroken(VirtqueueError.AvailIndexRunsAhead, "ring position 0", "9 descriptors", "queue size 8");
    }

    // ---------------- buffer ids ----------------

    [TestCase((ushort)8, false)]
    [TestCase((ushort)9, true)]
    [TestCase((ushort)0xFFFF, false)]
    [TestCase((ushort)0x8000, true)]
    public void BufferIdOutOfRange(ushort id, bool viaIndirect)
    {
        Make();
        if (viaIndirect)
        {
            _pair.WriteIndirectTable(2, _pair.Buffers(1, (16, false), (1, true)));
            _evil.MakeAvailable(D(Table, 32, Indirect, id));
        }
        else _evil.MakeAvailable(D(Buf(0), 16, Next, 1), D(Buf(16), 16, Write, id));   // the last descriptor's id counts
        ExpectBroken(VirtqueueError.BufferIdOutOfRange, $"buffer id {id}", "8-entry");
    }

    [Test]
    public void ABufferIdStillInFlight_BufferIdInUse()
    {
        Make();
        _evil.MakeAvailable(D(Buf(0), 16, None, 2));
        _evil.MakeAvailable(D(Buf(16), 16, None, 3));
        Assert.That(Pop(), Is.True);
        Assert.That(Pop(), Is.True);
        Device.PushUsed(3, 0);                         // 3 completes and may be reused; 2 is still the device's
        _evil.MakeAvailable(D(Buf(32), 16, None, 3));
        Assert.That(Pop(), Is.True, Device.ErrorMessage);
        _evil.MakeAvailable(D(Buf(48), 16, None, 2));
        ExpectBroken(VirtqueueError.BufferIdInUse, "buffer id 2", "not completed");
    }
}
