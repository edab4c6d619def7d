using Orion.Pmd.Testing;
using Orion.Pmd.Engine.Audit;
using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Engine.Tests.Audit;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Engine.Tests.Faults;

/// <summary>
/// Whole-device reset: requests the device completed are delivered, the others are placed once more (never completed
/// twice, data intact), and the engine escalates to it by itself when a queue reset is not enough.
/// </summary>
[NonParallelizable]
public class DeviceResetTests
{
    [Test]
    public void RequestsInFlightAreDeliveredOrPlacedAgainOnceAndDataSurvives()
    {
        var log = new CapturingLoggerFactory();
        using var engine = ManualEngine.Start(queues: 2, tweak: o => o with { LoggerFactory = log });
        var dev = engine.Device;
        var bufs = Enumerable.Range(0, 8).Select(_ => dev.Rent(4096)).ToArray();
        for (int i = 0; i < bufs.Length; i++)
        {
            bufs[i].Span.Fill((byte)(0x10 + i));
            engine.Wait(dev.WriteAsync(i * 8, bufs[i].Memory));
            bufs[i].Span.Clear();
        }
        // Half the reads are completed by the device before the reset (not yet reaped), half are only placed.
        var reads = new ValueTask[bufs.Length];
        for (int i = 0; i < 4; i++) reads[i] = dev.ReadAsync(i * 8, bufs[i].Memory);
        foreach (var r in engine.Reactors) r.RunOnce();          // placed
        ((IInProcessDevice)engine.Transport).PollDevice();                            // the device completes them; nobody reaped yet
        for (int i = 4; i < bufs.Length; i++) reads[i] = dev.ReadAsync(i * 8, bufs[i].Memory);
        foreach (var r in engine.Reactors) r.RunOnce();          // placed, and the first four reaped (delivered)
        long before = Enumerable.Range(0, 2).Sum(q => dev.GetQueue(q).Counters.Requests);

        engine.ResetDevice();

        for (int i = 0; i < bufs.Length; i++)
        {
            engine.Wait(reads[i]);
            Assert.That(bufs[i].Span.ToArray(), Is.All.EqualTo((byte)(0x10 + i)), $"read {i}");
        }
        long completed = Enumerable.Range(0, 2).Sum(q => dev.GetQueue(q).Counters.Requests);
        Assert.That(completed - before, Is.EqualTo(bufs.Length - 4).Or.EqualTo(bufs.Length), "each request completed exactly once");
        Assert.That(engine.DeviceResets, Is.EqualTo(1));
        Assert.That(Enumerable.Range(0, 2).Sum(q => dev.GetQueue(q).Counters.DeviceResets), Is.EqualTo(2), "every queue went through it");
        Assert.That(Enumerable.Range(0, 2).Sum(q => dev.GetQueue(q).Counters.Errors), Is.Zero);
        Assert.That(engine.LastDeviceReset, Does.Contain("requested by the owner").And.Contain("placed again"));
        Assert.That(log.Named(nameof(EngineAuditEvents.DeviceReset)), Has.Count.EqualTo(1));
        Assert.That(log.Named(nameof(EngineAuditEvents.DeviceRecovered)), Has.Count.EqualTo(1));
        // The device serves as before: write then read back.
        bufs[0].Span.Fill(0x77);
        engine.Wait(dev.WriteAsync(100, bufs[0].Memory));
        bufs[0].Span.Clear();
        engine.Wait(dev.ReadAsync(100, bufs[0].Memory));
        Assert.That(bufs[0].Span.ToArray(), Is.All.EqualTo((byte)0x77));
        foreach (var b in bufs) b.Dispose();
    }

