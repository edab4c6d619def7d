using Orion.Pmd.Device.Backends;
using Orion.Pmd.Device.Tests.Support;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Device.Tests;

/// <summary>
/// Manual, kick-driven and polled service; kick and interrupt suppression; batching. Thread modes yield when idle and
/// every wait is bounded (the machine has two cores).
/// </summary>
public class ServiceModeTests
{
    private static VirtioFeatures Accept(bool eventIdx) => eventIdx ? (VirtioFeatures)ulong.MaxValue : ~VirtioFeatures.RingEventIdx;

    private static BlkRequestHeader ReadHeader(ulong sector = 0) => new(BlkRequestType.In, sector);

    [TestCase(true)]
    [TestCase(false)]
    public void Manual_ServesOnlyWhenPolled_AndNeedsNoKick(bool eventIdx)
    {
        using var d = MiniDriver.Start(new MemoryBackend(1 << 20), options: new MiniDriverOptions { Accept = Accept(eventIdx) });
        Assert.That(d.Negotiated.HasFlag(VirtioFeatures.RingEventIdx), Is.EqualTo(eventIdx));
        var p = d.Add(0, ReadHeader(), inLength: 512);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(d.Publish(0), Is.False, "a polled device suppresses kicks");
            Assert.That(d.Queues[0]!.HasPendingUsed, Is.False, "nothing happens until Poll");
            Assert.That(d.Host(p.StatusGuest, 1)[0], Is.EqualTo(Payload.UntouchedStatus));
            Assert.That(d.Device.Poll(), Is.EqualTo(1));
            Assert.That(d.Device.Poll(), Is.Zero, "nothing left");
            Assert.That(d.Wait(p).BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(d.Device.DeviceThreadAllocatedBytes, Is.Zero, "no device threads in manual mode");
        }
    }

    [Test]
    public void Manual_NotifyWithoutAKickFd_IsCounted()
    {
        using var d = MiniDriver.Start(new MemoryBackend(1 << 20));
        d.Device.Notify(0);
        d.Device.Notify(7);                                 // no such queue: ignored
        Assert.That(d.Device.GetQueueStats(0).KicksReceived, Is.EqualTo(1));
    }

    [TestCase(true)]
    [TestCase(false)]
    public void KickDriven_TheDeviceSleeps_AndTheDriverMustKick(bool eventIdx)
    {
        using var d = MiniDriver.Start(new MemoryBackend(1 << 20),
            new SoftBlkDeviceOptions { Mode = DeviceServiceMode.KickDriven },
            new MiniDriverOptions { Accept = Accept(eventIdx), KickEventFds = true });

        int requests = 0;
        for (int round = 0; round < 2; round++)
        {
            bool kicked = false;
            for (int attempt = 0; attempt < 5 && !kicked; attempt++)
            {
                // Publish right after the device went to sleep: it sleeps up to 100 ms per wait, so the window is wide.
                // (It wakes every 100 ms to re-arm; a publish landing in that instant finds kicks off: try again.)
                long sleeps = d.Device.GetQueueStats(0).Sleeps;
                Assert.That(MiniDriver.Eventually(() => d.Device.GetQueueStats(0).Sleeps > sleeps), Is.True, "the device went to sleep");
                var p = d.Add(0, ReadHeader(), inLength: 512);
                requests++;
                kicked = d.Publish(0, kick: false);
                if (kicked && round == 0) d.KickFds[0]!.Signal();   // the doorbell handed over at SetupQueue
                else if (kicked) d.Device.Notify(0);                // the transport's notify rings the same doorbell
                Assert.That(d.Wait(p).BlkStatus, Is.EqualTo(BlkStatus.Ok));
            }
            Assert.That(kicked, Is.True, "a sleeping device asks for a kick");
        }
        using (Assert.EnterMultipleScope())
        {
            Assert.That(MiniDriver.Eventually(() => d.Device.GetQueueStats(0).KicksReceived >= 2), Is.True, "both kicks counted");
            Assert.That(d.Device.GetQueueStats(0).Sleeps, Is.GreaterThanOrEqualTo(2));
            Assert.That(d.Device.GetQueueStats(0).Requests, Is.EqualTo(requests));
        }
    }

