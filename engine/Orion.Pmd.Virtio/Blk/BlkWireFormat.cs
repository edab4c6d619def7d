using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Orion.Pmd.Virtio.Blk;

/// <summary>
/// <c>struct virtio_blk_outhdr</c>, the 16-byte device-readable header that starts every request:
/// <c>le32 type; le32 ioprio (reserved in 1.0); le64 sector;</c>. Sectors are always 512 bytes, whatever <c>blk_size</c> says.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
public struct BlkRequestHeader
{
    /// <summary>Size in bytes.</summary>
    public const int Size = 16;
    /// <summary>Request type.</summary>
    [FieldOffset(0)] public BlkRequestType Type;
    /// <summary>I/O priority (reserved before 1.2's priority support).</summary>
    [FieldOffset(4)] public uint IoPriority;
    /// <summary>First 512-byte sector.</summary>
    [FieldOffset(8)] public ulong Sector;

    /// <summary>Creates a header.</summary>
    public BlkRequestHeader(BlkRequestType type, ulong sector, uint ioPriority = 0)
    {
        Type = type;
        Sector = sector;
        IoPriority = ioPriority;
    }
}

/// <summary>
/// One range of a DISCARD or WRITE_ZEROES request, 16 bytes: <c>le64 sector; le32 num_sectors; le32 flags;</c>
/// (bit 0 of flags is <c>unmap</c>).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
public struct BlkDiscardWriteZeroes
{
    /// <summary>Size in bytes.</summary>
    public const int Size = 16;
    /// <summary><c>VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP</c>.</summary>
    public const uint FlagUnmap = 1;
    /// <summary>First sector.</summary>
    [FieldOffset(0)] public ulong Sector;
    /// <summary>Number of 512-byte sectors.</summary>
    [FieldOffset(8)] public uint SectorCount;
    /// <summary>Flags.</summary>
    [FieldOffset(12)] public uint Flags;

    /// <summary>Creates a range.</summary>
    public BlkDiscardWriteZeroes(ulong sector, uint sectorCount, uint flags = 0)
    {
        Sector = sector;
        SectorCount = sectorCount;
        Flags = flags;
    }
}

/// <summary>Constants of the virtio-blk wire format.</summary>
public static class BlkConstants
{
    /// <summary>Header sectors are 512 bytes regardless of the logical block size.</summary>
    public const int SectorSize = 512;
    /// <summary>Bytes of the id a GET_ID request returns (<c>VIRTIO_BLK_ID_BYTES</c>).</summary>
    public const int IdBytes = 20;
    /// <summary>Bytes of the status trailer.</summary>
    public const int StatusBytes = 1;
}

/// <summary>
/// The virtio-blk configuration space (<c>struct virtio_blk_config</c>, VirtIO 1.2 §5.2.4), little-endian.
/// 60 bytes up to <c>write_zeroes_may_unmap</c> (what qemu-storage-daemon 7.2 serves); later 1.2 fields are optional.
/// Fields a device does not serve (a shorter config space) read as zero.
/// </summary>
public sealed record BlkConfig
{
    /// <summary>Bytes up to and including <c>write_zeroes_may_unmap</c> plus padding.</summary>
    public const int Size = 60;

