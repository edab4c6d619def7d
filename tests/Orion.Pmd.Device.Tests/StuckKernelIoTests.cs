using System.Diagnostics;
using Orion.Pmd.Device.Tests.Support;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Device.Tests;

/// <summary>
/// A request the kernel never completes and does not end when cancelled (I/O stuck below the file system, through the
/// <see cref="StuckKernelBackend"/> seam): stopping or resetting its queue is bounded (cancel, a grace, then give up),
/// the queue is latched faulted with a named error, the guest memory the kernel may still write stays mapped and the
/// request is never handed back, and the device's stop still finishes.
/// </summary>
[NonParallelizable]
public class StuckKernelIoTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromMilliseconds(200);

    private static (MiniDriver Driver, StuckKernelBackend Backend) Start()
    {
        var backend = new StuckKernelBackend(1 << 20);
        var d = MiniDriver.Start(backend,
                                 new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Manual, IoCancelAfter = Bound, IoCancelGrace = Bound },
                                 new MiniDriverOptions { QueueSize = 16, RegionBytes = 4 << 20 });
        return (d, backend);
    }

    /// <summary>A read handed to the "kernel", which will not give it back.</summary>
    private static Pending StuckRead(MiniDriver d)
    {
        var read = d.Submit(0, new BlkRequestHeader(BlkRequestType.In, 0), inLength: 4096);
        d.Device.Poll();
        Assert.That(d.Device.QueueInFlightIo(0), Is.EqualTo(1), "the read is in the kernel");
        return read;
    }

    [Test]
    [CancelAfter(60_000)]
    public void ARequestTheKernelNeverEnds_LatchesTheQueue_KeepsItsMemory_AndTheStopStillFinishes()
    {
        var (d, backend) = Start();
        using var driver = d;
        int mapped = d.MappingCount();
        var read = StuckRead(d);
        string? reported = null;
        d.Device.QueueBroken += (_, _, message) => reported = message;

        var clock = Stopwatch.StartNew();
        var error = Assert.Throws<IOException>(() => d.Device.ResetQueue(0))!;
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)), "bounded: wait, cancel, a grace, then give up");
        Assert.That(backend.CancelsAsked, Is.EqualTo(1), "the kernel was asked to cancel first");
        Assert.That(error.Message, Does.Contain("queue 0").And.Contain("still in the kernel").And.Contain("never handed back"));

        var reset = Assert.Throws<IOException>(d.Device.Reset)!;
        Assert.That(reset.Message, Does.Contain("the device was not reset").And.Contain("still in the kernel"));
        Assert.That(reported, Does.Contain("still in the kernel"), "reported where the device reports a faulted queue (orion-vhost logs it)");
        Assert.That(d.MappingCount(), Is.EqualTo(mapped), "the guest memory the kernel may write stays mapped");
        for (int i = 0; i < 10; i++) d.Device.Poll();
        Assert.That(read.IsComplete, Is.False, "the request is never handed back to the driver");

        clock.Restart();
        d.Device.Dispose();                 // leaks the channel and the mapping rather than freeing them under the kernel
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)), "the stop finishes");
        Assert.That(d.MappingCount(), Is.EqualTo(mapped), "quarantined: still mapped after the device stopped");
    }

    [Test]
    [CancelAfter(60_000)]
    public void RequestsThatEndAtLast_LetALaterResetThrough()
    {
        var (d, backend) = Start();
        using var driver = d;
        int mapped = d.MappingCount();
        StuckRead(d);
        Assert.Throws<IOException>(d.Device.Reset);
        Assert.That(d.MappingCount(), Is.EqualTo(mapped));

        backend.Release();                  // the disk answers at last
        d.Device.Reset();
        Assert.That(d.MappingCount(), Is.LessThan(mapped), "nothing holds the memory any more: the device unmapped its view");
    }
}
