using Orion.Pmd.Engine.Tests.VhostUser.Support;

namespace Orion.Pmd.Engine.Tests.VhostUser;

/// <summary>
/// The polled data path against an external back-end keeps the embedded path's structural promises: nothing
/// allocated per I/O after warm-up, at most one kick (the only syscall) per batch, and, against a back-end that
/// never polls (qemu-storage-daemon), a kick for every batch unless EVENT_IDX shows it is still working through the ring.
/// </summary>
[NonParallelizable]
public class VhostUserDataPathTests
{
    [TestCase(false, false)]
    [TestCase(true, false)]
    [TestCase(false, true)]
    [TestCase(true, true)]
    public void ClosedLoopAllocatesNothingAndKicksAtMostOncePerBatch(bool writes, bool eventIdx)
    {
        using var daemon = QemuStorageDaemon.StartNull(sizeBytes: 64 << 20);
        using var engine = PmdEngine.Start(new EngineOptions
        {
            Device = daemon.DeviceString,
            Threading = EngineThreading.Manual,
            QueueSize = 64,
            BufferMemoryBytes = 8 << 20,
            UseEventIdx = eventIdx,
        });
        var dev = engine.Device;
        var buffers = Enumerable.Range(0, 32).Select(_ => dev.Rent(4096)).ToArray();
        var loop = new ZeroAllocationTests.ClosedLoop(dev.GetQueue(0), buffers, dev.BlockCount) { Writes = writes };
        engine.Reactors[0].AddPoller(loop);

        while (loop.Completed < 3_000) engine.PollOnce();
        var before = dev.GetQueue(0).Counters;
        var windows = SteadyAllocation.OnThisThread(() =>
        {
            long start = loop.Completed;
            while (loop.Completed < start + 20_000) engine.PollOnce();
        });
        var delta = dev.GetQueue(0).Counters - before;

        Assert.That(loop.Failed, Is.Zero);
        SteadyAllocation.AssertSteady(windows, "20,000 I/Os against qemu-storage-daemon");
        Assert.That(delta.Kicks + delta.KicksSuppressed, Is.EqualTo(delta.Batches), "one doorbell decision per batch");
        if (eventIdx)
            Assert.That(delta.Kicks, Is.LessThanOrEqualTo(delta.Batches), "with EVENT_IDX, a kick only when the back-end has caught up and waits for one");
        else
            Assert.That(delta.Kicks, Is.EqualTo(delta.Batches), "without EVENT_IDX qemu-storage-daemon never sets NO_NOTIFY (it never polls): every batch is kicked");
        foreach (var b in buffers) b.Dispose();
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task AWritableExportOpenedReadOnlyRefusesWritesInTheEngine()
    {
        using var daemon = QemuStorageDaemon.StartNull(sizeBytes: 64 << 20);
        using var engine = PmdEngine.Start(new EngineOptions { Device = daemon.DeviceString + ",ro", Pin = false, BufferMemoryBytes = 8 << 20 });
        var dev = engine.Device;
        using var buf = dev.Rent(4096);
        Assert.That(dev.ReadOnly, Is.True);
        Assert.That(dev.Features.HasFlag(Virtio.VirtioFeatures.BlkReadOnly), Is.False, "the export itself is writable");
        await dev.ReadAsync(0, buf.Memory);
        var e = Assert.Throws<InvalidOperationException>(() => dev.WriteAsync(0, buf.Memory));
        Assert.That(e!.Message, Does.Contain("read-only").And.Contain(",ro"));
    }

    [TestCase(true)]
    [TestCase(false)]
    [CancelAfter(30_000)]
    public async Task MemoryGoesInSlotsWhenOfferedOrInOneTable(bool useSlots)
    {
        using var daemon = QemuStorageDaemon.StartNull(sizeBytes: 64 << 20);
        using var engine = PmdEngine.Start(new EngineOptions
        {
            Device = daemon.DeviceString,
            Pin = false,
            BufferMemoryBytes = 8 << 20,
            VhostUser = new Transport.VhostUser.VhostUserOptions { UseMemorySlots = useSlots },
        });
        var transport = (Transport.VhostUser.VhostUserTransport)engine.Transport;
        // qemu-storage-daemon 7.2 offers CONFIGURE_MEM_SLOTS with 32 slots (reference §4).
        Assert.That(transport.ProtocolFeatures.HasFlag(Virtio.VhostUser.VhostUserProtocolFeatures.ConfigureMemSlots), Is.EqualTo(useSlots));
        Assert.That(transport.MaxMemorySlots, Is.EqualTo(useSlots ? 32 : 0));
        var dev = engine.Device;
        using var buf = dev.Rent(4096);
        for (int i = 0; i < 64; i++) await dev.ReadAsync(i * 8, buf.Memory);
        Assert.That(engine.Reconnects, Is.Zero, daemon.Log);
    }
}
