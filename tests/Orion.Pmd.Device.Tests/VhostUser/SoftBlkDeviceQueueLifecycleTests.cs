using Orion.Pmd.Device.Backends;
using Orion.Pmd.Device.Tests.Support;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;
using Orion.Pmd.Virtio.Memory;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Device.Tests.VhostUser;

/// <summary>
/// The device's per-queue life cycle (what a vhost-user back-end needs): queues start one by one without DRIVER_OK,
/// at a given position, each on its own thread, and stop one by one, reporting where they stopped.
/// </summary>
[NonParallelizable]
public class SoftBlkDeviceQueueLifecycleTests
{
    private static unsafe MiniDriver Prepare(ushort startIndex = 0)
    {
        var device = new SoftBlkDevice(new MemoryBackend(4 << 20), new SoftBlkDeviceOptions { Mode = DeviceServiceMode.KickDriven, NumQueues = 2 });
        var driver = new MiniDriver(device, new MiniDriverOptions { KickEventFds = true, CallEventFds = true });
        // vhost-user has no status handshake (and the mini driver, told no features, builds direct chains): features are written, the memory table set, and queues started.
        device.SetDriverFeatures(device.OfferedFeatures & ~VirtioFeatures.RingPacked);
        driver.RegisterMemory();
        for (int q = 0; q < 2; q++)
            driver.Queues[q] = new SplitQueueDriver(driver.Memory.Pointer + driver.RingOffset(q), driver.Layout,
                device.DriverFeatures.HasFlag(VirtioFeatures.RingEventIdx), suppressInterrupts: true, initialIndex: startIndex);
        return driver;
    }

    private static void Start(MiniDriver d, int q, ushort at = 0) =>
        d.Device.StartQueue(q, d.Options.QueueSize, d.RingAddresses(q), d.KickFds[q], d.CallFds[q], QueuePosition.Split(at));

    [Test]
    public void QueuesStartWithoutDriverOkAtAGivenIndexAndStopWhereTheyAre()
    {
        using var d = Prepare(startIndex: 65530);
        Start(d, 0, 65530);
        Assert.That(d.Device.Status, Is.EqualTo(DeviceStatus.Reset), "no DRIVER_OK in vhost-user");
        Assert.That(d.Device.IsQueueStarted(0), Is.True);
        Assert.That(d.Device.IsQueueStarted(1), Is.False);
        var data = Payload.Pattern(4096, 3);
        for (int i = 0; i < 10; i++)                         // crosses the 16-bit wrap of the indices
            Assert.That(d.Write((ulong)i * 8, data).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        var stopped = d.Device.StopQueue(0);
        Assert.That(stopped, Is.EqualTo(QueuePosition.Split(unchecked((ushort)(65530 + 10)))));
        Assert.That(d.Device.IsQueueStarted(0), Is.False);
        Assert.That(d.Device.StopQueue(0), Is.Null, "stopping a stopped queue says so");

        Start(d, 0, stopped!.Value.AvailIndex);              // re-armed where it stopped, same ring
        Assert.That(d.Read(8, 4096).Data, Is.EqualTo(data));
    }

    [Test]
    public void EachStartedQueueHasItsOwnThread()
    {
        using var d = Prepare();
        Start(d, 0);
        Start(d, 1);
        var threads = Enumerable.Range(0, 2).Select(q =>
        {
            var p = d.Submit(q, new BlkRequestHeader(BlkRequestType.In, 0), inLength: 512);
            d.Wait(p);
            return q;
        }).ToArray();
        Assert.That(threads, Has.Length.EqualTo(2));
        Assert.That(d.Device.GetQueueStats(0).Requests, Is.EqualTo(1));
        Assert.That(d.Device.GetQueueStats(1).Requests, Is.EqualTo(1));
        d.Device.StopQueue(0);
        Assert.That(d.Read(0, 512, queue: 1).BlkStatus, Is.EqualTo(BlkStatus.Ok), "queue 1 runs on while queue 0 is stopped");
    }

    [Test]
    public void MisuseIsRefused()
    {
        using var d = Prepare();
        Start(d, 0);
        Assert.Throws<InvalidOperationException>(() => Start(d, 0), "already started");
        Assert.Throws<InvalidOperationException>(() => d.Device.SetMemoryTable([new MemoryRegion(0x1000, 4096, 0, d.Memory.Fd)]),
            "the memory table cannot change under a started queue");
        Assert.Throws<ArgumentOutOfRangeException>(() => d.Device.StartQueue(2, 64, d.RingAddresses(0), null, null));
        Assert.Throws<ArgumentOutOfRangeException>(() => d.Device.StartQueue(1, 100, d.RingAddresses(1), null, null, mode: DeviceServiceMode.Polled));
        Assert.Throws<ArgumentException>(() => d.Device.StartQueue(1, 64, new SplitRingAddresses(1, 2, 4), null, null, mode: DeviceServiceMode.Polled));
        Assert.Throws<ArgumentException>(() => d.Device.StartQueue(1, 64, d.RingAddresses(1), null, null), "a kick-driven queue needs a kick fd");
        Assert.That(d.Device.IsQueueStarted(1), Is.False, "nothing half-started");
    }

    [Test]
    public void DriverOkDevicesCannotAlsoStartQueuesOneByOne()
    {
        using var d = MiniDriver.Start(new MemoryBackend(1 << 20));
        Assert.Throws<InvalidOperationException>(() => d.Device.StartQueue(0, 64, d.RingAddresses(0), null, null));
    }

    [Test]
    public unsafe void PackedRingsStartAtAGivenPositionAndRefuseImpossibleOnes()
    {
        using var memory = Linux.SharedMemory.Create("orion-packed-pos", 1 << 16);
        var table = new MemoryRegionTable();
        table.Add(new MemoryRegion(0x10000, (ulong)memory.Length, (nint)memory.Pointer));
        var layout = PackedRingLayout.Compute(8);
        var areas = new SplitRingAddresses(0x10000, 0x10000 + (ulong)layout.DriverEventOffset, 0x10000 + (ulong)layout.DeviceEventOffset);
        var ring = new PackedQueueDevice(table, areas, 8, false, false, availPosition: 5, availWrap: false, usedPosition: 3, usedWrap: false);
        Assert.That((ring.NextAvailPosition, ring.AvailWrapCounter, ring.UsedPosition, ring.UsedWrapCounter), Is.EqualTo(((ushort)5, false, (ushort)3, false)));
        Assert.Throws<ArgumentException>(() => _ = new PackedQueueDevice(table, areas, 8, false, false, availPosition: 8));
        Assert.Throws<ArgumentException>(() => _ = new PackedQueueDevice(table, areas, 8, false, false, availPosition: 2, usedPosition: 3),
            "avail behind used on the same lap");
        Assert.DoesNotThrow(() => _ = new PackedQueueDevice(table, areas, 8, false, false, availPosition: 2, availWrap: false, usedPosition: 3, usedWrap: true),
            "avail on the next lap, 7 descriptors owned");
    }
}
