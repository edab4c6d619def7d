using Orion.Pmd.Device.Backends.Rbd;
using Orion.Pmd.Device.Tests.Support;
using Orion.Pmd.Tests.Ceph;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Device.Tests;

/// <summary>
/// How librbd's completions reach the thread serving the queue: through a lock-free queue it reaps on its passes, and
/// through an eventfd only when that thread sleeps — one signal per sleep, however many requests complete meanwhile,
/// and none at all while it polls (each signal is a system call on librbd's thread and a wake-up of the device's).
/// </summary>
[NonParallelizable]
public class RbdWakeupTests() : RbdImageTest("wake")
{
    private MiniDriver Start(DeviceServiceMode mode) => MiniDriver.Start(
        new RbdBackend(new RbdBackendOptions { Pool = CephCluster.Pool, Image = Image!, ConfPath = Cluster.ConfPath }),
        new SoftBlkDeviceOptions { Mode = mode },
        // A device thread sleeps on its kick eventfd (beside librbd's completion eventfd): the driver must have one.
        new MiniDriverOptions { QueueSize = 64, KickEventFds = mode != DeviceServiceMode.Manual, CallEventFds = mode != DeviceServiceMode.Manual });

    private static Pending[] AddReads(MiniDriver d, int count) =>
        [.. Enumerable.Range(0, count).Select(i => d.Add(0, new BlkRequestHeader(BlkRequestType.In, (ulong)i * 8 * 61), inLength: 4096))];

    [Test]
    [CancelAfter(120_000)]
    public void AnOwnerThatPolls_ReapsEveryCompletionWithoutASignal()
    {
        using var d = Start(DeviceServiceMode.Manual);
        var reads = AddReads(d, 32);
        d.Publish(0);
        Assert.That(d.WaitAll(reads).Select(c => c.BlkStatus), Is.All.EqualTo(BlkStatus.Ok));
        Assert.That(d.Device.GetQueueIoCounters(0)!.Value.Wakeups, Is.Zero,
            "nobody slept: librbd's threads only queued the completions, no eventfd write per completion");
    }

    [Test]
    [CancelAfter(120_000)]
    public void AnOwnerThatSleeps_IsWokenOnceForAWholeBatchOfCompletions()
    {
        using var d = Start(DeviceServiceMode.Manual);
        // A local OSD can answer a whole batch before the owner gets to arm: then the batch is served and another one
        // tried (a few at most), until the owner armed with requests still inside librbd — the case under test.
        Pending[] reads;
        long wakeupsBefore;
        int attempts = 0;
        while (true)
        {
            wakeupsBefore = d.Device.GetQueueIoCounters(0)!.Value.Wakeups;
            reads = AddReads(d, 32);
            d.Publish(0);
            Assert.That(d.Device.PollQueue(0), Is.EqualTo(32), "one pass started all 32 in librbd");
            // Arm as a reactor does before it parks; a completion that already arrived makes it refuse: serve, then arm again.
            while (!d.Device.PrepareQueueToPark(0))
            {
                d.Device.QueueUnparked(0);
                d.Device.PollQueue(0);
            }
            if (d.Device.QueueInFlightIo(0) > 1 || ++attempts == 5) break;
            d.Device.QueueUnparked(0);                       // nothing (or one) left in librbd: serve it all, try again
            Assert.That(d.WaitAll(reads).Select(c => c.BlkStatus), Is.All.EqualTo(BlkStatus.Ok));
        }
        Assert.That(d.Device.QueueInFlightIo(0), Is.GreaterThan(1), "armed while requests were still inside librbd");
        int armedWith = d.Device.QueueInFlightIo(0);
        // The owner "sleeps": nothing reaps while librbd completes the rest (a local OSD answers 4 KiB reads in milliseconds).
        Assert.That(MiniDriver.Eventually(() => d.Device.QueueHasWork(0), TimeSpan.FromSeconds(30)), Is.True, "a completion arrived");
        Thread.Sleep(1000);
        Assert.That(d.Device.GetQueueIoCounters(0)!.Value.Wakeups - wakeupsBefore, Is.EqualTo(1), "the first completion signalled, the others did not");
        d.Device.QueueUnparked(0);
        int reaped = d.Device.PollQueue(0);
        Assert.That(reaped, Is.EqualTo(armedWith), "the one wake-up found every completion of the batch waiting");
        Assert.That(d.WaitAll(reads).Select(c => c.BlkStatus), Is.All.EqualTo(BlkStatus.Ok));
        Assert.That(d.Device.GetQueueIoCounters(0)!.Value.Wakeups - wakeupsBefore, Is.EqualTo(1), "reaping by polling signals nothing");
    }

    [TestCase(DeviceServiceMode.Adaptive)]
    [TestCase(DeviceServiceMode.KickDriven)]
    [CancelAfter(120_000)]
    public void ADeviceThreadThatSleepsBetweenBatches_IsWokenAtMostOncePerSleep(DeviceServiceMode mode)
    {
        using var d = Start(mode);
        var data = Payload.RandomBytes(4096, 9);
        for (int round = 0; round < 4; round++)
        {
            var writes = Enumerable.Range(0, 16).Select(i => d.Add(0, new BlkRequestHeader(BlkRequestType.Out, (ulong)(round * 16 + i) * 8), data)).ToArray();
            d.Publish(0);
            Assert.That(d.WaitAll(writes).Select(c => c.BlkStatus), Is.All.EqualTo(BlkStatus.Ok));
            var reads = AddReads(d, 16);
            d.Publish(0);
            Assert.That(d.WaitAll(reads).Select(c => c.BlkStatus), Is.All.EqualTo(BlkStatus.Ok));
        }
        long wakeups = d.Device.GetQueueIoCounters(0)!.Value.Wakeups;
        var stats = d.Device.GetQueueStats(0);
        Assert.That(wakeups, Is.GreaterThan(0), $"the device thread slept while librbd worked, and a completion woke it ({stats})");
        Assert.That(wakeups, Is.LessThanOrEqualTo(stats.Sleeps), "a completion signals only a thread that armed its sleep, once per sleep");
    }
}
