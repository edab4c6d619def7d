using System.Runtime.CompilerServices;
using Orion.Pmd.Virtio.Blk;
using Orion.Pmd.Virtio.Rings;
using Orion.Pmd.Virtio.Tests.Support;

namespace Orion.Pmd.Virtio.Tests;

/// <summary>The driver and the device on one ring, the device seeing only guest addresses.</summary>
public unsafe class EndToEndTests
{
    private RingPair _pair = null!;

    [SetUp]
    public void SetUp() => _pair = new RingPair(16);

    [TearDown]
    public void TearDown()
    {
        Assert.That(_pair.Region.GuardsIntact, Is.True, "guard bytes around the region");
        _pair.Dispose();
    }

    [Test]
    public void Indirect_BlkRead_RoundTrip()
    {
        var segs = _pair.Buffers(3, (BlkRequestHeader.Size, false), (4096, true), (1, true));
        Unsafe.Write(_pair.HostOf(segs[0].GuestAddress), new BlkRequestHeader(BlkRequestType.In, 0x1234_5678));

        int id = _pair.AddIndirect(3, segs);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(id, Is.InRange(0, 15));
            Assert.That(_pair.Driver.FreeDescriptors, Is.EqualTo(15), "an indirect request takes one descriptor");
            Assert.That(_pair.Driver.InFlight, Is.EqualTo(1));
            Assert.That(_pair.Device.HasAvailable, Is.False, "nothing is visible before publish");
            Assert.That(_pair.Device.TryPopAvail(_pair.Chain), Is.False, "nothing is visible before publish");
        }
        _pair.Driver.PublishAndCheckKick();
        Assert.That(_pair.Device.HasAvailable, Is.True);

        var chain = _pair.Chain;
        Assert.That(_pair.Device.TryPopAvail(chain), Is.True);
        _pair.AssertChain(chain, id, segs);

