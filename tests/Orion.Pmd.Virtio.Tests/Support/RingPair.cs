using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Virtio.Tests.Support;

/// <summary>
/// A split queue in a <see cref="GuardedRegion"/>, laid out with <see cref="SplitRingLayout.Compute"/>; see
/// <see cref="RingHarness"/> for the region layout and the shared helpers.
/// </summary>
internal sealed unsafe class RingPair : RingHarness
{
    public RingPair(int size, bool eventIdx = false, bool indirect = true, bool suppressInterrupts = true,
        ushort initialIndex = 0, int slots = -1, int slotBytes = 8192, int maxSegments = 1024)
        : base(SplitRingLayout.Compute(size).TotalBytes, size, slots, slotBytes, maxSegments)
    {
        Layout = SplitRingLayout.Compute(size);
        Addresses = new SplitRingAddresses(
            Region.GuestOf(RingHost + Layout.DescriptorTableOffset),
            Region.GuestOf(RingHost + Layout.AvailOffset),
            Region.GuestOf(RingHost + Layout.UsedOffset));
        EventIdx = eventIdx;
        Indirect = indirect;
        Driver = new SplitQueueDriver(RingHost, Layout, eventIdx, suppressInterrupts, initialIndex);
        Device = new SplitQueueDevice(Region.Table, Addresses, size, eventIdx, indirect, initialIndex);
        Attach(Driver, Device);
        HostileDevice = new HostileDevice(RingHost, Layout);
        HostileDriver = new HostileDriver(Region, RingHost, Layout);
    }

    public SplitRingLayout Layout { get; }
    public SplitRingAddresses Addresses { get; }
    public bool EventIdx { get; }
    public bool Indirect { get; }
    public new SplitQueueDriver Driver { get; }
    public new SplitQueueDevice Device { get; }
    public HostileDevice HostileDevice { get; }
    public HostileDriver HostileDriver { get; }
}
