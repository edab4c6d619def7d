using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Engine.Queues;

/// <summary>Lays out and creates the driver side of a queue in the negotiated format, and the guest addresses of its three areas.</summary>
internal sealed unsafe class RingFactory(bool packed, int size, bool eventIdx)
{
    private readonly SplitRingLayout _split = packed ? default : SplitRingLayout.Compute(size);
    private readonly PackedRingLayout _packed = packed ? PackedRingLayout.Compute(size) : default;

    /// <summary>Bytes of one queue's rings.</summary>
    public int TotalBytes => packed ? _packed.TotalBytes : _split.TotalBytes;

    /// <summary>Creates the driver ring at <paramref name="host"/> (guest <paramref name="guest"/>), interrupts off (polled).</summary>
    public (IDriverQueue Ring, SplitRingAddresses Areas) Create(byte* host, ulong guest)
    {
        if (packed)
        {
            var ring = new PackedQueueDriver(host, _packed, eventIdx, suppressInterrupts: true);
            return (ring, new SplitRingAddresses(guest + (ulong)_packed.DescriptorRingOffset, guest + (ulong)_packed.DriverEventOffset, guest + (ulong)_packed.DeviceEventOffset));
        }
        var split = new SplitQueueDriver(host, _split, eventIdx, suppressInterrupts: true);
        return (split, new SplitRingAddresses(guest + (ulong)_split.DescriptorTableOffset, guest + (ulong)_split.AvailOffset, guest + (ulong)_split.UsedOffset));
    }
}