    /// <summary>Byte offsets of each field.</summary>
    public static class Offsets
    {
        /// <summary><c>le64 capacity</c> (512-byte sectors).</summary>
        public const int Capacity = 0;
        /// <summary><c>le32 size_max</c>.</summary>
        public const int SizeMax = 8;
        /// <summary><c>le32 seg_max</c>.</summary>
        public const int SegMax = 12;
        /// <summary><c>le16 geometry.cylinders</c>.</summary>
        public const int Cylinders = 16;
        /// <summary><c>u8 geometry.heads</c>.</summary>
        public const int Heads = 18;
        /// <summary><c>u8 geometry.sectors</c>.</summary>
        public const int Sectors = 19;
        /// <summary><c>le32 blk_size</c>.</summary>
        public const int BlockSize = 20;
        /// <summary><c>u8 topology.physical_block_exp</c>.</summary>
        public const int PhysicalBlockExp = 24;
        /// <summary><c>u8 topology.alignment_offset</c>.</summary>
        public const int AlignmentOffset = 25;
        /// <summary><c>le16 topology.min_io_size</c>.</summary>
        public const int MinIoSize = 26;
        /// <summary><c>le32 topology.opt_io_size</c>.</summary>
        public const int OptIoSize = 28;
        /// <summary><c>u8 writeback</c>.</summary>
        public const int Writeback = 32;
        /// <summary><c>le16 num_queues</c>.</summary>
        public const int NumQueues = 34;
        /// <summary><c>le32 max_discard_sectors</c>.</summary>
        public const int MaxDiscardSectors = 36;
        /// <summary><c>le32 max_discard_seg</c>.</summary>
        public const int MaxDiscardSeg = 40;
        /// <summary><c>le32 discard_sector_alignment</c>.</summary>
        public const int DiscardSectorAlignment = 44;
        /// <summary><c>le32 max_write_zeroes_sectors</c>.</summary>
        public const int MaxWriteZeroesSectors = 48;
        /// <summary><c>le32 max_write_zeroes_seg</c>.</summary>
        public const int MaxWriteZeroesSeg = 52;
        /// <summary><c>u8 write_zeroes_may_unmap</c>.</summary>
        public const int WriteZeroesMayUnmap = 56;
    }

    /// <summary>Capacity in 512-byte sectors.</summary>
    public ulong Capacity { get; init; }
    /// <summary>Maximum bytes in one segment (with SIZE_MAX).</summary>
    public uint SizeMax { get; init; }
    /// <summary>Maximum data segments in one request (with SEG_MAX).</summary>
    public uint SegMax { get; init; }
    /// <summary>Geometry cylinders.</summary>
    public ushort Cylinders { get; init; }
    /// <summary>Geometry heads.</summary>
    public byte Heads { get; init; }
    /// <summary>Geometry sectors.</summary>
    public byte Sectors { get; init; }
    /// <summary>Logical block size in bytes (with BLK_SIZE).</summary>
    public uint BlockSize { get; init; }
    /// <summary>log2(physical blocks per logical block) (with TOPOLOGY).</summary>
    public byte PhysicalBlockExp { get; init; }
    /// <summary>Offset of the first aligned logical block (with TOPOLOGY).</summary>
    public byte AlignmentOffset { get; init; }
    /// <summary>Suggested minimum I/O size in blocks (with TOPOLOGY).</summary>
    public ushort MinIoSize { get; init; }
    /// <summary>Optimal sustained I/O size in blocks (with TOPOLOGY).</summary>
    public uint OptIoSize { get; init; }
    /// <summary>Writeback cache mode (with CONFIG_WCE).</summary>
    public byte Writeback { get; init; }
    /// <summary>Number of request queues (with MQ).</summary>
    public ushort NumQueues { get; init; }
    /// <summary>Maximum sectors in one discard range (with DISCARD).</summary>
    public uint MaxDiscardSectors { get; init; }
    /// <summary>Maximum discard ranges in one request (with DISCARD).</summary>
    public uint MaxDiscardSeg { get; init; }
    /// <summary>Discard alignment in sectors (with DISCARD).</summary>
    public uint DiscardSectorAlignment { get; init; }
    /// <summary>Maximum sectors in one write-zeroes range (with WRITE_ZEROES).</summary>
    public uint MaxWriteZeroesSectors { get; init; }
    /// <summary>Maximum write-zeroes ranges in one request (with WRITE_ZEROES).</summary>
    public uint MaxWriteZeroesSeg { get; init; }
    /// <summary>Whether write-zeroes may deallocate (with WRITE_ZEROES).</summary>
    public byte WriteZeroesMayUnmap { get; init; }

