using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Virtio.Tests.Packed;

/// <summary>Byte layout of packed virtqueues against VirtIO 1.1 §2.7 and Linux uapi <c>virtio_ring.h</c>.</summary>
public class PackedRingLayoutTests
{
    [Test]
    public void Descriptor_Is16BytesWithSpecOffsets()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(PackedDescriptor.Size, Is.EqualTo(16));
            Assert.That(Unsafe.SizeOf<PackedDescriptor>(), Is.EqualTo(16));
            Assert.That(Marshal.SizeOf<PackedDescriptor>(), Is.EqualTo(16));
            Assert.That(Marshal.OffsetOf<PackedDescriptor>(nameof(PackedDescriptor.Address)), Is.EqualTo((nint)0), "le64 addr");
            Assert.That(Marshal.OffsetOf<PackedDescriptor>(nameof(PackedDescriptor.Length)), Is.EqualTo((nint)8), "le32 len");
            Assert.That(Marshal.OffsetOf<PackedDescriptor>(nameof(PackedDescriptor.Id)), Is.EqualTo((nint)12), "le16 id");
            Assert.That(Marshal.OffsetOf<PackedDescriptor>(nameof(PackedDescriptor.Flags)), Is.EqualTo((nint)14), "le16 flags");
            Assert.That(PackedRingLayout.DescAddress, Is.EqualTo(0));
            Assert.That(PackedRingLayout.DescLength, Is.EqualTo(8));
            Assert.That(PackedRingLayout.DescId, Is.EqualTo(12));
            Assert.That(PackedRingLayout.DescFlags, Is.EqualTo(14));
        }
    }

    [Test]
    public void Descriptor_BytesAreLittleEndian()
    {
        var d = new PackedDescriptor(0x1122_3344_5566_7788, 0x99AA_BBCC, 0xDDEE, PackedDescriptorFlags.Avail | PackedDescriptorFlags.Write);
        var bytes = MemoryMarshal.AsBytes(new ReadOnlySpan<PackedDescriptor>(in d));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(bytes), Is.EqualTo(0x1122_3344_5566_7788UL));
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]), Is.EqualTo(0x99AA_BBCCU));
            Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(bytes[12..]), Is.EqualTo((ushort)0xDDEE));
            Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(bytes[14..]), Is.EqualTo((ushort)0x82));
        }
    }

    [Test]
    public void Flags_HaveTheirSpecBits()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That((ushort)PackedDescriptorFlags.Next, Is.EqualTo(1), "VIRTQ_DESC_F_NEXT");
            Assert.That((ushort)PackedDescriptorFlags.Write, Is.EqualTo(2), "VIRTQ_DESC_F_WRITE");
            Assert.That((ushort)PackedDescriptorFlags.Indirect, Is.EqualTo(4), "VIRTQ_DESC_F_INDIRECT");
            Assert.That((ushort)PackedDescriptorFlags.Avail, Is.EqualTo(0x80), "VIRTQ_DESC_F_AVAIL = 1 << 7");
            Assert.That((ushort)PackedDescriptorFlags.Used, Is.EqualTo(0x8000), "VIRTQ_DESC_F_USED = 1 << 15");
            Assert.That(PackedRingLayout.AvailBit, Is.EqualTo(7), "VRING_PACKED_DESC_F_AVAIL");
            Assert.That(PackedRingLayout.UsedBit, Is.EqualTo(15), "VRING_PACKED_DESC_F_USED");
            Assert.That((ushort)PackedDescriptorFlags.Next, Is.EqualTo((ushort)VirtqDescriptorFlags.Next), "same values as split");
            Assert.That((ushort)PackedDescriptorFlags.Write, Is.EqualTo((ushort)VirtqDescriptorFlags.Write));
            Assert.That((ushort)PackedDescriptorFlags.Indirect, Is.EqualTo((ushort)VirtqDescriptorFlags.Indirect));
        }
    }

    [Test]
    public void EventSuppression_HasSpecOffsetsAndValues()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(PackedRingLayout.EventSuppressionSize, Is.EqualTo(4));
            Assert.That(PackedRingLayout.EventOffWrap, Is.Zero, "le16 off_wrap first");
            Assert.That(PackedRingLayout.EventFlags, Is.EqualTo(2), "le16 flags second");
            Assert.That(PackedRingLayout.EventFlagEnable, Is.EqualTo((ushort)0), "VRING_PACKED_EVENT_FLAG_ENABLE");
            Assert.That(PackedRingLayout.EventFlagDisable, Is.EqualTo((ushort)1), "VRING_PACKED_EVENT_FLAG_DISABLE");
            Assert.That(PackedRingLayout.EventFlagDesc, Is.EqualTo((ushort)2), "VRING_PACKED_EVENT_FLAG_DESC");
            Assert.That(PackedRingLayout.EventWrapCounterBit, Is.EqualTo(15), "VRING_PACKED_EVENT_F_WRAP_CTR");
            Assert.That(PackedRingLayout.OffWrap(0, true), Is.EqualTo((ushort)0x8000));
            Assert.That(PackedRingLayout.OffWrap(0x7FFF, false), Is.EqualTo((ushort)0x7FFF));
            Assert.That(PackedRingLayout.OffWrap(5, true), Is.EqualTo((ushort)0x8005));
            Assert.That(PackedRingLayout.MaxQueueSize, Is.EqualTo(32768), "2^15 entries");
        }
    }

    [TestCase(1)]
    [TestCase(3)]
    [TestCase(4)]
    [TestCase(5)]
    [TestCase(100)]
    [TestCase(256)]
    [TestCase(1000)]
    [TestCase(32767)]
    [TestCase(32768)]
    public void Compute_PlacesTheAreasAlignedAndApart(int size)
    {
        var l = PackedRingLayout.Compute(size);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(l.QueueSize, Is.EqualTo((ushort)size), "packed sizes need not be powers of two");
            Assert.That(l.DescriptorRingOffset, Is.Zero);
            Assert.That(PackedRingLayout.DescriptorRingBytes(size), Is.EqualTo(16 * size));
            Assert.That(l.DescriptorRingOffset % 16, Is.Zero, "descriptor ring 16-byte aligned");
            Assert.That(l.DriverEventOffset % 64, Is.Zero, "driver event suppression on its own cache line");
            Assert.That(l.DeviceEventOffset % 64, Is.Zero, "device event suppression on its own cache line");
            Assert.That(l.DriverEventOffset, Is.GreaterThanOrEqualTo(16 * size), "after the descriptor ring");
            Assert.That(l.DriverEventOffset - 16 * size, Is.LessThan(64), "no more padding than a cache line");
            Assert.That(l.DeviceEventOffset, Is.EqualTo(l.DriverEventOffset + 64), "apart from each other");
            Assert.That(l.TotalBytes, Is.EqualTo(l.DeviceEventOffset + 64));
        }
    }

    [TestCase(0)]
    [TestCase(-1)]
    [TestCase(32769)]
    [TestCase(65536)]
    public void Compute_RejectsInvalidSizes(int size)
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(PackedRingLayout.IsValidSize(size), Is.False);
            Assert.That(() => PackedRingLayout.Compute(size), Throws.TypeOf<ArgumentOutOfRangeException>());
        }
    }

    [Test]
    public void IndirectTables_AreWrittenInEachFormat()
    {
        BufferSegment[] segs = [new(0x1000, 16, false), new(0x2000, 4096, true), new(0x3000, 1, true)];
        var packed = new byte[3 * 16];
        var split = new byte[3 * 16];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(IndirectTable.WritePacked(packed, segs), Is.EqualTo(4097u));
            Assert.That(IndirectTable.WriteSplit(split, segs), Is.EqualTo(4097u));
        }
        for (int i = 0; i < 3; i++)
        {
            var p = packed.AsSpan(16 * i, 16);
            var s = split.AsSpan(16 * i, 16);
            using (Assert.EnterMultipleScope())
            {
                Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(p), Is.EqualTo(segs[i].GuestAddress));
                Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(p[8..]), Is.EqualTo(segs[i].Length));
                Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(p[12..]), Is.Zero, "packed: id reserved in tables");
                Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(p[14..]), Is.EqualTo(segs[i].DeviceWritable ? (ushort)2 : (ushort)0), "packed: only WRITE, at byte 14");
                Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(s), Is.EqualTo(segs[i].GuestAddress));
                Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(s[12..]),
                    Is.EqualTo((ushort)((segs[i].DeviceWritable ? 2 : 0) | (i < 2 ? 1 : 0))), "split: WRITE and NEXT at byte 12");
                Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(s[14..]), Is.EqualTo(i < 2 ? (ushort)(i + 1) : (ushort)0), "split: next at byte 14");
            }
        }
    }
}
