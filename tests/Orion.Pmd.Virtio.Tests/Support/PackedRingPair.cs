using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Virtio.Tests.Support;

/// <summary>
/// A packed queue in a <see cref="GuardedRegion"/>, laid out with <see cref="PackedRingLayout.Compute"/>; see
/// <see cref="RingHarness"/> for the region layout and the shared helpers.
/// </summary>
internal sealed unsafe class PackedRingPair : RingHarness
{
    public PackedRingPair(int size, bool eventIdx = false, bool indirect = true, bool suppressInterrupts = true,
        int slots = -1, int slotBytes = 8192, int maxSegments = 1024)
        : base(PackedRingLayout.Compute(size).TotalBytes, size, slots, slotBytes, maxSegments)
    {
        Layout = PackedRingLayout.Compute(size);
        Addresses = new SplitRingAddresses(
            Region.GuestOf(RingHost + Layout.DescriptorRingOffset),
            Region.GuestOf(RingHost + Layout.DriverEventOffset),
            Region.GuestOf(RingHost + Layout.DeviceEventOffset));
        Driver = new PackedQueueDriver(RingHost, Layout, eventIdx, suppressInterrupts);
        Device = new PackedQueueDevice(Region.Table, Addresses, size, eventIdx, indirect);
        Attach(Driver, Device);
        Ring = new PackedRingBytes(Region, RingHost, Layout);
    }

    public PackedRingLayout Layout { get; }
    public SplitRingAddresses Addresses { get; }
    public new PackedQueueDriver Driver { get; }
    public new PackedQueueDevice Device { get; }

    /// <summary>Raw access to the ring's bytes, for tests that check them or play a hostile peer.</summary>
    public PackedRingBytes Ring { get; }
}
