using System.Runtime.InteropServices;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Device.Tests.Support;

/// <summary>How a request's buffers are cut into descriptors. The bytes themselves are always contiguous.</summary>
[Flags]
public enum Framing
{
    /// <summary>Header in one descriptor, each data buffer in one, status byte alone in the last.</summary>
    Plain = 0,
    /// <summary>The 16-byte header over two readable descriptors (7 + 9 bytes).</summary>
    SplitHeader = 1,
    /// <summary>The status byte shares the last writable descriptor with the data before it.</summary>
    StatusWithData = 2,
}

/// <summary>A request accepted by <see cref="MiniDriver.Add"/>; completed in place by the driver's reaping.</summary>
internal sealed class Pending
{
    public required int Queue { get; init; }
    public required int Id { get; init; }
    /// <summary>Guest address of the device-writable data (the status byte follows it directly).</summary>
    public required ulong InGuest { get; init; }
    public required int InLength { get; init; }
    public ulong StatusGuest => InGuest + (ulong)InLength;
    public Completion? Result { get; set; }
    public bool IsComplete => Result is not null;
    /// <summary>Where its used element stood among every completion the driver reaped (1 = first), 0 until reaped.</summary>
    public long ReapedAs { get; set; }
}

/// <summary>What the device returned for one request.</summary>
/// <param name="Status">The status byte as the device wrote it (0xFF when untouched: the driver pre-fills it).</param>
/// <param name="UsedLength">The used-ring length.</param>
/// <param name="Data">A copy of the device-writable data buffer (before the status byte).</param>
internal sealed record Completion(byte Status, uint UsedLength, byte[] Data)
{
    public BlkStatus BlkStatus => (BlkStatus)Status;
}

/// <summary>Builders for request payloads.</summary>
internal static class Payload
{
    /// <summary>The byte the driver pre-fills status bytes with, so "the device never wrote it" is visible.</summary>
    public const byte UntouchedStatus = 0xFF;

    /// <summary>DISCARD / WRITE_ZEROES payload.</summary>
    public static byte[] Ranges(params BlkDiscardWriteZeroes[] ranges) => MemoryMarshal.AsBytes(ranges.AsSpan()).ToArray();

    /// <summary><paramref name="length"/> pseudo-random bytes, the same for the same <paramref name="seed"/>.</summary>
    public static byte[] RandomBytes(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    /// <summary><paramref name="length"/> bytes of a pattern that differs at every position and with <paramref name="seed"/>.</summary>
    public static byte[] Pattern(int length, int seed = 1)
    {
        var bytes = new byte[length];
        for (int i = 0; i < length; i++) bytes[i] = (byte)((i * 31 + seed * 7 + (i >> 8)) | 1);
        return bytes;
    }
}