        // the device works through its own translated pointers
        var header = Unsafe.Read<BlkRequestHeader>((void*)chain.Segments[0].Host);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(header.Type, Is.EqualTo(BlkRequestType.In));
            Assert.That(header.Sector, Is.EqualTo(0x1234_5678UL));
            Assert.That(chain.ReadableCount, Is.EqualTo(1));
        }
        new Span<byte>((void*)chain.Segments[1].Host, 4096).Fill(0x5A);
        *(byte*)chain.Segments[2].Host = (byte)BlkStatus.Ok;
        _pair.Device.PushUsed(chain.Head, 4097);
        _pair.Device.PublishUsed();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(_pair.Driver.HasPendingUsed, Is.True);
            Assert.That(_pair.Driver.TryPopUsed(out ushort doneId, out uint len), Is.True);
            Assert.That(doneId, Is.EqualTo(id));
            Assert.That(len, Is.EqualTo(4097u));
            Assert.That(new ReadOnlySpan<byte>(_pair.HostOf(segs[1].GuestAddress), 4096).ContainsAnyExcept((byte)0x5A), Is.False, "data landed in the driver's buffer");
            Assert.That(*_pair.HostOf(segs[2].GuestAddress), Is.EqualTo((byte)BlkStatus.Ok));
            Assert.That(_pair.Driver.FreeDescriptors, Is.EqualTo(16), "descriptor returned");
            Assert.That(_pair.Driver.InFlight, Is.Zero);
            Assert.That(_pair.Driver.HasPendingUsed, Is.False);
            Assert.That(_pair.Driver.TryPopUsed(out _, out _), Is.False, "nothing more");
            Assert.That(_pair.Driver.IsBroken || _pair.Device.IsBroken, Is.False);
        }
    }

    [Test]
    public void Chain_BlkWrite_RoundTrip()
    {
        var segs = _pair.Buffers(0, (BlkRequestHeader.Size, false), (512, false), (1024, false), (1, true));
        Unsafe.Write(_pair.HostOf(segs[0].GuestAddress), new BlkRequestHeader(BlkRequestType.Out, 8));
        new Span<byte>(_pair.HostOf(segs[1].GuestAddress), 512).Fill(1);
        new Span<byte>(_pair.HostOf(segs[2].GuestAddress), 1024).Fill(2);

        int id = _pair.Driver.AddChain(segs);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(id, Is.Zero, "first head from a fresh free list");
            Assert.That(_pair.Driver.FreeDescriptors, Is.EqualTo(12), "a chain takes one descriptor per buffer");
        }
        Assert.That(_pair.Driver.PublishAndCheckKick(), Is.True);
        Assert.That(_pair.Device.TryPopAvail(_pair.Chain), Is.True);
        _pair.AssertChain(_pair.Chain, id, segs);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(_pair.Chain.ReadableCount, Is.EqualTo(3));
            Assert.That(_pair.Chain.ReadableBytes, Is.EqualTo(16UL + 512 + 1024));
            Assert.That(_pair.Chain.WritableBytes, Is.EqualTo(1UL));
            Assert.That(new ReadOnlySpan<byte>((void*)_pair.Chain.Segments[2].Host, 1024).ContainsAnyExcept((byte)2), Is.False, "device reads the driver's data");
        }
        _pair.Device.PushUsed(_pair.Chain.Head, 1);
        _pair.Device.PublishUsed();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(_pair.Driver.TryPopUsed(out ushort doneId, out uint len), Is.True);
            Assert.That((doneId, len), Is.EqualTo(((ushort)id, 1u)));
            Assert.That(_pair.Driver.FreeDescriptors, Is.EqualTo(16));
        }
    }

    [Test]
    public void FreeDescriptors_AccountsForChainsAndRefusesWhatDoesNotFit()
    {
        var d = _pair.Driver;
        int a = d.AddChain(_pair.Buffers(0, (16, false), (100, true), (1, true), (1, true), (1, true)));  // 5
        int b = d.AddChain(_pair.Buffers(1, (16, false), (1, true)));                                   // 2
        int c = _pair.AddIndirect(2, _pair.Buffers(2, (16, false), (10, true), (1, true)));              // 1
        int e = d.AddChain(_pair.Buffers(3, (16, false), (50, false), (60, false), (70, false), (80, false), (90, false), (1, true)));  // 7
        using (Assert.EnterMultipleScope())
        {
            Assert.That(new[] { a, b, c, e }, Is.All.GreaterThanOrEqualTo(0));
            Assert.That(new[] { a, b, c, e }, Is.Unique);
            Assert.That(d.FreeDescriptors, Is.EqualTo(1));
            Assert.That(d.InFlight, Is.EqualTo(4));
        }

        var snapshot = _pair.Region.Snapshot();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(d.AddChain(_pair.Buffers(4, (16, false), (1, true))), Is.EqualTo(-1), "two descriptors do not fit in one");
            Assert.That(d.FreeDescriptors, Is.EqualTo(1));
            Assert.That(_pair.Region.Snapshot(), Is.EqualTo(snapshot), "a refused add writes nothing");
        }
        int f = d.AddChain(_pair.Buffers(4, (1, true)));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(f, Is.GreaterThanOrEqualTo(0));
            Assert.That(d.FreeDescriptors, Is.Zero);
            Assert.That(_pair.AddIndirect(5, _pair.Buffers(5, (1, true))), Is.EqualTo(-1), "no descriptor for an indirect request");
            Assert.That(d.AddChain(_pair.Buffers(5, (1, true))), Is.EqualTo(-1));
        }
        d.PublishAndCheckKick();

        // The device completes out of order; each completion returns exactly its chain's descriptors.
        var chains = new Dictionary<int, uint>();
        while (_pair.Device.TryPopAvail(_pair.Chain)) chains[_pair.Chain.Head] = (uint)_pair.Chain.WritableBytes;
        Assert.That(chains.Keys, Is.EquivalentTo(new[] { a, b, c, e, f }));
        var expectFree = new[] { (b, 2), (f, 1 + 2), (a, 3 + 5), (e, 8 + 7), (c, 15 + 1) };
        foreach (var (head, free) in expectFree)
        {
            _pair.Device.PushUsed((ushort)head, chains[head]);
            _pair.Device.PublishUsed();
            Assert.That(d.TryPopUsed(out ushort id, out uint len), Is.True);
            using (Assert.EnterMultipleScope())
            {
                Assert.That((id, len), Is.EqualTo(((ushort)head, chains[head])));
                Assert.That(d.FreeDescriptors, Is.EqualTo(free), $"after completing {head}");
            }
        }

        // The recycled free list is whole: every descriptor can be taken again as one long chain.
        var all = new (int, bool)[16];
        for (int i = 0; i < 16; i++) all[i] = (8, i >= 8);
        var longSegs = _pair.Buffers(6, all);
        int g = d.AddChain(longSegs);
        Assert.That(g, Is.GreaterThanOrEqualTo(0));
        d.PublishAndCheckKick();
        Assert.That(_pair.Device.TryPopAvail(_pair.Chain), Is.True);
        _pair.AssertChain(_pair.Chain, g, longSegs);
    }

    [Test]
    public void AddArguments_AreValidated()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(() => _pair.Driver.AddChain([]), Throws.ArgumentException);
            Assert.That(() => _pair.Driver.AddIndirect(_pair.SlotGuest(0), 0, 0), Throws.TypeOf<ArgumentOutOfRangeException>());
            Assert.That(() => _pair.Driver.AddIndirect(_pair.SlotGuest(0), 4096, 0), Throws.TypeOf<ArgumentOutOfRangeException>());
            Assert.That(() => _pair.Driver.AddIndirect(_pair.SlotGuest(0), -1, 0), Throws.TypeOf<ArgumentOutOfRangeException>());
            Assert.That(_pair.Driver.FreeDescriptors, Is.EqualTo(16));
            Assert.That(() => new DescriptorChain(0), Throws.TypeOf<ArgumentOutOfRangeException>());
        }
    }

    [Test]
    public void ZeroLengthBufferInsideTheRegion_IsAccepted()
    {
        var segs = _pair.Buffers(0, (16, false), (0, true), (1, true));
        int id = _pair.Driver.AddChain(segs);
        _pair.Driver.PublishAndCheckKick();
        Assert.That(_pair.Device.TryPopAvail(_pair.Chain), Is.True);
        _pair.AssertChain(_pair.Chain, id, segs);
    }

    [Test]
    public void ABatchOfMixedRequests_IsPoppedInAvailOrderAndCompletedInAnyOrder()
    {
        var expected = new List<(int Id, BufferSegment[] Segs)>();
        for (int slot = 0; slot < 7; slot++)   // 3 indirect + 4 chains of 3 = 15 of 16 descriptors
        {
            var segs = _pair.Buffers(slot, (16, false), (512 * (slot + 1), slot % 2 == 0), (1, true));
            int id = slot % 3 == 0 ? _pair.AddIndirect(slot, segs) : _pair.Driver.AddChain(segs);
            Assert.That(id, Is.GreaterThanOrEqualTo(0));
            expected.Add((id, segs));
        }
        Assert.That(_pair.Driver.PublishAndCheckKick(), Is.True);

        var popped = new List<(ushort Head, uint Writable)>();
        foreach (var (id, segs) in expected)
        {
            Assert.That(_pair.Device.TryPopAvail(_pair.Chain), Is.True);
            _pair.AssertChain(_pair.Chain, id, segs);
            popped.Add((_pair.Chain.Head, (uint)_pair.Chain.WritableBytes));
        }
        Assert.That(_pair.Device.TryPopAvail(_pair.Chain), Is.False);

        popped.Reverse();
        foreach (var (head, writable) in popped) _pair.Device.PushUsed(head, writable);
        _pair.Device.PublishUsed();
        foreach (var (head, writable) in popped)
        {
            Assert.That(_pair.Driver.TryPopUsed(out ushort id, out uint len), Is.True);
            Assert.That((id, len), Is.EqualTo((head, writable)));
        }
        using (Assert.EnterMultipleScope())
        {
            Assert.That(_pair.Driver.FreeDescriptors, Is.EqualTo(16));
            Assert.That(_pair.Driver.InFlight, Is.Zero);
        }
    }

    [Test]
    public void DeviceOnItsOwnMapping_TranslatesGuestAddressesThroughItsOwnTable()
    {
        // A second host mapping of the same bytes is not needed to prove translation: give the device a table whose
        // single region has the same host bytes but a different guest base, and the addresses the driver writes must
        // be refused. The device never falls back to reading guest addresses as pointers.
        var other = new Orion.Pmd.Virtio.Memory.MemoryRegionTable();
        other.Add(new Orion.Pmd.Virtio.Memory.MemoryRegion(0x40_0000_0000, (ulong)_pair.Region.Length, (nint)_pair.Region.Host));
        ulong shift = 0x40_0000_0000 - _pair.Region.GuestBase;
        var a = _pair.Addresses;
        var device = new SplitQueueDevice(other, new SplitRingAddresses(a.DescriptorTable + shift, a.AvailRing + shift, a.UsedRing + shift), 16, false, true);

        var segs = _pair.Buffers(0, (16, false), (1, true));
        _pair.Driver.AddChain(segs);
        _pair.Driver.PublishAndCheckKick();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(device.TryPopAvail(_pair.Chain), Is.False);
            Assert.That(device.Error, Is.EqualTo(VirtqueueError.AddressOutOfRange));
        }
    }
}