    /// <summary>Serializes to the 60-byte little-endian layout.</summary>
    public void WriteTo(Span<byte> destination)
    {
        if (destination.Length < Size) throw new ArgumentException($"config space needs {Size} bytes, got {destination.Length}", nameof(destination));
        destination[..Size].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(destination[Offsets.Capacity..], Capacity);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[Offsets.SizeMax..], SizeMax);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[Offsets.SegMax..], SegMax);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[Offsets.Cylinders..], Cylinders);
        destination[Offsets.Heads] = Heads;
        destination[Offsets.Sectors] = Sectors;
        BinaryPrimitives.WriteUInt32LittleEndian(destination[Offsets.BlockSize..], BlockSize);
        destination[Offsets.PhysicalBlockExp] = PhysicalBlockExp;
        destination[Offsets.AlignmentOffset] = AlignmentOffset;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[Offsets.MinIoSize..], MinIoSize);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[Offsets.OptIoSize..], OptIoSize);
        destination[Offsets.Writeback] = Writeback;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[Offsets.NumQueues..], NumQueues);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[Offsets.MaxDiscardSectors..], MaxDiscardSectors);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[Offsets.MaxDiscardSeg..], MaxDiscardSeg);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[Offsets.DiscardSectorAlignment..], DiscardSectorAlignment);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[Offsets.MaxWriteZeroesSectors..], MaxWriteZeroesSectors);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[Offsets.MaxWriteZeroesSeg..], MaxWriteZeroesSeg);
        destination[Offsets.WriteZeroesMayUnmap] = WriteZeroesMayUnmap;
    }

    /// <summary>
    /// Parses whatever prefix of the layout the device serves; fields beyond <paramref name="source"/>'s length read as zero
    /// (a VirtIO 1.0 device may serve only the first 8 or 24 bytes).
    /// </summary>
    public static BlkConfig Parse(ReadOnlySpan<byte> source)
    {
        Span<byte> b = stackalloc byte[Size];
        b.Clear();
        source[..Math.Min(source.Length, Size)].CopyTo(b);
        return new BlkConfig
        {
            Capacity = BinaryPrimitives.ReadUInt64LittleEndian(b[Offsets.Capacity..]),
            SizeMax = BinaryPrimitives.ReadUInt32LittleEndian(b[Offsets.SizeMax..]),
            SegMax = BinaryPrimitives.ReadUInt32LittleEndian(b[Offsets.SegMax..]),
            Cylinders = BinaryPrimitives.ReadUInt16LittleEndian(b[Offsets.Cylinders..]),
            Heads = b[Offsets.Heads],
            Sectors = b[Offsets.Sectors],
            BlockSize = BinaryPrimitives.ReadUInt32LittleEndian(b[Offsets.BlockSize..]),
            PhysicalBlockExp = b[Offsets.PhysicalBlockExp],
            AlignmentOffset = b[Offsets.AlignmentOffset],
            MinIoSize = BinaryPrimitives.ReadUInt16LittleEndian(b[Offsets.MinIoSize..]),
            OptIoSize = BinaryPrimitives.ReadUInt32LittleEndian(b[Offsets.OptIoSize..]),
            Writeback = b[Offsets.Writeback],
            NumQueues = BinaryPrimitives.ReadUInt16LittleEndian(b[Offsets.NumQueues..]),
            MaxDiscardSectors = BinaryPrimitives.ReadUInt32LittleEndian(b[Offsets.MaxDiscardSectors..]),
            MaxDiscardSeg = BinaryPrimitives.ReadUInt32LittleEndian(b[Offsets.MaxDiscardSeg..]),
            DiscardSectorAlignment = BinaryPrimitives.ReadUInt32LittleEndian(b[Offsets.DiscardSectorAlignment..]),
            MaxWriteZeroesSectors = BinaryPrimitives.ReadUInt32LittleEndian(b[Offsets.MaxWriteZeroesSectors..]),
            MaxWriteZeroesSeg = BinaryPrimitives.ReadUInt32LittleEndian(b[Offsets.MaxWriteZeroesSeg..]),
            WriteZeroesMayUnmap = b[Offsets.WriteZeroesMayUnmap],
        };
    }
}
