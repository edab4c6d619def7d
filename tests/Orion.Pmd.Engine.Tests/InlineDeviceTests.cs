using Orion.Pmd.Device;
using Orion.Pmd.Engine.Transport;
using Orion.Pmd.Linux;
using Orion.Pmd.Reactors;

namespace Orion.Pmd.Engine.Tests;

/// <summary>
/// A file device served on the reactors (no device thread): where it runs by default, verified data from many callers,
/// a reactor that sleeps with requests in the kernel is woken by their completion (not by its park timeout), and a
/// device reset with requests in the kernel loses nothing.
/// </summary>
public class InlineDeviceTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp()
    {
        if (!IoUring.TryCreate(4, out var probe, out string? why)) Assert.Ignore($"io_uring is not available here: {why}");
        probe!.Dispose();
        _dir = Path.Combine("/var/tmp", $"orion-inline-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown()
    {
        if (_dir is not null && Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private EngineOptions Options(string extra = ",direct", NotificationMode notifications = NotificationMode.Polled, bool? onReactors = null, int queues = 1) => new()
    {
        Device = $"file:{Path.Combine(_dir, "disk.img")},size=16M{extra}",
        Queues = queues,
        QueueSize = 64,
        Pin = false,
        Notifications = notifications,
        DeviceOnReactors = onReactors,
        BufferMemoryBytes = 16 << 20,
    };

    private static SoftBlkDevice DeviceOf(PmdEngine engine) => ((EmbeddedTransport)engine.Transport).Device;

    [Test]
    public void AFileDeviceThroughIoUringRunsOnTheReactors_OtherDevicesAndTheOptionKeepDeviceThreads()
    {
        using (var engine = PmdEngine.Start(Options()))
            Assert.That(DeviceOf(engine).Options.Mode, Is.EqualTo(DeviceServiceMode.Manual), "no device thread: the reactor serves the queue");
        using (var engine = PmdEngine.Start(Options(onReactors: false)))
            Assert.That(DeviceOf(engine).Options.Mode, Is.Not.EqualTo(DeviceServiceMode.Manual));
        using (var engine = PmdEngine.Start(Options(extra: ",direct,io=sync")))
            Assert.That(DeviceOf(engine).Options.Mode, Is.Not.EqualTo(DeviceServiceMode.Manual), "synchronous file I/O would stall the reactor");
        using (var engine = PmdEngine.Start(new EngineOptions { Device = "mem:16M", Pin = false, BufferMemoryBytes = 16 << 20 }))
            Assert.That(DeviceOf(engine).Options.Mode, Is.Not.EqualTo(DeviceServiceMode.Manual));
    }

    [Test]
    public void NotificationsAuto_IsHybridForAFileOnTheReactors_PolledOtherwise()
    {
        Assert.That(new EngineOptions().Notifications, Is.EqualTo(NotificationMode.Auto), "the default");
        var auto = Options() with { Notifications = NotificationMode.Auto };
        using (var engine = PmdEngine.Start(auto))
            Assert.That(engine.Reactors[0].IdlePolicy, Is.EqualTo(Orion.Pmd.Reactors.IdlePolicy.Hybrid));
        using (var engine = PmdEngine.Start(auto with { DeviceOnReactors = false }))
            Assert.That(engine.Reactors[0].IdlePolicy, Is.Not.EqualTo(Orion.Pmd.Reactors.IdlePolicy.Hybrid), "device threads: nothing of the reactor's own waits in the kernel");
        using (var engine = PmdEngine.Start(new EngineOptions { Device = "mem:16M", Pin = false, BufferMemoryBytes = 16 << 20 }))
            Assert.That(engine.Reactors[0].IdlePolicy, Is.Not.EqualTo(Orion.Pmd.Reactors.IdlePolicy.Hybrid));
    }

    [TestCase(NotificationMode.Polled, 1)]
    [TestCase(NotificationMode.Adaptive, 1)]
    [TestCase(NotificationMode.Interrupt, 2)]
    [TestCase(NotificationMode.Hybrid, 1)]
    [TestCase(NotificationMode.Hybrid, 2)]
    [CancelAfter(60_000)]
    public async Task ManyCallersWriteAndReadBackTheirData(NotificationMode mode, int queues)
    {
        using var engine = PmdEngine.Start(Options(notifications: mode, queues: queues));
        var dev = engine.Device;
        const int Tasks = 8, PerTask = 64;
        await Task.WhenAll(Enumerable.Range(0, Tasks).Select(t => Task.Run(async () =>
        {
            using var buf = dev.Rent(4096);
            for (int i = 0; i < PerTask; i++)
            {
                buf.Span.Fill((byte)(t * 31 + i));
                await dev.WriteAsync((t * PerTask + i) * 8L, buf.Memory);
            }
        })));
        await dev.FlushAsync();
        await Task.WhenAll(Enumerable.Range(0, Tasks).Select(t => Task.Run(async () =>
        {
            using var buf = dev.Rent(4096);
            for (int i = 0; i < PerTask; i++)
            {
                await dev.ReadAsync((t * PerTask + i) * 8L, buf.Memory);
                Assert.That(buf.Span.IndexOfAnyExcept((byte)(t * 31 + i)), Is.EqualTo(-1), $"task {t} request {i}");
            }
        })));
        Assert.That(Enumerable.Range(0, queues).Sum(q => dev.GetQueue(q).Counters.Requests), Is.GreaterThanOrEqualTo(2 * Tasks * PerTask));
    }

    /// <summary>
    /// 100 reads, one at a time, of a disk full of real data (a read of a hole would complete inside the submission and
    /// never leave the reactor waiting), on an engine in <paramref name="mode"/>; the reactor's counters across them.
    /// </summary>
    private async Task<(PmdEngine Engine, ReactorStats Before, ReactorStats After)> HundredReadsOfRealData(NotificationMode mode, int seed)
    {
        var block = new byte[1 << 20];
        new Random(seed).NextBytes(block);
        using (var f = File.Create(Path.Combine(_dir, "disk.img")))
            for (int i = 0; i < 16; i++) f.Write(block);
        var engine = PmdEngine.Start(Options(notifications: mode));
        using var buf = engine.Device.Rent(4096);
        var before = engine.Reactors[0].GetStats();
        for (int i = 0; i < 100; i++) await engine.Device.ReadAsync(i * 64L, buf.Memory);
        return (engine, before, engine.Reactors[0].GetStats());
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AReactorAsleepWithRequestsInTheKernel_IsWokenByTheirCompletion()
    {
        const int Reads = 100;
        var (engine, before, after) = await HundredReadsOfRealData(NotificationMode.Interrupt, seed: 3);
        using var owned = engine;
        Assert.That(after.Wakeups - before.Wakeups, Is.GreaterThanOrEqualTo(Reads + Reads / 2),
            "interrupt mode: the reactor sleeps while the disk works, and the completion wakes it (as well as each submission)");
        // Without the completion eventfd every read would end with a 100 ms park timeout.
        Assert.That(after.ParkTimeouts - before.ParkTimeouts, Is.LessThan(Reads / 10), "the completion woke the reactor, not its park timeout");
        // With only the read in the kernel it sleeps inside the queue's io_uring (submit and wait in one call).
        Assert.That(after.KernelParks - before.KernelParks, Is.GreaterThanOrEqualTo(Reads / 2), "the reactor slept in poll(2) instead of inside the ring");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AHybridReactor_SleepsWhileTheDiskWorks()
    {
        const int Reads = 100;
        var (engine, before, after) = await HundredReadsOfRealData(NotificationMode.Hybrid, seed: 5);
        using var owned = engine;
        Assert.That(engine.Reactors[0].IdlePolicy, Is.EqualTo(Orion.Pmd.Reactors.IdlePolicy.Hybrid));
        // Every read leaves the reactor with nothing to do but wait for the disk: it sleeps, and the completion wakes it.
        Assert.That(after.Parks - before.Parks, Is.GreaterThanOrEqualTo(Reads / 2), "the reactor spun through the disk's work instead of sleeping");
        Assert.That(after.ParkTimeouts - before.ParkTimeouts, Is.LessThan(Reads / 10), "the completion woke the reactor, not its park timeout");
    }

    /// <summary>
    /// A durable write on a file sends its flush beside the write (drained behind it in the device's io_uring): each
    /// pair completes promptly whoever serves the queue and however the reactor waits, and the data is in the file.
    /// </summary>
    [TestCase(NotificationMode.Hybrid, true)]
    [TestCase(NotificationMode.Polled, true)]
    [TestCase(NotificationMode.Polled, false)]
    [CancelAfter(60_000)]
    public async Task DurableWritesOnAFile_CompleteAndLandInIt(NotificationMode notifications, bool onReactors)
    {
        using var engine = PmdEngine.Start(Options(notifications: notifications, onReactors: onReactors));
        var dev = engine.Device;
        using var buf = dev.Rent(4096);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < 50; i++)
        {
            buf.Span.Fill((byte)(i + 1));
            var pending = dev.WriteDurableAsync(i * 8L, buf.Memory).AsTask();
            Assert.That(await Task.WhenAny(pending, Task.Delay(10_000)), Is.SameAs(pending), $"durable write {i} did not complete within 10 s");
            await pending;
        }
        Assert.That(DeviceOf(engine).GetQueueIoCounters(0)!.Value.OrderedFlushes, Is.GreaterThan(0), "flushes went drained behind their writes");
        engine.Dispose();
        var file = File.ReadAllBytes(Path.Combine(_dir, "disk.img"));
        for (int i = 0; i < 50; i++) Assert.That(file[i * 4096], Is.EqualTo((byte)(i + 1)), $"block {i * 8}");
        TestContext.Out.WriteLine($"50 durable writes in {clock.ElapsedMilliseconds} ms");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task DeviceResetsWithRequestsInTheKernel_LoseNothing()
    {
        using var engine = PmdEngine.Start(Options());
        var dev = engine.Device;
        const int Tasks = 4, PerTask = 200;
        using var stop = new CancellationTokenSource();
        var resets = Task.Run(async () =>
        {
            int n = 0;
            while (!stop.IsCancellationRequested && n < 5)
            {
                await Task.Delay(20);
                await engine.ResetDeviceAsync();
                n++;
            }
            return n;
        });
        await Task.WhenAll(Enumerable.Range(0, Tasks).Select(t => Task.Run(async () =>
        {
            using var buf = dev.Rent(16384);
            for (int i = 0; i < PerTask; i++)
            {
                long lba = (t * PerTask + i) * 32L;
                buf.Span.Fill((byte)(t * 17 + i + 1));
                await dev.WriteAsync(lba, buf.Memory);
                buf.Span.Clear();
                await dev.ReadAsync(lba, buf.Memory);
                Assert.That(buf.Span.IndexOfAnyExcept((byte)(t * 17 + i + 1)), Is.EqualTo(-1), $"task {t} request {i}");
            }
        })));
        stop.Cancel();
        Assert.That(await resets, Is.GreaterThan(0));
        Assert.That(engine.DeviceResets, Is.GreaterThan(0));
        Assert.That(DeviceOf(engine).InFlightBackendRequests, Is.Zero);
    }
}
