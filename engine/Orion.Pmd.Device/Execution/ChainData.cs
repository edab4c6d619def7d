using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Device.Execution;

/// <summary>
/// Gather and scatter over a popped chain, treating its readable buffers as one byte stream and its writable
/// buffers as another. The device must not assume any particular framing of header, data and status (VirtIO 1.1
/// §2.6.4.1), so every access goes through these helpers rather than assuming "descriptor 0 is the header".
/// </summary>
internal static unsafe class ChainData
{
    /// <summary>Copies readable bytes [offset, offset + destination.Length) into <paramref name="destination"/>; false if the stream is shorter.</summary>
    public static bool Gather(DescriptorChain chain, ulong offset, Span<byte> destination)
    {
        if (offset + (ulong)destination.Length > chain.ReadableBytes) return false;
        var segs = chain.Segments;
        int copied = 0;
        for (int i = 0; i < chain.ReadableCount && copied < destination.Length; i++)
        {
            var s = segs[i];
            if (offset >= s.Length) { offset -= s.Length; continue; }
            int n = (int)Math.Min(s.Length - offset, (ulong)(destination.Length - copied));
            new ReadOnlySpan<byte>((byte*)s.Host + offset, n).CopyTo(destination[copied..]);
            copied += n;
            offset = 0;
        }
        return true;
    }

    /// <summary>
    /// Visits the readable stream [offset, offset + length) segment by segment: <paramref name="visit"/> gets the byte
    /// position inside the range and a span of the driver's buffer.
    /// </summary>
    public static void ForEachReadable<TState>(DescriptorChain chain, ulong offset, ulong length, ref TState state, SpanVisitor<TState> visit)
    {
        var segs = chain.Segments;
        ulong done = 0;
        for (int i = 0; i < chain.ReadableCount && done < length; i++)
        {
            var s = segs[i];
            if (offset >= s.Length) { offset -= s.Length; continue; }
            int n = (int)Math.Min(s.Length - offset, length - done);
            visit(ref state, done, new Span<byte>((byte*)s.Host + offset, n));
            done += (ulong)n;
            offset = 0;
        }
    }

    /// <summary>Visits the first <paramref name="length"/> bytes of the writable stream segment by segment.</summary>
    public static void ForEachWritable<TState>(DescriptorChain chain, ulong length, ref TState state, SpanVisitor<TState> visit)
    {
        var segs = chain.Segments;
        ulong done = 0;
        for (int i = chain.ReadableCount; i < chain.Count && done < length; i++)
        {
            var s = segs[i];
            int n = (int)Math.Min(s.Length, length - done);
            visit(ref state, done, new Span<byte>((byte*)s.Host, n));
            done += (ulong)n;
        }
    }

    /// <summary>
    /// Whether every buffer of the chain is at most <paramref name="maxBytes"/> long: the helpers above cut a chain into
    /// spans, whose length is an int, so a longer buffer (a descriptor may say up to 4 GiB) must be refused first.
    /// </summary>
    public static bool SegmentsFit(DescriptorChain chain, uint maxBytes) => chain.LargestSegment <= maxBytes;

    /// <summary>Writes the status byte: the last byte of the writable stream. False when there is no writable byte.</summary>
    public static bool WriteStatus(DescriptorChain chain, byte status)
    {
        for (int i = chain.Count - 1; i >= chain.ReadableCount; i--)
        {
            var s = chain.Segments[i];
            if (s.Length == 0) continue;
            *((byte*)s.Host + s.Length - 1) = status;
            return true;
        }
        return false;
    }
}

/// <summary>Receives one piece of a chain's byte stream: its position inside the visited range and the bytes.</summary>
internal delegate void SpanVisitor<TState>(ref TState state, ulong position, Span<byte> bytes);