    [Test]
    public void Polled_WithoutEventIdx_SetsNoNotify_AndCompletesWithoutAKick()
    {
        using var d = MiniDriver.Start(new MemoryBackend(1 << 20),
            new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Polled, YieldWhenIdle = true },
            new MiniDriverOptions { Accept = Accept(eventIdx: false) });
        // The first request proves the device thread is running (it suppresses kicks before its first pass). It may
        // have been kicked: published before the thread started, it found kicks still enabled.
        Assert.That(d.Read(0, 512).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        long kicksBefore = d.Device.GetQueueStats(0).KicksReceived;
        Assert.That(UsedFlags(d) & SplitRingLayout.UsedFlagNoNotify, Is.EqualTo(SplitRingLayout.UsedFlagNoNotify));

        for (int i = 0; i < 8; i++)
        {
            var p = d.Add(0, ReadHeader((ulong)i), inLength: 512);
            Assert.That(d.Publish(0, kick: false), Is.False, "a polling device does not want kicks");
            Assert.That(d.Wait(p).BlkStatus, Is.EqualTo(BlkStatus.Ok), "and needs none");
        }
        using (Assert.EnterMultipleScope())
        {
            Assert.That(d.Device.GetQueueStats(0).KicksReceived, Is.EqualTo(kicksBefore), "no kick after the first");
            Assert.That(d.Device.GetQueueStats(0).Requests, Is.EqualTo(9));
        }
    }

    [Test]
    public void Polled_WithEventIdx_KeepsAvailEventBehind_AndCompletesWithoutAKick()
    {
        using var d = MiniDriver.Start(new MemoryBackend(1 << 20),
            new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Polled, YieldWhenIdle = true },
            new MiniDriverOptions { Accept = Accept(eventIdx: true) });
        Assert.That(d.Read(0, 512).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        long kicksBefore = d.Device.GetQueueStats(0).KicksReceived;
        var ring = d.Queues[0]!;

        for (int i = 0; i < 8; i++)
        {
            ushort old = ring.PublishedAvailIndex;
            ushort before = AvailEvent(d);
            Assert.That(RingIndex.NeedEvent(before, (ushort)(old + 1), old), Is.False,
                $"avail_event {before} asks for no kick when idx moves {old} -> {old + 1}");
            var p = d.Add(0, ReadHeader((ulong)i), inLength: 512);
            if (d.Publish(0, kick: false))
            {
                // The one way a polling device can look as if it wanted a kick: it popped the new entry (moving
                // avail_event up to it) between the driver's index store and its avail_event load. Spurious, never needed.
                Assert.That(AvailEvent(d), Is.EqualTo(old), "a kick was asked for only because the device had already taken the entry");
            }
            Assert.That(d.Wait(p).BlkStatus, Is.EqualTo(BlkStatus.Ok), "completed without a kick");
        }
        using (Assert.EnterMultipleScope())
        {
            Assert.That(d.Device.GetQueueStats(0).KicksReceived, Is.EqualTo(kicksBefore), "no kick after the first");
            Assert.That(d.Device.GetQueueStats(0).Requests, Is.EqualTo(9));
        }
    }

    private static unsafe ushort RingField(MiniDriver d, int offset) => Volatile.Read(ref *(ushort*)(d.Memory.Pointer + d.RingOffset(0) + offset));

    private static ushort UsedFlags(MiniDriver d) => RingField(d, d.Layout.UsedOffset + SplitRingLayout.UsedFlags);

    private static ushort AvailEvent(MiniDriver d) => RingField(d, d.Layout.UsedOffset + SplitRingLayout.AvailEventOffset(d.Layout.QueueSize));

