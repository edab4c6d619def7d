using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Virtio.Tests.Support;

/// <summary>
/// A queue of either format in a <see cref="GuardedRegion"/>: the driver built on the host pointer, the device built
/// only from guest addresses and the region table (so it must translate), plus a data area cut into fixed-size slots
/// for request buffers and indirect tables. <see cref="RingPair"/> (split) and <see cref="PackedRingPair"/> derive
/// from it and expose their concrete driver and device; the contract tests see only the interfaces.
/// </summary>
/// <remarks>
/// Region layout: [ring (rounded up to 4 KiB)] [slot 0] [slot 1] ... Each slot starts with room for an indirect table
/// of <see cref="TableEntries"/> descriptors; buffers follow it, 16-byte aligned.
/// </remarks>
internal abstract unsafe class RingHarness : IDisposable
{
    public const int TableEntries = 32;
    public const int TableBytes = TableEntries * 16;

    protected RingHarness(int ringBytes, int size, int slots, int slotBytes, int maxSegments)
    {
        SlotCount = slots < 0 ? size : slots;
        SlotBytes = slotBytes;
        DataOffset = (ringBytes + 4095) & ~4095;
        Region = new GuardedRegion(DataOffset + SlotCount * slotBytes);
        RingHost = Region.Host;
        Chain = new DescriptorChain(maxSegments);
    }

    /// <summary>Called by the derived constructor once the queue exists.</summary>
    protected void Attach(IDriverQueue driver, IDeviceQueue device)
    {
        Driver = driver;
        Device = device;
    }

    public GuardedRegion Region { get; }
    public byte* RingHost { get; }
    public DescriptorChain Chain { get; }
    public IDriverQueue Driver { get; private set; } = null!;
    public IDeviceQueue Device { get; private set; } = null!;
    public int Size => Driver.Size;

    public int DataOffset { get; }
    public int SlotCount { get; }
    public int SlotBytes { get; }

    /// <summary>Guest address of the start of a slot (its indirect table area).</summary>
    public ulong SlotGuest(int slot) => Region.GuestBase + (ulong)(DataOffset + slot * SlotBytes);

    /// <summary>
    /// Places buffers of the given lengths one after another in <paramref name="slot"/>, after its table area.
    /// Returns the segments in the order given.
    /// </summary>
    public BufferSegment[] Buffers(int slot, params ReadOnlySpan<(int Length, bool Writable)> parts)
    {
        var result = new BufferSegment[parts.Length];
        ulong at = SlotGuest(slot) + TableBytes;
        ulong end = SlotGuest(slot) + (ulong)SlotBytes;
        for (int i = 0; i < parts.Length; i++)
        {
            result[i] = new BufferSegment(at, (uint)parts[i].Length, parts[i].Writable);
            at += ((ulong)parts[i].Length + 15UL) & ~15UL;
            if (at > end) throw new ArgumentException("test setup: buffers do not fit in a slot");
        }
        return result;
    }

    /// <summary>
    /// Writes <paramref name="segments"/> as an indirect table at the start of <paramref name="slot"/>, in the ring's own
    /// format (through <see cref="IDriverQueue.WriteIndirectTable"/>); returns the table's guest address.
    /// </summary>
    public ulong WriteIndirectTable(int slot, ReadOnlySpan<BufferSegment> segments)
    {
        if (segments.Length > TableEntries) throw new ArgumentException("test setup: too many entries for a slot's table");
        ulong table = SlotGuest(slot);
        Driver.WriteIndirectTable(new Span<byte>(HostOf(table), TableBytes), segments);
        return table;
    }

    /// <summary>Adds <paramref name="segments"/> as one indirect request whose table lives in <paramref name="slot"/>.</summary>
    public int AddIndirect(int slot, ReadOnlySpan<BufferSegment> segments)
        => Driver.AddIndirect(WriteIndirectTable(slot, segments), segments.Length, WritableBytes(segments));

    public static uint WritableBytes(ReadOnlySpan<BufferSegment> segments)
    {
        uint sum = 0;
        foreach (var s in segments) if (s.DeviceWritable) sum += s.Length;
        return sum;
    }

    public byte* HostOf(ulong guest) => Region.HostOf(guest);

    /// <summary>Asserts that a popped chain is exactly <paramref name="expected"/>, translated into this region.</summary>
    public void AssertChain(DescriptorChain chain, int expectedHead, ReadOnlySpan<BufferSegment> expected)
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(chain.Head, Is.EqualTo(expectedHead), "head");
            Assert.That(chain.Count, Is.EqualTo(expected.Length), "segment count");
        }
        ulong readable = 0, writable = 0;
        int readableCount = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            var seg = chain.Segments[i];
            var want = expected[i];
            using (Assert.EnterMultipleScope())
            {
                Assert.That(seg.Host, Is.EqualTo((nint)HostOf(want.GuestAddress)), $"segment {i}: host pointer is the translation of guest 0x{want.GuestAddress:x}");
                Assert.That((ulong)seg.Host, Is.Not.EqualTo(want.GuestAddress), $"segment {i}: the guest address was not used as a pointer");
                Assert.That(seg.Length, Is.EqualTo(want.Length), $"segment {i}: length");
                Assert.That(seg.DeviceWritable, Is.EqualTo(want.DeviceWritable), $"segment {i}: direction");
            }
            if (want.DeviceWritable) writable += want.Length;
            else
            {
                readable += want.Length;
                readableCount++;
            }
        }
        using (Assert.EnterMultipleScope())
        {
            Assert.That(chain.ReadableBytes, Is.EqualTo(readable), "readable bytes");
            Assert.That(chain.WritableBytes, Is.EqualTo(writable), "writable bytes");
            Assert.That(chain.ReadableCount, Is.EqualTo(readableCount), "readable count");
        }
    }

    /// <summary>
    /// A well-behaved device step: pops everything available, completes each chain with its full writable length,
    /// publishes once. Returns the number of chains completed.
    /// </summary>
    public int ServiceAll()
    {
        int n = 0;
        while (Device.TryPopAvail(Chain))
        {
            Device.PushUsed(Chain.Head, (uint)Chain.WritableBytes);
            n++;
        }
        if (n > 0) Device.PublishUsed();
        return n;
    }

    public void Dispose() => Region.Dispose();
}
