using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Orion.Pmd.Virtio.Rings;
using Orion.Pmd.Virtio.Tests.Support;

namespace Orion.Pmd.Virtio.Tests;

/// <summary>Byte layout of split virtqueues against VirtIO 1.1 §2.6.</summary>
public class SplitRingLayoutTests
{
    [Test]
    public void Descriptor_Is16BytesWithSpecOffsets()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(VirtqDescriptor.Size, Is.EqualTo(16));
            Assert.That(Unsafe.SizeOf<VirtqDescriptor>(), Is.EqualTo(16));
            Assert.That(Marshal.SizeOf<VirtqDescriptor>(), Is.EqualTo(16));
            Assert.That(Marshal.OffsetOf<VirtqDescriptor>(nameof(VirtqDescriptor.Address)), Is.EqualTo((nint)0));
            Assert.That(Marshal.OffsetOf<VirtqDescriptor>(nameof(VirtqDescriptor.Length)), Is.EqualTo((nint)8));
            Assert.That(Marshal.OffsetOf<VirtqDescriptor>(nameof(VirtqDescriptor.Flags)), Is.EqualTo((nint)12));
            Assert.That(Marshal.OffsetOf<VirtqDescriptor>(nameof(VirtqDescriptor.Next)), Is.EqualTo((nint)14));
            Assert.That((ushort)VirtqDescriptorFlags.Next, Is.EqualTo(1));
            Assert.That((ushort)VirtqDescriptorFlags.Write, Is.EqualTo(2));
            Assert.That((ushort)VirtqDescriptorFlags.Indirect, Is.EqualTo(4));
        }
    }

    [Test]
    public void Descriptor_BytesAreLittleEndian()
    {
        var d = new VirtqDescriptor(0x1122_3344_5566_7788, 0x99AA_BBCC, VirtqDescriptorFlags.Next | VirtqDescriptorFlags.Write, 0xDDEE);
        var bytes = MemoryMarshal.AsBytes(new ReadOnlySpan<VirtqDescriptor>(in d));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(bytes), Is.EqualTo(0x1122_3344_5566_7788UL));
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]), Is.EqualTo(0x99AA_BBCCU));
            Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(bytes[12..]), Is.EqualTo((ushort)3));
            Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(bytes[14..]), Is.EqualTo((ushort)0xDDEE));
        }
    }

    [Test]
    public void RingConstants_MatchTheSpec()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(SplitRingLayout.AvailFlags, Is.Zero);
            Assert.That(SplitRingLayout.AvailIdx, Is.EqualTo(2));
            Assert.That(SplitRingLayout.AvailRing, Is.EqualTo(4));
            Assert.That(SplitRingLayout.UsedFlags, Is.Zero);
            Assert.That(SplitRingLayout.UsedIdx, Is.EqualTo(2));
            Assert.That(SplitRingLayout.UsedRing, Is.EqualTo(4));
            Assert.That(SplitRingLayout.UsedElementSize, Is.EqualTo(8));
            Assert.That(SplitRingLayout.AvailFlagNoInterrupt, Is.EqualTo((ushort)1));
            Assert.That(SplitRingLayout.UsedFlagNoNotify, Is.EqualTo((ushort)1));
            Assert.That(SplitRingLayout.MaxQueueSize, Is.EqualTo(32768));
        }
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(256)]
    [TestCase(32768)]
    public void PartSizesAndEventOffsets_FollowTheSpecFormulas(int n)
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(SplitRingLayout.DescriptorTableBytes(n), Is.EqualTo(16 * n));
            Assert.That(SplitRingLayout.AvailBytes(n), Is.EqualTo(2 + 2 + 2 * n + 2));    // flags, idx, ring[N], used_event
            Assert.That(SplitRingLayout.UsedBytes(n), Is.EqualTo(2 + 2 + 8 * n + 2));     // flags, idx, ring[N], avail_event
            Assert.That(SplitRingLayout.UsedEventOffset(n), Is.EqualTo(4 + 2 * n));
            Assert.That(SplitRingLayout.AvailEventOffset(n), Is.EqualTo(4 + 8 * n));
        }
    }

    // Expected offsets: descriptor table at 0, avail right after it, used on the next 64-byte line, total rounded to 64.
    [TestCase(1, 16, 64, 128)]        // avail 16..24, used 64..78
    [TestCase(256, 4096, 4672, 6784)] // avail 4096..4614, used 4672..6726
    [TestCase(32768, 524288, 589888, 852096)]
    public void Compute_PlacesPartsAlignedAndApart(int n, int availOffset, int usedOffset, int total)
    {
        var layout = SplitRingLayout.Compute(n);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(layout.QueueSize, Is.EqualTo((ushort)(n & 0xFFFF)));
            Assert.That(layout.DescriptorTableOffset, Is.Zero);
            Assert.That(layout.AvailOffset, Is.EqualTo(availOffset));
            Assert.That(layout.UsedOffset, Is.EqualTo(usedOffset));
            Assert.That(layout.TotalBytes, Is.EqualTo(total));
            // spec alignments: descriptor table 16, avail 2, used 4 (here: used on its own cache line)
            Assert.That(layout.DescriptorTableOffset % 16, Is.Zero);
            Assert.That(layout.AvailOffset % 2, Is.Zero);
            Assert.That(layout.UsedOffset % 4, Is.Zero);
            Assert.That(layout.UsedOffset % 64, Is.Zero);
            // no overlap, everything inside TotalBytes
            Assert.That(layout.AvailOffset, Is.GreaterThanOrEqualTo(layout.DescriptorTableOffset + SplitRingLayout.DescriptorTableBytes(n)));
            Assert.That(layout.UsedOffset, Is.GreaterThanOrEqualTo(layout.AvailOffset + SplitRingLayout.AvailBytes(n)));
            Assert.That(layout.TotalBytes, Is.GreaterThanOrEqualTo(layout.UsedOffset + SplitRingLayout.UsedBytes(n)));
        }
    }

    [Test]
    public void Compute_OfMaxSize_HasQueueSize32768()
        => Assert.That(SplitRingLayout.Compute(32768).QueueSize, Is.EqualTo((ushort)32768));

    [TestCase(0)]
    [TestCase(-1)]
    [TestCase(3)]
    [TestCase(100)]
    [TestCase(32769)]
    [TestCase(65536)]
    [TestCase(int.MinValue)]
    public void InvalidSizes_AreRejected(int n)
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(SplitRingLayout.IsValidSize(n), Is.False);
            Assert.That(() => SplitRingLayout.Compute(n), Throws.TypeOf<ArgumentOutOfRangeException>());
        }
    }

    [Test]
    public void ValidSizes_AreEveryPowerOfTwoUpTo32768()
    {
        for (int n = 1; n <= 32768; n <<= 1)
            Assert.That(SplitRingLayout.IsValidSize(n), Is.True, $"size {n}");
    }

    /// <summary>The bytes the driver and device write land where the spec says, read back with explicit little-endian loads.</summary>
    [Test]
    public unsafe void DriverAndDevice_WriteSpecOffsets()
    {
        const int n = 8;
        using var pair = new RingPair(n, eventIdx: true, suppressInterrupts: true, initialIndex: 0x1234);
        var segs = pair.Buffers(0, (16, false), (512, true), (1, true));
        int head = pair.Driver.AddChain(segs);
        Assert.That(head, Is.Zero);
        pair.Driver.PublishAndCheckKick();

        byte* ring = pair.RingHost;
        var desc = new ReadOnlySpan<byte>(ring + pair.Layout.DescriptorTableOffset, 16 * n);
        var avail = new ReadOnlySpan<byte>(ring + pair.Layout.AvailOffset, SplitRingLayout.AvailBytes(n));
        var used = new ReadOnlySpan<byte>(ring + pair.Layout.UsedOffset, SplitRingLayout.UsedBytes(n));

        using (Assert.EnterMultipleScope())
        {
            for (int i = 0; i < 3; i++)
            {
                var d = desc[(16 * i)..];
                Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(d), Is.EqualTo(segs[i].GuestAddress), $"desc {i} addr@0");
                Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(d[8..]), Is.EqualTo(segs[i].Length), $"desc {i} len@8");
                ushort flags = (ushort)((segs[i].DeviceWritable ? 2 : 0) | (i < 2 ? 1 : 0));
                Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(d[12..]), Is.EqualTo(flags), $"desc {i} flags@12");
                if (i < 2) Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(d[14..]), Is.EqualTo((ushort)(i + 1)), $"desc {i} next@14");
            }
            Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(avail[2..]), Is.EqualTo((ushort)0x1235), "avail idx@2");
            Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(avail[(4 + 2 * (0x1234 % n))..]), Is.EqualTo((ushort)0), "avail ring@4");
            // polled driver with EVENT_IDX: used_event@4+2N is just behind the consumer, out of the device's reach
            Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(avail[(4 + 2 * n)..]), Is.EqualTo((ushort)(0x1234 - 1)), "used_event@4+2N");
        }

        pair.Device.SuppressKicks();
        Assert.That(pair.Device.TryPopAvail(pair.Chain), Is.True);
        pair.Device.PushUsed(pair.Chain.Head, 513);
        pair.Device.PublishUsed();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(used[2..]), Is.EqualTo((ushort)0x1235), "used idx@2");
            var elem = used[(4 + 8 * (0x1234 % n))..];
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(elem), Is.Zero, "used elem id@0");
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(elem[4..]), Is.EqualTo(513u), "used elem len@4");
            // the device's avail_event@4+8N stays more than a queue behind its position while kicks are suppressed
            Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(used[(4 + 8 * n)..]), Is.EqualTo(unchecked((ushort)(0x1235 - n - 1))), "avail_event@4+8N");
        }
    }

    [Test]
    public unsafe void Flags_NoInterruptAndNoNotify_AreAtOffsetZeroOfEachRing()
    {
        using var pair = new RingPair(4, eventIdx: false, suppressInterrupts: true);
        pair.Device.SuppressKicks();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(new ReadOnlySpan<byte>(pair.RingHost + pair.Layout.AvailOffset, 2)), Is.EqualTo((ushort)1));
            Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(new ReadOnlySpan<byte>(pair.RingHost + pair.Layout.UsedOffset, 2)), Is.EqualTo((ushort)1));
        }
    }
}