    [Test]
    public void Manual_ManyRequestsPublishedAtOnce_ShareUsedIndexPublicationsInSlices()
    {
        using var d = MiniDriver.Start(new MemoryBackend(1 << 20), options: new MiniDriverOptions { QueueSize = 64 });
        var pending = Enumerable.Range(0, 32).Select(i => d.Add(0, ReadHeader((ulong)i), inLength: 512)).ToList();
        d.Publish(0);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(d.Device.Poll(), Is.EqualTo(32));
            Assert.That(d.WaitAll(pending).Select(c => c.BlkStatus), Is.All.EqualTo(BlkStatus.Ok));
            Assert.That(d.Device.GetQueueStats(0).Requests, Is.EqualTo(32));
            // One used-index store per slice of completions, not one per request.
            Assert.That(d.Device.GetQueueStats(0).Batches, Is.EqualTo(32 / DeviceQueue.PublishSlice));
        }
    }

    [Test]
    public void Manual_ABatchIsCappedAtMaxBatch()
    {
        using var d = MiniDriver.Start(new MemoryBackend(1 << 20), new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Manual, MaxBatch = 8 });
        var pending = Enumerable.Range(0, 20).Select(i => d.Add(0, ReadHeader((ulong)i), inLength: 512)).ToList();
        d.Publish(0);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(d.Device.Poll(), Is.EqualTo(8));
            Assert.That(d.Device.Poll(), Is.EqualTo(8));
            Assert.That(d.Device.Poll(), Is.EqualTo(4));
            Assert.That(d.WaitAll(pending), Has.Length.EqualTo(20));
            Assert.That(d.Device.GetQueueStats(0).Batches, Is.EqualTo(3));
        }
    }

    [TestCase(DeviceServiceMode.Polled)]
    [TestCase(DeviceServiceMode.KickDriven)]
    public void Threads_ManyRequestsPublishedAtOnce_CompleteInFewerBatches(DeviceServiceMode mode)
    {
        using var d = MiniDriver.Start(new MemoryBackend(1 << 20),
            new SoftBlkDeviceOptions { Mode = mode, YieldWhenIdle = true },
            new MiniDriverOptions { QueueSize = 128, KickEventFds = true });
        for (int burst = 0; burst < 3; burst++)
        {
            var pending = Enumerable.Range(0, 48).Select(i => d.Add(0, ReadHeader((ulong)i), inLength: 512)).ToList();
            d.Publish(0);
            Assert.That(d.WaitAll(pending).Select(c => c.BlkStatus), Is.All.EqualTo(BlkStatus.Ok));
        }
        var stats = d.Device.GetQueueStats(0);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(stats.Requests, Is.EqualTo(144));
            Assert.That(stats.Batches, Is.LessThan(stats.Requests));
        }
    }

    [Test]
    public void Interrupts_AreSentWhenTheDriverWantsThem()
    {
        using var d = MiniDriver.Start(new MemoryBackend(1 << 20), options: new MiniDriverOptions
        {
            Accept = ~VirtioFeatures.RingEventIdx, CallEventFds = true, SuppressInterrupts = false,
        });
        d.Read(0, 512);
        d.Read(1, 512);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(d.Device.GetQueueStats(0).InterruptsSent, Is.EqualTo(2));
            Assert.That(d.CallFds[0]!.TryConsume(out ulong count), Is.True);
            Assert.That(count, Is.EqualTo(2UL));
        }
    }

    [TestCase(true)]
    [TestCase(false)]
    public void Interrupts_AreNotSentToADriverThatSuppressesThem(bool eventIdx)
    {
        using var d = MiniDriver.Start(new MemoryBackend(1 << 20), options: new MiniDriverOptions
        {
            Accept = Accept(eventIdx), CallEventFds = true, SuppressInterrupts = true,
        });
        for (int i = 0; i < 5; i++) d.Read((ulong)i, 512);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(d.Device.GetQueueStats(0).InterruptsSent, Is.Zero);
            Assert.That(d.CallFds[0]!.TryConsume(out _), Is.False);
        }
    }

    [Test]
    public void Reset_StopsTheDeviceThreads()
    {
        using var d = MiniDriver.Start(new MemoryBackend(1 << 20),
            new SoftBlkDeviceOptions { Mode = DeviceServiceMode.KickDriven },
            new MiniDriverOptions { KickEventFds = true });
        Assert.That(d.Read(0, 512).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        d.Device.Reset();
        var p = d.Submit(0, ReadHeader(), inLength: 512);
        d.Kick(0);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(d.Device.Status, Is.EqualTo(DeviceStatus.Reset));
            Assert.That(d.TryWait(p, TimeSpan.FromMilliseconds(50)), Is.False, "nobody serves the ring after reset");
            Assert.That(d.Host(p.StatusGuest, 1)[0], Is.EqualTo(Payload.UntouchedStatus));
        }
    }
}
