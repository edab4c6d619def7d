using System.Runtime.CompilerServices;
using Orion.Pmd.Device.Backends;
using Orion.Pmd.Device.Faults;
using Orion.Pmd.Linux;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;
using Orion.Pmd.Virtio.Memory;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Device.Tests.Faults;

/// <summary>Garbage in a packed used ring makes the packed driver latch the named error (the mini driver is split-only).</summary>
public unsafe class PackedGarbageTests
{
    private const ulong GuestBase = 0x40_0000_0000;
    private const int QueueSize = 16;

    private sealed class PackedHarness : IDisposable
    {
        public readonly SoftBlkDevice Device;
        public readonly SharedMemory Memory;
        public readonly PackedQueueDriver Ring;
        private long _cursor = 64 << 10;

        public PackedHarness(string plan)
        {
            Device = new SoftBlkDevice(new MemoryBackend(1 << 20), new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Manual, Faults = FaultPlan.Parse(plan) });
            Memory = SharedMemory.Create($"orion-faulttest-{Guid.NewGuid():N}", 1 << 20);
            const DeviceStatus basic = DeviceStatus.Acknowledge | DeviceStatus.Driver;
            Device.SetStatus(basic);
            Device.SetDriverFeatures(VirtioFeatures.Version1 | VirtioFeatures.RingPacked);
            Device.SetStatus(basic | DeviceStatus.FeaturesOk);
            Device.SetMemoryTable([new MemoryRegion(GuestBase, (ulong)Memory.Length, (nint)Memory.Pointer, Memory.Fd)]);
            var layout = PackedRingLayout.Compute(QueueSize);
            Ring = new PackedQueueDriver(Memory.Pointer, layout, eventIdx: false, suppressInterrupts: true);
            Device.SetupQueue(0, QueueSize, new SplitRingAddresses(GuestBase + (ulong)layout.DescriptorRingOffset,
                GuestBase + (ulong)layout.DriverEventOffset, GuestBase + (ulong)layout.DeviceEventOffset));
            Device.SetStatus(basic | DeviceStatus.FeaturesOk | DeviceStatus.DriverOk);
        }

        /// <summary>Adds and publishes a 512-byte read of sector <paramref name="sector"/>; returns its id.</summary>
        public int Read(ulong sector)
        {
            ulong header = Alloc(BlkRequestHeader.Size);
            Unsafe.WriteUnaligned(Memory.Pointer + (long)(header - GuestBase), new BlkRequestHeader(BlkRequestType.In, sector));
            ulong data = Alloc(513);
            int id = Ring.AddChain([new BufferSegment(header, BlkRequestHeader.Size, false), new BufferSegment(data, 512, true), new BufferSegment(data + 512, 1, true)]);
            Ring.PublishAndCheckKick();
            return id;
        }

        private ulong Alloc(int bytes)
        {
            ulong at = GuestBase + (ulong)_cursor;
            _cursor += (bytes + 63) & ~63;
            return at;
        }

        /// <summary>Serves and reaps until the driver's ring breaks or nothing more comes; returns the ids reaped.</summary>
        public List<int> Drain()
        {
            var ids = new List<int>();
            for (int i = 0; i < 10 && !Ring.IsBroken; i++)
            {
                Device.Poll();
                while (Ring.TryPopUsed(out ushort id, out _)) ids.Add(id);
            }
            return ids;
        }

        public void Dispose()
        {
            Device.Dispose();
            Memory.Dispose();
        }
    }

    [TestCase("id-range", VirtqueueError.UsedIdOutOfRange)]
    [TestCase("id-unused", VirtqueueError.UsedIdNotHead)]
    [TestCase("id-duplicate", VirtqueueError.UsedIdNotHead)]
    [TestCase("length", VirtqueueError.UsedLengthTooLarge)]
    [TestCase("wrap", VirtqueueError.WrapCounterInvalid)]
    public void GarbageLatchesThePackedDriverBroken(string kind, VirtqueueError expected)
    {
        using var h = new PackedHarness($"garbage={kind}:at=2");
        int first = h.Read(0);
        h.Read(1);
        var reaped = h.Drain();
        Assert.That(reaped, Is.EqualTo(new[] { first }), "the first request completes, the second's used descriptor is garbage");
        Assert.That(h.Ring.Error, Is.EqualTo(expected), h.Ring.ErrorMessage);
        var c = h.Device.GetFaultCounters(0);
        Assert.That(c.Garbage, Is.EqualTo(1));
        Assert.That(c.Total, Is.EqualTo(1));
    }

    [Test]
    public void DropOnAPackedRingKeepsTheRingConsistentForLaterRequests()
    {
        using var h = new PackedHarness("drop:every=3");
        var reaped = new List<int>();
        var dropped = new List<int>();
        for (int i = 1; i <= 40; i++)
        {
            int id = h.Read((ulong)i % 64);
            if (i % 3 == 0) dropped.Add(id);
            var got = h.Drain();
            Assert.That(got, Is.EqualTo(i % 3 == 0 ? Array.Empty<int>() : new[] { id }));
            reaped.AddRange(got);
            Assert.That(h.Ring.IsBroken, Is.False, h.Ring.ErrorMessage);
            if (h.Ring.FreeDescriptors < 3) break;      // dropped requests hold their descriptors for good
        }
        Assert.That(dropped, Is.Unique, "a dropped id stays in flight: the driver never hands it out again");
        Assert.That(h.Device.GetFaultCounters(0).Drops, Is.EqualTo(dropped.Count));
        Assert.That(reaped.Count + dropped.Count, Is.EqualTo(h.Device.GetFaultCounters(0).Requests));
    }
}
