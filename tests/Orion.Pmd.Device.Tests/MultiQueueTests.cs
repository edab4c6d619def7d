using Orion.Pmd.Device.Backends;
using Orion.Pmd.Device.Tests.Support;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Device.Tests;

/// <summary>Several request queues (VIRTIO_BLK_F_MQ) over one backend.</summary>
public class MultiQueueTests
{
    [Test]
    public void TwoQueues_BothServe_AndAreCountedSeparately()
    {
        using var d = MiniDriver.Start(new MemoryBackend(1 << 20), new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Manual, NumQueues = 2 });
        var data0 = Payload.Pattern(4096, seed: 1);
        var data1 = Payload.Pattern(4096, seed: 2);
        var pending = new List<Pending>
        {
            d.Add(0, new BlkRequestHeader(BlkRequestType.Out, 0), data0),
            d.Add(1, new BlkRequestHeader(BlkRequestType.Out, 8), data1),
            d.Add(1, new BlkRequestHeader(BlkRequestType.Flush, 0)),
        };
        d.Publish(0);
        d.Publish(1);
        var writes = d.WaitAll(pending);

        // each queue reads what the other wrote: one backend behind both
        var read0 = d.Read(8, 4096, queue: 0);
        var read1 = d.Read(0, 4096, queue: 1);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(writes.Select(w => w.BlkStatus), Is.All.EqualTo(BlkStatus.Ok));
            Assert.That(read0.Data, Is.EqualTo(data1));
            Assert.That(read1.Data, Is.EqualTo(data0));
            Assert.That(d.Device.GetQueueStats(0).Requests, Is.EqualTo(2));
            Assert.That(d.Device.GetQueueStats(1).Requests, Is.EqualTo(3));
            Assert.That(d.Device.GetQueueStats(2), Is.EqualTo(default(DeviceQueueStats)), "no such queue");
            Assert.That(d.Device.NumQueues, Is.EqualTo(2));
            Assert.That(d.Device.Settings.NumQueues, Is.EqualTo((ushort)2));
        }
    }

    [Test]
    public void OnlyTheQueuesSetUpAreServed()
    {
        using var d = new MiniDriver(new SoftBlkDevice(new MemoryBackend(1 << 20), new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Manual, NumQueues = 2 }));
        Assert.That(d.Negotiate(), Is.True);
        d.RegisterMemory();
        d.CreateRings();
        d.SetupQueues(1);
        d.DriverOk();
        var on0 = d.Submit(0, new BlkRequestHeader(BlkRequestType.In, 0), inLength: 512);
        var on1 = d.Submit(1, new BlkRequestHeader(BlkRequestType.In, 0), inLength: 512);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(d.Wait(on1).BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(d.TryWait(on0, TimeSpan.Zero), Is.False, "queue 0 was never set up");
            Assert.That(d.Host(on0.StatusGuest, 1)[0], Is.EqualTo(Payload.UntouchedStatus));
        }

        // Doorbells go to the queue they name, not to whichever queue happens to sit at that position.
        d.Device.Notify(1);
        d.Device.Notify(0);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(d.Device.GetQueueStats(1).KicksReceived, Is.EqualTo(1));
            Assert.That(d.Device.GetQueueStats(0), Is.EqualTo(default(DeviceQueueStats)));
        }
    }

    [Test]
    public void KickDriven_NotifyRingsTheDoorbellOfTheQueueItNames()
    {
        using var d = new MiniDriver(new SoftBlkDevice(new MemoryBackend(1 << 20), new SoftBlkDeviceOptions { Mode = DeviceServiceMode.KickDriven, NumQueues = 2 }),
            new MiniDriverOptions { KickEventFds = true });
        Assert.That(d.Negotiate(), Is.True);
        d.RegisterMemory();
        d.CreateRings();
        d.SetupQueues(1);                                  // queue 1 only: it is the device's first and only running queue
        d.DriverOk();
        Assert.That(MiniDriver.Eventually(() => d.Device.GetQueueStats(1).Sleeps > 0), Is.True, "the device went to sleep");
        var p = d.Add(1, new BlkRequestHeader(BlkRequestType.In, 0), inLength: 512);
        d.Publish(1, kick: false);
        d.Device.Notify(1);                                // the transport's doorbell, not the eventfd directly
        using (Assert.EnterMultipleScope())
        {
            Assert.That(d.Wait(p).BlkStatus, Is.EqualTo(BlkStatus.Ok));
            // Without the kick the device still wakes at its 100 ms nap timeout, but then it counts no kick.
            Assert.That(MiniDriver.Eventually(() => d.Device.GetQueueStats(1).KicksReceived >= 1), Is.True, "the kick reached queue 1");
        }
    }

    [TestCase(DeviceServiceMode.Polled, 1)]
    [TestCase(DeviceServiceMode.Polled, 2)]
    [TestCase(DeviceServiceMode.KickDriven, 1)]
    public void TwoQueues_OnDeviceThreads(DeviceServiceMode mode, int threads)
    {
        using var d = MiniDriver.Start(new MemoryBackend(1 << 20),
            new SoftBlkDeviceOptions { Mode = mode, NumQueues = 2, Threads = threads, YieldWhenIdle = true },
            new MiniDriverOptions { KickEventFds = mode == DeviceServiceMode.KickDriven });
        var pending = new List<Pending>();
        for (int i = 0; i < 8; i++)
            pending.Add(d.Submit(i % 2, new BlkRequestHeader(BlkRequestType.Out, (ulong)i * 8), Payload.Pattern(4096, seed: i)));
        var done = d.WaitAll(pending);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(done.Select(c => c.BlkStatus), Is.All.EqualTo(BlkStatus.Ok));
            Assert.That(d.Device.GetQueueStats(0).Requests, Is.EqualTo(4));
            Assert.That(d.Device.GetQueueStats(1).Requests, Is.EqualTo(4));
            for (int i = 0; i < 8; i++)
                Assert.That(((MemoryBackend)d.Device.Backend).Peek(i * 4096, 4096).ToArray(), Is.EqualTo(Payload.Pattern(4096, seed: i)));
        }
    }
}
