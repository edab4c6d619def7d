using Orion.Pmd.Engine.Integrity;
using System.Buffers.Binary;

namespace Orion.Pmd.Storage;

/// <summary>
/// One record's frame in the log's byte stream (little-endian), padded to 8 bytes so the next frame starts aligned:
/// <code>
///  0 u32 payload length   4 u32 CRC-32C of bytes 0..4 and 8..24+length
///  8 u64 LSN             16 u64 log generation   24 payload
/// </code>
/// A frame counts only when its CRC holds, its LSN is the one expected next and its generation is the log's.
/// </summary>
internal static class LogFrame
{
    public const int HeaderBytes = 24;

    public static int SizeOf(int payloadLength) => (HeaderBytes + payloadLength + 7) & ~7;

    public static void Write(Span<byte> destination, long lsn, ulong generation, ReadOnlySpan<byte> payload)
    {
        BinaryPrimitives.WriteInt32LittleEndian(destination, payload.Length);
        BinaryPrimitives.WriteInt64LittleEndian(destination[8..], lsn);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], generation);
        payload.CopyTo(destination[HeaderBytes..]);
        int size = SizeOf(payload.Length);
        destination[(HeaderBytes + payload.Length)..size].Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Checksum(destination, payload.Length));
    }

    /// <summary>
    /// The frame at the start of <paramref name="source"/> when it is complete and valid: returns its total size and
    /// payload; 0 when it is not (torn, from another generation, not the expected LSN, or cut off by the end of
    /// <paramref name="source"/>).
    /// </summary>
    public static int TryRead(ReadOnlySpan<byte> source, long expectedLsn, ulong generation, int maxPayload, out ReadOnlySpan<byte> payload)
    {
        payload = default;
        if (source.Length < HeaderBytes) return 0;
        int length = BinaryPrimitives.ReadInt32LittleEndian(source);
        if (length < 0 || length > maxPayload || SizeOf(length) > source.Length) return 0;
        if (BinaryPrimitives.ReadInt64LittleEndian(source[8..]) != expectedLsn) return 0;
        if (BinaryPrimitives.ReadUInt64LittleEndian(source[16..]) != generation) return 0;
        if (BinaryPrimitives.ReadUInt32LittleEndian(source[4..]) != Checksum(source, length)) return 0;
        payload = source.Slice(HeaderBytes, length);
        return SizeOf(length);
    }

    private static uint Checksum(ReadOnlySpan<byte> frame, int length)
        => Crc32C.Append(Crc32C.Compute(frame[..4]), frame[8..(HeaderBytes + length)]);
}
