using Orion.Pmd.Engine.Memory;
using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Testing;

namespace Orion.Pmd.Engine.Tests.Faults;

/// <summary>
/// A zero-copy request (its data is the owner's rented buffer) failed while the device may still run it: the engine
/// cannot fence the owner's memory off, so the failure reaches the owner only once the device let go (embedding.md §4
/// item 2). Each test lets a device the engine gave up on write the buffer afterwards: from the moment the task
/// completes the test poisons the buffer, and the poison must survive everything the device does later.
/// </summary>
[NonParallelizable]
public class WithheldRequestTests
{
    private const byte OnDisk = 0x11, Poison = 0xEE;

    /// <summary>The owner's side: poisons the buffer the moment its read is handed back, and checks it stayed so.</summary>
    private sealed class Owner(DmaBuffer buffer, ValueTask read)
    {
        public bool HandedBack => read.IsCompleted;

        /// <summary>Called after every step: an owner that got its buffer back reuses it at once.</summary>
        public void Step()
        {
            if (!read.IsCompleted || Poisoned) return;
            buffer.Span.Fill(Poison);
            Poisoned = true;
        }

        public bool Poisoned { get; private set; }

        public bool PoisonIntact => buffer.Span.IndexOfAnyExcept(Poison) < 0;

        public BlockDeviceException Failure => Assert.Throws<BlockDeviceException>(() => read.GetAwaiter().GetResult())!;
    }

    /// <summary>Writes <see cref="OnDisk"/> to block 0, stalls the device and starts a zero-copy read of it.</summary>
    private static (Owner Owner, DmaBuffer Buffer) StallAZeroCopyRead(PmdEngine engine, ThreadlessTransport transport)
    {
        engine.Wait(engine.Device.WriteAsync(0, Enumerable.Repeat(OnDisk, 4096).ToArray()));
        transport.DeviceStalled = true;
        var buffer = engine.Device.Rent(4096);
        buffer.Span.Clear();
        long bounces = engine.Device.GetQueue(0).Counters.Bounces;
        var read = engine.Device.ReadAsync(0, buffer.Memory);       // rented: the device writes this very memory
        for (int i = 0; i < 4; i++) engine.PollOnce();
        Assert.That(read.IsCompleted, Is.False, "placed; the device does not run");
        Assert.That(engine.Device.GetQueue(0).Counters.Bounces, Is.EqualTo(bounces), "zero-copy: no bounce buffer");
        return (new Owner(buffer, read), buffer);
    }

    [Test]
    [CancelAfter(30_000)]
    public void AFailedQueueResetHandsTheBufferBackOnlyAfterTheNextReset()
    {
        using var engine = ConfigPatchingTransport.Start(c => c, tweak: o => o with { RecoverWithDeviceReset = false });
        var transport = (ConfigPatchingTransport)engine.Transport;
        var (owner, buffer) = StallAZeroCopyRead(engine, transport);
        transport.QueueResetsFail = true;

        UsedRingForgery.ForgeUsed(engine.Pairs[0].Ring, 9u);         // the ring breaks; the queue reset it asks for fails
        engine.PollOnce();
        owner.Step();
        Assert.That(engine.Pairs[0].GivenUpRequests, Is.EqualTo(1), "the engine gave up on the request");
        Assert.That(owner.HandedBack, Is.False, "the device was never stopped: the owner's buffer is still the device's");

        transport.DeviceStalled = false;                             // the device runs the request after all and writes the buffer
        for (int i = 0; i < 4; i++)
        {
            engine.PollOnce();
            owner.Step();
        }
        Assert.That(buffer.Span[0], Is.EqualTo(OnDisk), "the device wrote the buffer after the engine gave up on it");

        transport.QueueResetsFail = false;
        var queue = engine.Device.GetQueue(0);
        queue.Disable();
        queue.Reset();                                               // the device lets go of the ring
        owner.Step();
        Assert.That(owner.HandedBack, Is.True, "the reset stopped the device: the failure reaches the owner");
        Assert.That(owner.Failure.Status, Is.EqualTo(IoStatus.QueueBroken));
        queue.Enable();
        for (int i = 0; i < 4; i++) engine.PollOnce();
        Assert.That(owner.PoisonIntact, Is.True, "nothing wrote the buffer once its owner had it back");
        Assert.That(engine.Pairs[0].GivenUpRequests, Is.Zero);
        buffer.Dispose();
    }

    [Test]
    [CancelAfter(30_000)]
    public void AFailedDeviceResetHandsTheBufferBackWhenTheDeviceReturnsTheRequest()
    {
        using var engine = ConfigPatchingTransport.Start(c => c);
        var transport = (ConfigPatchingTransport)engine.Transport;
        var (owner, buffer) = StallAZeroCopyRead(engine, transport);

        transport.DeviceResetsFail = true;
        Assert.Throws<IOException>(engine.ResetDevice);               // the engine gives the device up (link lost)
        for (int i = 0; i < 4; i++)
        {
            engine.PollOnce();
            owner.Step();
        }
        Assert.That(owner.HandedBack, Is.False, "the device was never stopped: the owner's buffer is still the device's");

        transport.DeviceStalled = false;                              // the device completes it late, writing the buffer first
        Assert.That(engine.RunUntilDone(() =>
        {
            owner.Step();
            return owner.HandedBack;
        }), Is.True, "the device returned the request: its failure reaches the owner");
        owner.Step();
        Assert.That(owner.Failure.Status, Is.EqualTo(IoStatus.TransportLost));
        for (int i = 0; i < 4; i++) engine.PollOnce();
        Assert.That(owner.PoisonIntact, Is.True, "the device wrote the buffer before the owner had it back, never after");
        buffer.Dispose();
    }

    [Test]
    [CancelAfter(30_000)]
    public void DisposeHandsAWithheldRequestBackOnlyWithTheBufferUnusable()
    {
        var engine = ConfigPatchingTransport.Start(c => c, tweak: o => o with { RecoverWithDeviceReset = false, DrainTimeout = TimeSpan.FromMilliseconds(50) });
        var transport = (ConfigPatchingTransport)engine.Transport;
        var (owner, buffer) = StallAZeroCopyRead(engine, transport);
        transport.QueueResetsFail = true;
        UsedRingForgery.ForgeUsed(engine.Pairs[0].Ring, 9u);
        engine.PollOnce();
        Assert.That(owner.HandedBack, Is.False);

        engine.Dispose();
        Assert.That(owner.HandedBack, Is.True, "every task completed by the time Dispose returns");
        Assert.That(owner.Failure.Status, Is.EqualTo(IoStatus.QueueBroken));
        Assert.That(buffer.IsDisposed, Is.True, "and the buffer can no longer be used");
    }
}
