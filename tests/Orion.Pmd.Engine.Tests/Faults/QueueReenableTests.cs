using Orion.Pmd.Testing;
using Orion.Pmd.Engine.Requests;

namespace Orion.Pmd.Engine.Tests.Faults;

/// <summary>
/// A queue whose re-enable failed once after a reset is not lost for good: what arrives meanwhile fails at once with
/// <see cref="IoStatus.QueueBroken"/> naming the failure, the queue tries the reset again at most once per
/// <see cref="Queues.QueuePair.ReenableRetryInterval"/>, and the owner's queue reset or a device reset brings it back too.
/// </summary>
[NonParallelizable]
public class QueueReenableTests
{
    /// <summary>A read placed, the ring broken by a hostile used element, and the re-enable after the queue reset refused.</summary>
    private static (PmdEngine Engine, ConfigPatchingTransport Transport) StartWithAFailedReenable()
    {
        var engine = ConfigPatchingTransport.Start(c => c, tweak: o => o with { RecoverWithDeviceReset = false });
        var transport = (ConfigPatchingTransport)engine.Transport;
        var dev = engine.Device;
        using var buffer = dev.Rent(4096);
        var read = dev.ReadAsync(0, buffer.Memory);
        engine.Reactors[0].RunOnce();                                  // placed
        transport.QueueEnablesFail = true;
        UsedRingForgery.ForgeUsed(engine.Pairs[0].Ring, 300);
        engine.PollOnce();                                             // broken: reset, then the re-enable fails
        Assert.That(read.IsCompleted, Is.True);
        var e = Assert.Throws<BlockDeviceException>(() => read.GetAwaiter().GetResult());
        Assert.That(e!.Status, Is.EqualTo(IoStatus.QueueBroken));
        Assert.That(e.Message, Does.Contain("did not re-enable"));
        return (engine, transport);
    }

    [Test]
    [CancelAfter(30_000)]
    public void TheQueueTriesAgainByItselfAndServesOnceTheDeviceTakesItBack()
    {
        var (engine, transport) = StartWithAFailedReenable();
        using var _ = engine;
        using var buffer = engine.Device.Rent(4096);
        var dev = engine.Device;
        long resets = engine.Pairs[0].Counters.QueueResets;

        // Within the retry interval a request fails at once, naming why, and the device is not asked again.
        var early = dev.ReadAsync(8, buffer.Memory);
        Assert.That(engine.RunUntil(() => early.IsCompleted, 100), Is.True);
        var e = Assert.Throws<BlockDeviceException>(() => early.GetAwaiter().GetResult());
        Assert.That(e!.Status, Is.EqualTo(IoStatus.QueueBroken));
        Assert.That(e.Message, Does.Contain("did not re-enable"));
        Assert.That(engine.Pairs[0].Counters.QueueResets, Is.EqualTo(resets));

        transport.QueueEnablesFail = false;
        Thread.Sleep(Queues.QueuePair.ReenableRetryInterval + TimeSpan.FromMilliseconds(50));
        engine.Wait(dev.ReadAsync(8, buffer.Memory));            // the queue was reset again and serves
        engine.Wait(dev.ReadAsync(16, buffer.Memory));
        Assert.That(engine.Pairs[0].Counters.QueueResets, Is.EqualTo(resets + 1));
    }

    [Test]
    [CancelAfter(30_000)]
    public void TheOwnersQueueResetBringsItBack()
    {
        var (engine, transport) = StartWithAFailedReenable();
        using var _ = engine;
        using var buffer = engine.Device.Rent(4096);
        var dev = engine.Device;
        transport.QueueEnablesFail = false;
        var queue = dev.GetQueue(0);
        queue.Disable();
        queue.Reset();
        queue.Enable();
        engine.Wait(dev.ReadAsync(8, buffer.Memory));
    }

    [Test]
    [CancelAfter(30_000)]
    public void ADeviceResetBringsItBack()
    {
        var (engine, transport) = StartWithAFailedReenable();
        using var _ = engine;
        using var buffer = engine.Device.Rent(4096);
        transport.QueueEnablesFail = false;
        engine.ResetDevice();
        engine.Wait(engine.Device.ReadAsync(8, buffer.Memory));
    }
}
