using Orion.Pmd.Engine.Integrity;
using System.Buffers.Binary;

namespace Orion.Pmd.Storage;

/// <summary>
/// One version of one page as it lies on the storage (<see cref="Bytes"/> bytes, little-endian):
/// <code>
///  0 u32 magic   4 u32 CRC-32C of bytes 0..4 and 8..4096
///  8 u64 page number   16 u64 version   24 u64 store generation   32 payload (4064 bytes)
/// </code>
/// A slot counts only when its magic and CRC hold and it names this page and this store's generation.
/// </summary>
internal static class PageSlot
{
    public const int Bytes = 4096;
    public const int HeaderBytes = 32;
    public const int PayloadBytes = Bytes - HeaderBytes;
    private const uint Magic = 0x5047_4F52;                       // "ROGP"

    public enum State { Valid, Empty, Invalid }

    public static void Write(Span<byte> slot, long page, long version, ulong generation, ReadOnlySpan<byte> payload)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(slot, Magic);
        BinaryPrimitives.WriteInt64LittleEndian(slot[8..], page);
        BinaryPrimitives.WriteInt64LittleEndian(slot[16..], version);
        BinaryPrimitives.WriteUInt64LittleEndian(slot[24..], generation);
        payload.CopyTo(slot[HeaderBytes..]);
        slot[(HeaderBytes + payload.Length)..Bytes].Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(slot[4..], Checksum(slot));
    }

    public static State Check(ReadOnlySpan<byte> slot, long page, ulong generation, out long version)
    {
        version = 0;
        if (BinaryPrimitives.ReadUInt32LittleEndian(slot) != Magic || BinaryPrimitives.ReadUInt32LittleEndian(slot[4..]) != Checksum(slot)
            || BinaryPrimitives.ReadInt64LittleEndian(slot[8..]) != page || BinaryPrimitives.ReadUInt64LittleEndian(slot[24..]) != generation)
            return slot[..Bytes].IndexOfAnyExcept((byte)0) < 0 ? State.Empty : State.Invalid;
        version = BinaryPrimitives.ReadInt64LittleEndian(slot[16..]);
        return version > 0 ? State.Valid : State.Invalid;
    }

    public static ReadOnlySpan<byte> Payload(ReadOnlySpan<byte> slot) => slot.Slice(HeaderBytes, PayloadBytes);

    private static uint Checksum(ReadOnlySpan<byte> slot) => Crc32C.Append(Crc32C.Compute(slot[..4]), slot[8..Bytes]);
}