    [Test]
    public void ARequestAlreadyPlacedTwiceFailsInsteadOfAThirdPlacement()
    {
        using var engine = ManualEngine.Start();
        var dev = engine.Device;
        using var buf = dev.Rent(4096);
        var read = dev.ReadAsync(0, buf.Memory);
        engine.Reactors[0].RunOnce();
        engine.ResetDevice();                    // placed again (2nd placement) ...
        engine.Reactors[0].RunOnce();
        engine.ResetDevice();                    // ... and now it has used both
        Assert.That(read.IsCompleted, Is.True);
        var e = Assert.Throws<BlockDeviceException>(() => read.GetAwaiter().GetResult());
        Assert.That(e!.Status, Is.EqualTo(IoStatus.QueueBroken));
        Assert.That(e.Message, Does.Contain("placed twice").And.Contain("device was reset"));
        engine.Wait(dev.ReadAsync(8, buf.Memory));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ResetsUnderConcurrentVerifiedIoLoseNothing()
    {
        using var engine = PmdEngine.Start(new EngineOptions { Device = "mem:32M", Queues = 2, Pin = false, BufferMemoryBytes = 8 << 20 });
        var dev = engine.Device;
        var traffic = VerifiedTraffic.Start(dev);
        for (int i = 0; i < 5; i++)
        {
            await Task.Delay(50);
            await engine.ResetDeviceAsync();
        }
        await traffic.StopAsync();            // a request lost in a reset would hang here; one failed would throw
        long completed = Enumerable.Range(0, 2).Sum(q => dev.GetQueue(q).Counters.Requests);
        Assert.That(completed, Is.EqualTo(traffic.Submitted), "every request completed exactly once");
        Assert.That(traffic.Mismatches, Is.Zero);
        Assert.That(engine.DeviceResets, Is.EqualTo(5));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ADeviceThatSetsNeedsResetIsResetAndItsRequestsComplete()
    {
        // Without escalation these requests would wait for the (long) request timeout and fail.
        using var engine = PmdEngine.Start(new EngineOptions
        {
            Device = "mem:16M,fault=needs-reset:every=40",
            Pin = false,
            BufferMemoryBytes = 8 << 20,
            RequestTimeout = TimeSpan.FromMinutes(5),
        });
        var dev = engine.Device;
        using var buf = dev.Rent(4096);
        for (int i = 0; i < 200; i++)
        {
            buf.Span.Fill((byte)i);
            await dev.WriteAsync(i * 8, buf.Memory);
            buf.Span.Clear();
            await dev.ReadAsync(i * 8, buf.Memory);
            Assert.That(buf.Span.ToArray(), Is.All.EqualTo((byte)i));
        }
        Assert.That(engine.DeviceResets, Is.GreaterThanOrEqualTo(9), engine.LastDeviceReset);
        Assert.That(engine.LastDeviceReset, Does.Contain("DEVICE_NEEDS_RESET"));
        Assert.That(dev.GetQueue(0).Counters.Errors, Is.Zero);
        Assert.That(dev.GetQueue(0).Counters.Timeouts, Is.Zero);
    }

    [Test]
    public void AQueueThatKeepsBreakingEscalatesToADeviceReset()
    {
        using var engine = ManualEngine.Start(tweak: o => o with { QueueResetsBeforeDeviceReset = 2, QueueResetWindow = TimeSpan.FromMinutes(1) });
        var dev = engine.Device;
        using var buf = dev.Rent(4096);
        var pair = engine.Pairs[0];
        var reads = new List<ValueTask>();
        for (int round = 0; round < 3; round++)
        {
            reads.Add(dev.ReadAsync(round * 8, buf.Memory));
            engine.Reactors[0].RunOnce();
            UsedRingForgery.ForgeUsed(pair.Ring, 300);
            engine.PollOnce();                    // the third break escalates; PollOnce runs the device reset
        }
        Assert.That(pair.Counters.QueueResets, Is.EqualTo(2));
        Assert.That(engine.DeviceResets, Is.EqualTo(1));
        Assert.That(engine.LastDeviceReset, Does.Contain("needed 2 resets"));
        foreach (var r in reads)
        {
            Assert.That(engine.RunUntil(() => r.IsCompleted, 100_000), Is.True);
        }
        engine.Wait(dev.ReadAsync(64, buf.Memory));
    }

    [Test]
    public void EscalationCanBeTurnedOff()
    {
        using var engine = ManualEngine.Start(tweak: o => o with { RecoverWithDeviceReset = false, QueueResetsBeforeDeviceReset = 1 });
        var dev = engine.Device;
        using var buf = dev.Rent(4096);
        for (int round = 0; round < 3; round++)
        {
            var read = dev.ReadAsync(0, buf.Memory);
            engine.Reactors[0].RunOnce();
            UsedRingForgery.ForgeUsed(engine.Pairs[0].Ring, 300);
            engine.PollOnce();
            engine.Wait(read);
        }
        Assert.That(engine.DeviceResets, Is.Zero);
        Assert.That(engine.Pairs[0].Counters.QueueResets, Is.EqualTo(3));
    }

    [Test]
    public void ADeviceThatComesBackAsAnotherDiskFailsEveryRequestClearly()
    {
        using var engine = ConfigPatchingTransport.Start(c => c with { Capacity = c.Capacity * 2 }, afterResets: 1);
        var dev = engine.Device;
        using var buf = dev.Rent(4096);
        var read = dev.ReadAsync(0, buf.Memory);
        engine.Reactors[0].RunOnce();
        var e = Assert.Throws<IOException>(() => engine.ResetDevice());
        Assert.That(e!.Message, Does.Contain("different disk"));
        Assert.That(engine.DeviceFailure, Does.Contain("different disk"));
        Assert.That(engine.RunUntil(() => read.IsCompleted, 1000), Is.True);
        var failed = Assert.Throws<BlockDeviceException>(() => read.GetAwaiter().GetResult());
        Assert.That(failed!.Status, Is.EqualTo(IoStatus.TransportLost));
        var later = dev.ReadAsync(8, buf.Memory);
        Assert.That(engine.RunUntil(() => later.IsCompleted, 1000), Is.True, "later requests fail at once, never hang");
    }

    [Test]
    public void ADeviceThatComesBackWithFewerFeaturesIsRefused()
    {
        using var engine = ConfigPatchingTransport.Start(c => c, afterResets: 1, without: Virtio.VirtioFeatures.BlkFlush);
        var e = Assert.Throws<IOException>(() => engine.ResetDevice());
        Assert.That(e!.Message, Does.Contain("features"));
    }

    [Test]
    public void AResetFromAReactorThreadIsRefused()
    {
        using var engine = PmdEngine.Start(new EngineOptions { Device = "mem:16M", Pin = false, BufferMemoryBytes = 8 << 20 });
        Exception? seen = null;
        using var done = new ManualResetEventSlim();
        engine.Reactors[0].Post(_ =>
        {
            try { engine.ResetDevice(); }
            catch (Exception e) { seen = e; }
            finally { done.Set(); }
        }, null);
        Assert.That(done.Wait(TimeSpan.FromSeconds(10)), Is.True);
        Assert.That(seen, Is.TypeOf<InvalidOperationException>());
        Assert.That(seen!.Message, Does.Contain("reactor"));
    }

    [Test]
    public void BadEscalationOptionsAreRefused()
    {
        Assert.That(() => PmdEngine.Start(new EngineOptions { Device = "mem:16M", QueueResetsBeforeDeviceReset = 0 }),
            Throws.ArgumentException.With.Message.Contains("QueueResetsBeforeDeviceReset = 0"));
        Assert.That(() => PmdEngine.Start(new EngineOptions { Device = "mem:16M", MaxDeviceResetsWithoutProgress = 0 }),
            Throws.ArgumentException.With.Message.Contains("MaxDeviceResetsWithoutProgress = 0"));
    }
}
