using Orion.Pmd.Testing;
using Orion.Pmd.Engine.Requests;

namespace Orion.Pmd.Engine.Tests.Faults;

/// <summary>
/// A request failed while the device may still hold it (no reset has stopped the device yet): the caller hears of the
/// failure at once, but the engine's own memory the device could write, the request's bounce buffer and its slot,
/// stays out of use until a queue or device reset (embedding.md §4).
/// </summary>
[NonParallelizable]
public class QuarantineTests
{
    /// <summary>The address the pool will hand out next for a 4 KiB buffer (its free list is last in, first out).</summary>
    private static ulong NextBufferAddress(PmdEngine engine)
    {
        var probe = engine.Device.Pool.Rent(4096);
        ulong address = probe.GuestAddress;
        probe.Dispose();
        return address;
    }

    /// <summary>A bounced read, placed in the ring; then a used element the device never wrote breaks the ring.</summary>
    private static ValueTask BreakTheRingUnderABouncedRead(PmdEngine engine)
    {
        var read = engine.Device.ReadAsync(0, new byte[4096]);      // not DMA memory: it goes through a bounce buffer
        engine.Reactors[0].RunOnce();                                // placed; the device does not run
        UsedRingForgery.ForgeUsed(engine.Pairs[0].Ring, 9u);             // an id that was never made available
        engine.Reactors[0].RunOnce();
        return read;
    }

    [Test]
    [CancelAfter(30_000)]
    public void ABrokenQueuesBounceBufferIsNotHandedOutBeforeTheReset()
    {
        using var engine = ManualEngine.Start(queueSize: 16, tweak: o => o with { RecoverBrokenQueues = false });
        var pool = engine.Device.Pool;
        ulong bounce = NextBufferAddress(engine);

        var read = BreakTheRingUnderABouncedRead(engine);
        Assert.That(read.IsCompleted, Is.True, "the caller hears of the failure at once");
        Assert.That(Assert.Throws<BlockDeviceException>(() => read.GetAwaiter().GetResult())!.Status, Is.EqualTo(IoStatus.QueueBroken));

        Assert.That(pool.InUseCount, Is.EqualTo(1), "the bounce buffer stays out of the pool: the device may still write it");
        using (var other = pool.Rent(4096))
            Assert.That(other.GuestAddress, Is.Not.EqualTo(bounce), "nobody else gets the quarantined bounce buffer");

        var queue = engine.Device.GetQueue(0);
        queue.Disable();
        queue.Reset();
        queue.Enable();
        Assert.That(pool.InUseCount, Is.Zero, "the reset stopped the device: the bounce buffer is back");
        var own = new byte[4096];
        engine.Wait(engine.Device.ReadAsync(0, own));
        Assert.That(pool.InUseCount, Is.Zero);
    }

    [Test]
    [CancelAfter(30_000)]
    public void AFailedQueueResetKeepsTheBounceBufferUntilAResetSucceeds()
    {
        using var engine = ConfigPatchingTransport.Start(c => c, tweak: o => o with { RecoverWithDeviceReset = false });
        var transport = (ConfigPatchingTransport)engine.Transport;
        var pool = engine.Device.Pool;
        ulong bounce = NextBufferAddress(engine);
        transport.QueueResetsFail = true;

        var read = BreakTheRingUnderABouncedRead(engine);            // recovery tries a queue reset, which fails
        Assert.That(read.IsCompleted, Is.True);
        var error = Assert.Throws<BlockDeviceException>(() => read.GetAwaiter().GetResult())!;
        Assert.That(error.Message, Does.Contain("the queue reset failed"));

        Assert.That(pool.InUseCount, Is.EqualTo(1), "the bounce buffer stays out of the pool after a failed reset");
        using (var other = pool.Rent(4096))
            Assert.That(other.GuestAddress, Is.Not.EqualTo(bounce));

        transport.QueueResetsFail = false;
        var queue = engine.Device.GetQueue(0);
        queue.Disable();
        queue.Reset();
        queue.Enable();
        Assert.That(pool.InUseCount, Is.Zero, "a reset that succeeded gave it back");
    }

    [Test]
    [CancelAfter(30_000)]
    public void AFailedDeviceResetKeepsTheBounceBuffersOfWhatTheDeviceHeld()
    {
        using var engine = ConfigPatchingTransport.Start(c => c);
        var transport = (ConfigPatchingTransport)engine.Transport;
        var pool = engine.Device.Pool;
        ulong bounce = NextBufferAddress(engine);
        transport.DeviceStalled = true;
        var read = engine.Device.ReadAsync(0, new byte[4096]);      // bounced, and held by a device that does not answer
        for (int i = 0; i < 4; i++) engine.PollOnce();
        Assert.That(read.IsCompleted, Is.False);

        transport.DeviceResetsFail = true;
        Assert.Throws<IOException>(engine.ResetDevice);
        Assert.That(engine.RunUntilDone(() => read.IsCompleted), Is.True, "the caller hears of the failure");
        Assert.That(Assert.Throws<BlockDeviceException>(() => read.GetAwaiter().GetResult())!.Status, Is.EqualTo(IoStatus.TransportLost));

        Assert.That(pool.InUseCount, Is.EqualTo(1), "the device was never stopped: its bounce buffer stays out of the pool");
        using var other = pool.Rent(4096);
        Assert.That(other.GuestAddress, Is.Not.EqualTo(bounce));
    }
}
