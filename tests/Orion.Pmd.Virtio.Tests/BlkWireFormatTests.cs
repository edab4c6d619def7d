using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Virtio.Tests;

/// <summary>virtio-blk wire format against VirtIO 1.2 §5.2.</summary>
public class BlkWireFormatTests
{
    [Test]
    public void RequestHeader_Is16BytesWithSpecOffsets()
    {
        var h = new BlkRequestHeader(BlkRequestType.Out, 0x0102_0304_0506_0708, ioPriority: 0xA0B0_C0D0);
        var bytes = MemoryMarshal.AsBytes(new ReadOnlySpan<BlkRequestHeader>(in h));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(BlkRequestHeader.Size, Is.EqualTo(16));
            Assert.That(Unsafe.SizeOf<BlkRequestHeader>(), Is.EqualTo(16));
            Assert.That(Marshal.OffsetOf<BlkRequestHeader>(nameof(BlkRequestHeader.Type)), Is.EqualTo((nint)0));
            Assert.That(Marshal.OffsetOf<BlkRequestHeader>(nameof(BlkRequestHeader.IoPriority)), Is.EqualTo((nint)4));
            Assert.That(Marshal.OffsetOf<BlkRequestHeader>(nameof(BlkRequestHeader.Sector)), Is.EqualTo((nint)8));
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(bytes), Is.EqualTo(1u), "type@0");
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(bytes[4..]), Is.EqualTo(0xA0B0_C0D0u), "ioprio@4");
            Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]), Is.EqualTo(0x0102_0304_0506_0708UL), "sector@8");
        }
    }

    [Test]
    public void DiscardWriteZeroes_Is16BytesWithSpecOffsets()
    {
        var r = new BlkDiscardWriteZeroes(0x1122_3344_5566_7788, 0x99, BlkDiscardWriteZeroes.FlagUnmap);
        var bytes = MemoryMarshal.AsBytes(new ReadOnlySpan<BlkDiscardWriteZeroes>(in r));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(BlkDiscardWriteZeroes.Size, Is.EqualTo(16));
            Assert.That(Unsafe.SizeOf<BlkDiscardWriteZeroes>(), Is.EqualTo(16));
            Assert.That(BlkDiscardWriteZeroes.FlagUnmap, Is.EqualTo(1u));
            Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(bytes), Is.EqualTo(0x1122_3344_5566_7788UL), "sector@0");
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]), Is.EqualTo(0x99u), "num_sectors@8");
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(bytes[12..]), Is.EqualTo(1u), "flags@12");
        }
    }

    [Test]
    public void RequestTypesAndStatuses_HaveSpecValues()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That((uint)BlkRequestType.In, Is.Zero);
            Assert.That((uint)BlkRequestType.Out, Is.EqualTo(1u));
            Assert.That((uint)BlkRequestType.Flush, Is.EqualTo(4u));
            Assert.That((uint)BlkRequestType.GetId, Is.EqualTo(8u));
            Assert.That((uint)BlkRequestType.GetLifetime, Is.EqualTo(10u));
            Assert.That((uint)BlkRequestType.Discard, Is.EqualTo(11u));
            Assert.That((uint)BlkRequestType.WriteZeroes, Is.EqualTo(13u));
            Assert.That((uint)BlkRequestType.SecureErase, Is.EqualTo(14u));
            Assert.That((uint)BlkRequestType.ZoneAppend, Is.EqualTo(15u));
            Assert.That((uint)BlkRequestType.ZoneReport, Is.EqualTo(16u));
            Assert.That((uint)BlkRequestType.ZoneOpen, Is.EqualTo(18u));
            Assert.That((uint)BlkRequestType.ZoneClose, Is.EqualTo(20u));
            Assert.That((uint)BlkRequestType.ZoneFinish, Is.EqualTo(22u));
            Assert.That((uint)BlkRequestType.ZoneReset, Is.EqualTo(24u));
            Assert.That((uint)BlkRequestType.ZoneResetAll, Is.EqualTo(26u));
            Assert.That((byte)BlkStatus.Ok, Is.Zero);
            Assert.That((byte)BlkStatus.IoError, Is.EqualTo(1));
            Assert.That((byte)BlkStatus.Unsupported, Is.EqualTo(2));
            Assert.That(BlkConstants.SectorSize, Is.EqualTo(512));
            Assert.That(BlkConstants.IdBytes, Is.EqualTo(20));
            Assert.That(BlkConstants.StatusBytes, Is.EqualTo(1));
        }
    }

    // Every field gets a distinct value whose bytes are all non-zero, so a field at the wrong offset or width shows.
    private static BlkConfig Sample() => new()
    {
        Capacity = 0x0102_0304_0506_0708,
        SizeMax = 0x1112_1314,
        SegMax = 0x2122_2324,
        Cylinders = 0x3132,
        Heads = 0x33,
        Sectors = 0x34,
        BlockSize = 0x4142_4344,
        PhysicalBlockExp = 0x51,
        AlignmentOffset = 0x52,
        MinIoSize = 0x5354,
        OptIoSize = 0x6162_6364,
        Writeback = 0x71,
        NumQueues = 0x7273,
        MaxDiscardSectors = 0x8182_8384,
        MaxDiscardSeg = 0x9192_9394,
        DiscardSectorAlignment = 0xA1A2_A3A4,
        MaxWriteZeroesSectors = 0xB1B2_B3B4,
        MaxWriteZeroesSeg = 0xC1C2_C3C4,
        WriteZeroesMayUnmap = 0xD1,
    };

    [Test]
    public void Config_OffsetConstantsMatchTheSpec()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(BlkConfig.Size, Is.EqualTo(60));
            Assert.That(BlkConfig.Offsets.Capacity, Is.Zero);
            Assert.That(BlkConfig.Offsets.SizeMax, Is.EqualTo(8));
            Assert.That(BlkConfig.Offsets.SegMax, Is.EqualTo(12));
            Assert.That(BlkConfig.Offsets.Cylinders, Is.EqualTo(16));
            Assert.That(BlkConfig.Offsets.Heads, Is.EqualTo(18));
            Assert.That(BlkConfig.Offsets.Sectors, Is.EqualTo(19));
            Assert.That(BlkConfig.Offsets.BlockSize, Is.EqualTo(20));
            Assert.That(BlkConfig.Offsets.PhysicalBlockExp, Is.EqualTo(24));
            Assert.That(BlkConfig.Offsets.AlignmentOffset, Is.EqualTo(25));
            Assert.That(BlkConfig.Offsets.MinIoSize, Is.EqualTo(26));
            Assert.That(BlkConfig.Offsets.OptIoSize, Is.EqualTo(28));
            Assert.That(BlkConfig.Offsets.Writeback, Is.EqualTo(32));
            Assert.That(BlkConfig.Offsets.NumQueues, Is.EqualTo(34));
            Assert.That(BlkConfig.Offsets.MaxDiscardSectors, Is.EqualTo(36));
            Assert.That(BlkConfig.Offsets.MaxDiscardSeg, Is.EqualTo(40));
            Assert.That(BlkConfig.Offsets.DiscardSectorAlignment, Is.EqualTo(44));
            Assert.That(BlkConfig.Offsets.MaxWriteZeroesSectors, Is.EqualTo(48));
            Assert.That(BlkConfig.Offsets.MaxWriteZeroesSeg, Is.EqualTo(52));
            Assert.That(BlkConfig.Offsets.WriteZeroesMayUnmap, Is.EqualTo(56));
        }
    }

    [Test]
    public void Config_WriteTo_PutsEveryFieldAtItsSpecOffset()
    {
        var b = new byte[64];
        b.AsSpan().Fill(0xEE);
        Sample().WriteTo(b);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(0)), Is.EqualTo(0x0102_0304_0506_0708UL), "capacity@0");
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(8)), Is.EqualTo(0x1112_1314u), "size_max@8");
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(12)), Is.EqualTo(0x2122_2324u), "seg_max@12");
            Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(16)), Is.EqualTo((ushort)0x3132), "cylinders@16");
            Assert.That(b[18], Is.EqualTo(0x33), "heads@18");
            Assert.That(b[19], Is.EqualTo(0x34), "sectors@19");
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(20)), Is.EqualTo(0x4142_4344u), "blk_size@20");
            Assert.That(b[24], Is.EqualTo(0x51), "physical_block_exp@24");
            Assert.That(b[25], Is.EqualTo(0x52), "alignment_offset@25");
            Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(26)), Is.EqualTo((ushort)0x5354), "min_io_size@26");
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(28)), Is.EqualTo(0x6162_6364u), "opt_io_size@28");
            Assert.That(b[32], Is.EqualTo(0x71), "writeback@32");
            Assert.That(b[33], Is.Zero, "unused0@33");
            Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(34)), Is.EqualTo((ushort)0x7273), "num_queues@34");
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(36)), Is.EqualTo(0x8182_8384u), "max_discard_sectors@36");
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(40)), Is.EqualTo(0x9192_9394u), "max_discard_seg@40");
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(44)), Is.EqualTo(0xA1A2_A3A4u), "discard_sector_alignment@44");
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(48)), Is.EqualTo(0xB1B2_B3B4u), "max_write_zeroes_sectors@48");
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(52)), Is.EqualTo(0xC1C2_C3C4u), "max_write_zeroes_seg@52");
            Assert.That(b[56], Is.EqualTo(0xD1), "write_zeroes_may_unmap@56");
            Assert.That(b.AsSpan(57, 3).ToArray(), Is.All.Zero, "unused1@57..59");
            Assert.That(b.AsSpan(60).ToArray(), Is.All.EqualTo(0xEE), "nothing written past 60 bytes");
        }
    }

    [Test]
    public void Config_RoundTrips()
    {
        var original = Sample();
        var b = new byte[BlkConfig.Size];
        original.WriteTo(b);
        Assert.That(BlkConfig.Parse(b), Is.EqualTo(original));
    }

    [Test]
    public void Config_ParseOfALongerSpace_IgnoresTheRest()
    {
        var b = new byte[96];
        b.AsSpan().Fill(0xFF);
        Sample().WriteTo(b);
        Assert.That(BlkConfig.Parse(b), Is.EqualTo(Sample()));
    }

    [Test]
    public void Config_WriteTo_RejectsAShortDestination()
        => Assert.That(() => Sample().WriteTo(new byte[59]), Throws.ArgumentException);

    [TestCase(0)]
    [TestCase(8)]
    [TestCase(24)]
    public void Config_ParseOfAShortSpace_ReadsMissingFieldsAsZero(int served)
    {
        var full = new byte[BlkConfig.Size];
        Sample().WriteTo(full);
        var parsed = BlkConfig.Parse(full.AsSpan(0, served));
        var expected = new BlkConfig
        {
            Capacity = served >= 8 ? Sample().Capacity : 0,
            SizeMax = served >= 12 ? Sample().SizeMax : 0,
            SegMax = served >= 16 ? Sample().SegMax : 0,
            Cylinders = served >= 18 ? Sample().Cylinders : (ushort)0,
            Heads = served >= 19 ? Sample().Heads : (byte)0,
            Sectors = served >= 20 ? Sample().Sectors : (byte)0,
            BlockSize = served >= 24 ? Sample().BlockSize : 0,
        };
        Assert.That(parsed, Is.EqualTo(expected));
    }

    [Test]
    public void Config_ParseOfAVirtio10Space_HasCapacityOnly()
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, 2_097_152);
        var parsed = BlkConfig.Parse(b);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(parsed.Capacity, Is.EqualTo(2_097_152UL));
            Assert.That(parsed.BlockSize, Is.Zero);
            Assert.That(parsed.NumQueues, Is.Zero);
            Assert.That(parsed.WriteZeroesMayUnmap, Is.Zero);
        }
    }
}
