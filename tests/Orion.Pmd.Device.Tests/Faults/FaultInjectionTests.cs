using System.Diagnostics;
using Orion.Pmd.Device.Backends;
using Orion.Pmd.Device.Faults;
using Orion.Pmd.Device.Tests.Support;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Device.Tests.Faults;

/// <summary>Each fault kind observed through the test driver on a split ring, in Manual mode (deterministic).</summary>
public class FaultInjectionTests
{
    private static MiniDriver Start(MemoryBackend backend, string plan, int queues = 1)
        => MiniDriver.Start(backend, new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Manual, NumQueues = queues, Faults = FaultPlan.Parse(plan) });

    private static BlkRequestHeader Write(ulong sector) => new(BlkRequestType.Out, sector);
    private static BlkRequestHeader Read(ulong sector) => new(BlkRequestType.In, sector);

    [Test]
    public void IoErrorOnEveryThirdWriteLeavesItsDataUntouchedAndIsCounted()
    {
        using var backend = new MemoryBackend(1 << 20);
        using var driver = Start(backend, "ioerr:every=3:type=write");
        int ioerrs = 0;
        for (int i = 0; i < 9; i++)
        {
            var data = Payload.Pattern(512, seed: i + 1);
            var w = driver.Execute(Write((ulong)i), data);
            var r = driver.Execute(Read((ulong)i), inLength: 512);     // reads are not filtered in
            Assert.That(r.BlkStatus, Is.EqualTo(BlkStatus.Ok));
            if ((i + 1) % 3 == 0)
            {
                Assert.That(w.BlkStatus, Is.EqualTo(BlkStatus.IoError), $"write {i + 1}");
                Assert.That(r.Data, Is.All.EqualTo((byte)0), "a failed write leaves the data untouched");
                ioerrs++;
            }
            else
            {
                Assert.That(w.BlkStatus, Is.EqualTo(BlkStatus.Ok), $"write {i + 1}");
                Assert.That(r.Data, Is.EqualTo(data));
            }
        }
        var c = driver.Device.GetFaultCounters(0);
        Assert.That(c.IoErrors, Is.EqualTo(ioerrs).And.EqualTo(3));
        Assert.That(c.Total, Is.EqualTo(3));
        Assert.That(c.Requests, Is.EqualTo(18));
        Assert.That(driver.Device.GetFaultCounters(), Is.EqualTo(c));
    }

    [Test]
    public void UnsupportedAtTheSecondFlushOnly()
    {
        using var backend = new MemoryBackend(1 << 20);
        using var driver = Start(backend, "unsupp:at=2:type=flush");
        var statuses = Enumerable.Range(0, 4).Select(_ => driver.Execute(new BlkRequestHeader(BlkRequestType.Flush, 0)).BlkStatus).ToArray();
        Assert.That(statuses, Is.EqualTo(new[] { BlkStatus.Ok, BlkStatus.Unsupported, BlkStatus.Ok, BlkStatus.Ok }));
        Assert.That(driver.Device.GetFaultCounters(0).Unsupported, Is.EqualTo(1));
    }

    [Test]
    public void RateIsReproducibleForASeedAndCountersMatchWhatTheDriverSaw()
    {
        int[] Run(string plan)
        {
            using var backend = new MemoryBackend(1 << 20);
            using var driver = Start(backend, plan);
            var failed = Enumerable.Range(0, 200).Where(i => driver.Execute(Read((ulong)i % 64), inLength: 512).BlkStatus == BlkStatus.IoError).ToArray();
            Assert.That(driver.Device.GetFaultCounters(0).IoErrors, Is.EqualTo(failed.Length), "injected = observed");
            return failed;
        }
        var a = Run("ioerr:rate=10%;seed=99");
        var b = Run("ioerr:rate=10%;seed=99");
        var other = Run("ioerr:rate=10%;seed=100");
        Assert.That(a, Is.EqualTo(b));
        Assert.That(a, Is.Not.EqualTo(other));
        Assert.That(a.Length, Is.InRange(1, 60), "about 10 % of 200");
    }

    [Test]
    public void QueueFilterLeavesOtherQueuesAlone()
    {
        using var backend = new MemoryBackend(1 << 20);
        using var driver = Start(backend, "ioerr:every=1:queue=1", queues: 2);
        Assert.That(driver.Read(0, 512, queue: 0).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        Assert.That(driver.Read(0, 512, queue: 1).BlkStatus, Is.EqualTo(BlkStatus.IoError));
        Assert.That(driver.Device.GetFaultCounters(0).Total, Is.Zero);
        Assert.That(driver.Device.GetFaultCounters(1).IoErrors, Is.EqualTo(1));
    }

    [Test]
    public void DelayStillCompletesNormally()
    {
        using var backend = new MemoryBackend(1 << 20);
        using var driver = Start(backend, "delay=1ms:every=2");
        for (int i = 0; i < 4; i++) Assert.That(driver.Read(0, 512).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        Assert.That(driver.Device.GetFaultCounters(0).Delays, Is.EqualTo(2));
    }

    [Test]
    public void DroppedRequestNeverCompletesButLaterOnesDo()
    {
        using var backend = new MemoryBackend(1 << 20);
        using var driver = Start(backend, "drop:at=2");
        Assert.That(driver.Read(0, 512).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        var dropped = driver.Submit(0, Write(1), Payload.Pattern(512));
        Assert.That(driver.TryWait(dropped, TimeSpan.FromMilliseconds(100)), Is.False, "no used element for a dropped request");
        Assert.That(driver.Queues[0]!.IsBroken, Is.False);
        Assert.That(driver.Read(1, 512).Data, Is.All.EqualTo((byte)0), "the dropped write was not executed");
        Assert.That(driver.Read(2, 512).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        Assert.That(dropped.IsComplete, Is.False);
        Assert.That(driver.Device.GetFaultCounters(0).Drops, Is.EqualTo(1));
    }

    [Test]
    [CancelAfter(30_000)]
    public void StallHoldsTheQueueThenEverythingFlows()
    {
        var stall = TimeSpan.FromMilliseconds(300);
        using var backend = new MemoryBackend(1 << 20);
        using var driver = Start(backend, "stall=300ms:at=1");
        var start = Stopwatch.StartNew();
        var first = driver.Submit(0, Read(0), inLength: 512);
        var second = driver.Submit(0, Read(1), inLength: 512);
        driver.Device.Poll();
        driver.Reap(0);
        if (start.Elapsed < stall)
            Assert.That(first.IsComplete || second.IsComplete, Is.False, "nothing completes while the queue stalls");
        Assert.That(MiniDriver.Eventually(() => { driver.Device.Poll(); driver.Reap(0); return first.IsComplete && second.IsComplete; }, TimeSpan.FromSeconds(10)),
            Is.True, "the stalled requests complete after the stall");
        Assert.That(start.Elapsed, Is.GreaterThanOrEqualTo(stall));
        Assert.That(first.Result!.BlkStatus, Is.EqualTo(BlkStatus.Ok));
        Assert.That(second.Result!.BlkStatus, Is.EqualTo(BlkStatus.Ok));
        Assert.That(driver.Device.GetFaultCounters(0).Stalls, Is.EqualTo(1));
    }

    [Test]
    public void NeedsResetSetsTheStatusBitStopsTheQueueAndAQueueResetRecovers()
    {
        using var backend = new MemoryBackend(1 << 20);
        using var driver = Start(backend, "needs-reset:at=2");
        Assert.That(driver.Read(0, 512).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        var lost = driver.Submit(0, Read(0), inLength: 512);
        Assert.That(driver.TryWait(lost, TimeSpan.FromMilliseconds(100)), Is.False);
        Assert.That(driver.Device.Status.HasFlag(DeviceStatus.DeviceNeedsReset), Is.True);
        Assert.That(driver.BrokenEvents.Single().Message, Does.Contain("injected"));
        Assert.That(driver.Device.GetFaultCounters(0).NeedsReset, Is.EqualTo(1));

        driver.Device.ResetQueue(0);
        driver.CreateRings();
        driver.Device.EnableQueue(0);
        Assert.That(driver.Device.Status.HasFlag(DeviceStatus.DeviceNeedsReset), Is.False);
        Assert.That(driver.Read(0, 512).BlkStatus, Is.EqualTo(BlkStatus.Ok), "at=2 fired once; the reset queue serves again");
    }

    [TestCase("id-range", VirtqueueError.UsedIdOutOfRange)]
    [TestCase("id-unused", VirtqueueError.UsedIdNotHead)]
    [TestCase("length", VirtqueueError.UsedLengthTooLarge)]
    public void GarbageLatchesTheSplitDriverBroken(string kind, VirtqueueError expected)
    {
        using var backend = new MemoryBackend(1 << 20);
        using var driver = Start(backend, $"garbage={kind}:at=2");
        Assert.That(driver.Read(0, 512).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        var bad = driver.Submit(0, Read(0), inLength: 512);
        Assert.That(driver.TryWait(bad, TimeSpan.FromMilliseconds(100)), Is.False);
        Assert.That(driver.Queues[0]!.Error, Is.EqualTo(expected), driver.Queues[0]!.ErrorMessage);
        Assert.That(driver.Device.GetFaultCounters(0).Garbage, Is.EqualTo(1));
    }

    [Test]
    public void DuplicateIdLatchesTheSplitDriverBroken()
    {
        // Two requests in flight: the first completes, the second is answered with the first's id again.
        using var backend = new MemoryBackend(1 << 20);
        using var driver = Start(backend, "garbage=id-duplicate:at=2");
        var a = driver.Add(0, Read(0), inLength: 512);
        var b = driver.Add(0, Read(1), inLength: 512);
        driver.Publish(0);
        driver.PollUntil(() => { driver.Reap(0); return driver.Queues[0]!.IsBroken; }, TimeSpan.FromSeconds(5));
        Assert.That(a.IsComplete, Is.True);
        Assert.That(b.IsComplete, Is.False);
        Assert.That(driver.Queues[0]!.Error, Is.EqualTo(VirtqueueError.UsedIdNotHead), driver.Queues[0]!.ErrorMessage);
        Assert.That(driver.Device.GetFaultCounters(0).GarbageIdDuplicate, Is.EqualTo(1));
    }

    [Test]
    public void DuplicateWithNothingToRepeatCompletesTwice()
    {
        using var backend = new MemoryBackend(1 << 20);
        using var driver = Start(backend, "garbage=id-duplicate:at=1");
        var a = driver.Submit(0, Read(0), inLength: 512);
        driver.PollUntil(() => { driver.Reap(0); return driver.Queues[0]!.IsBroken; }, TimeSpan.FromSeconds(5));
        Assert.That(driver.Queues[0]!.Error, Is.AnyOf(VirtqueueError.UsedIdNotHead, VirtqueueError.UsedIndexRunsAhead), driver.Queues[0]!.ErrorMessage);
    }

    [Test]
    public void WrapGarbageNeverFiresOnASplitRing()
    {
        using var backend = new MemoryBackend(1 << 20);
        using var driver = Start(backend, "garbage=wrap:every=1");
        Assert.That(driver.Read(0, 512).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        Assert.That(driver.Device.GetFaultCounters(0).Total, Is.Zero);
    }

    [Test]
    public void NoPlanNoCounters()
    {
        using var backend = new MemoryBackend(1 << 20);
        using var driver = MiniDriver.Start(backend);
        Assert.That(driver.Read(0, 512).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        Assert.That(driver.Device.GetFaultCounters(0), Is.EqualTo(default(FaultCounters)));
    }
}
