using System.Runtime.InteropServices;

namespace Orion.Pmd.Virtio.Rings;

/// <summary>
/// Writes indirect descriptor tables in either ring format. The two formats differ inside the 16 bytes: split entries
/// are linked with <c>NEXT</c>/<c>next</c> and keep their flags at byte 12; packed entries are read in order, keep
/// their flags at byte 14 and carry only <c>WRITE</c> (VirtIO 1.1 §2.6.5.3, §2.7.7). A table written in the wrong
/// format is read as garbage by the device, so callers go through <see cref="IDriverQueue.WriteIndirectTable"/>.
/// </summary>
public static class IndirectTable
{
    /// <summary>Most entries one table may hold: what a split table's 16-bit <c>next</c> and a 16-bit length budget allow.</summary>
    public const int MaxEntries = 65535 / VirtqDescriptor.Size;

    /// <summary>Writes <paramref name="segments"/> as a split-format table, linked in order. Returns the device-writable bytes.</summary>
    public static uint WriteSplit(Span<byte> table, ReadOnlySpan<BufferSegment> segments)
    {
        var entries = Entries<VirtqDescriptor>(table, segments.Length);
        uint writable = 0;
        for (int i = 0; i < segments.Length; i++)
        {
            var s = segments[i];
            bool last = i == segments.Length - 1;
            var flags = (s.DeviceWritable ? VirtqDescriptorFlags.Write : 0) | (last ? 0 : VirtqDescriptorFlags.Next);
            entries[i] = new VirtqDescriptor(s.GuestAddress, s.Length, flags, last ? (ushort)0 : (ushort)(i + 1));
            if (s.DeviceWritable) writable += s.Length;
        }
        return writable;
    }

    /// <summary>Writes <paramref name="segments"/> as a packed-format table. Returns the device-writable bytes.</summary>
    public static uint WritePacked(Span<byte> table, ReadOnlySpan<BufferSegment> segments)
    {
        var entries = Entries<PackedDescriptor>(table, segments.Length);
        uint writable = 0;
        for (int i = 0; i < segments.Length; i++)
        {
            var s = segments[i];
            entries[i] = new PackedDescriptor(s.GuestAddress, s.Length, 0, s.DeviceWritable ? PackedDescriptorFlags.Write : 0);
            if (s.DeviceWritable) writable += s.Length;
        }
        return writable;
    }

    private static Span<T> Entries<T>(Span<byte> table, int count) where T : struct
    {
        if ((uint)count - 1 >= MaxEntries)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"an indirect table holds 1 to {MaxEntries} descriptors");
        if (table.Length < count * 16)
            throw new ArgumentException($"an indirect table of {count} descriptors needs {count * 16} bytes, got {table.Length}", nameof(table));
        // Unaligned tables are legal (the spec sets no alignment); MemoryMarshal.Cast tolerates them on x64 and arm64.
        return MemoryMarshal.Cast<byte, T>(table[..(count * 16)]);
    }
}
