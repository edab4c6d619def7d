namespace Orion.Pmd.Virtio.Rings;

/// <summary>One buffer of a popped chain as the device sees it: translated to its own mapping.</summary>
/// <param name="Host">Pointer into the device's mapping of the region.</param>
/// <param name="Length">Bytes.</param>
/// <param name="DeviceWritable">Whether the device writes this buffer.</param>
public readonly record struct ChainSegment(nint Host, uint Length, bool DeviceWritable);

/// <summary>
/// A descriptor chain popped by the device side, already validated and translated. Reused from request to
/// request (no allocation on the device's hot path): <see cref="IDeviceQueue.TryPopAvail"/> fills it.
/// </summary>
public sealed class DescriptorChain
{
    private readonly ChainSegment[] _segments;

    /// <summary>Creates a chain that holds at most <paramref name="maxSegments"/> buffers.</summary>
    public DescriptorChain(int maxSegments = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSegments, 1);
        _segments = new ChainSegment[maxSegments];
    }

    /// <summary>The id to complete the chain with: split, the head descriptor index; packed, the buffer id.</summary>
    public ushort Head { get; internal set; }

    /// <summary>Number of buffers.</summary>
    public int Count { get; private set; }

    /// <summary>Most buffers this chain object can hold.</summary>
    public int Capacity => _segments.Length;

    /// <summary>Sum of device-readable lengths.</summary>
    public ulong ReadableBytes { get; private set; }

    /// <summary>Sum of device-writable lengths.</summary>
    public ulong WritableBytes { get; private set; }

    /// <summary>Number of device-readable buffers (they come first).</summary>
    public int ReadableCount { get; private set; }

    /// <summary>The longest buffer's length (a device checks it against its <c>size_max</c> without another walk).</summary>
    public uint LargestSegment { get; private set; }

    /// <summary>The buffers, readable ones first.</summary>
    public ReadOnlySpan<ChainSegment> Segments => _segments.AsSpan(0, Count);

    internal void Reset(ushort head)
    {
        Head = head;
        Count = 0;
        ReadableCount = 0;
        ReadableBytes = 0;
        WritableBytes = 0;
        LargestSegment = 0;
    }

    internal bool TryAdd(ChainSegment segment)
    {
        if (Count == _segments.Length) return false;
        _segments[Count++] = segment;
        if (segment.Length > LargestSegment) LargestSegment = segment.Length;
        if (segment.DeviceWritable) WritableBytes += segment.Length;
        else
        {
            ReadableBytes += segment.Length;
            ReadableCount++;
        }
        return true;
    }
}
