using Microsoft.Extensions.Logging;
using Orion.Pmd.Engine;
using Orion.Pmd.Engine.Audit;
using Orion.Pmd.Engine.Volumes;

namespace Orion.Pmd.Engine.Tests.Audit;

/// <summary>The audit log: one structured event per administrative action and per refusal, with stable ids and names.</summary>
[NonParallelizable]
public class EngineAuditTests
{
    private static PmdEngine Start(CapturingLoggerFactory log, string device = "mem:16M", int queues = 1)
        => ManualEngine.Start(device, queues, tweak: o => o with { LoggerFactory = log });

    [Test]
    [CancelAfter(30_000)]
    public void VolumeCreationAndRemovalAreAudited()
    {
        var log = new CapturingLoggerFactory();
        using var engine = Start(log);
        var dev = engine.Device;
        dev.CreateVolume("tenant-a", 128, 64, VolumeAccess.ReadOnly);
        dev.RemoveVolume("tenant-a");

        var created = log.Named(nameof(EngineAuditEvents.VolumeCreated)).Single();
        Assert.That(created.Id.Id, Is.EqualTo(EngineAuditEvents.VolumeCreated).And.EqualTo(1030));
        Assert.That(created.Category, Is.EqualTo(EngineAudit.CategoryName));
        Assert.That(created.Level, Is.EqualTo(LogLevel.Information));
        Assert.That(created.Fields["Volume"], Is.EqualTo("tenant-a"));
        Assert.That(created.Fields["FirstLba"], Is.EqualTo(128L));
        Assert.That(created.Fields["Blocks"], Is.EqualTo(64L));
        Assert.That(created.Fields["Access"], Is.EqualTo(VolumeAccess.ReadOnly));
        Assert.That(created.Fields["Device"], Is.EqualTo(dev.Description));
        Assert.That(created.Message, Does.Contain("tenant-a").And.Contain("128"));

        var removed = log.Named(nameof(EngineAuditEvents.VolumeRemoved)).Single();
        Assert.That(removed.Id.Id, Is.EqualTo(EngineAuditEvents.VolumeRemoved));
        Assert.That(removed.Fields["Volume"], Is.EqualTo("tenant-a"));
    }

    [Test]
    [CancelAfter(30_000)]
    public void RefusalsAreAuditedWithVolumeOperationAndRange()
    {
        var log = new CapturingLoggerFactory();
        using var engine = Start(log);
        var dev = engine.Device;
        var ro = dev.CreateVolume("reader", 0, 16, VolumeAccess.ReadOnly);
        var rw = dev.CreateVolume("writer", 16, 16, VolumeAccess.ReadWrite);

        Assert.That(() => ro.WriteAsync(2, new byte[3 * dev.BlockSize]), Throws.TypeOf<VolumeAccessDeniedException>());
        Assert.That(() => ro.DiscardAsync(5, 4), Throws.TypeOf<VolumeAccessDeniedException>());
        Assert.That(() => rw.ReadAsync(15, new byte[2 * dev.BlockSize]), Throws.InstanceOf<ArgumentOutOfRangeException>());

        var refused = log.Named(nameof(EngineAuditEvents.AccessRefused));
        Assert.That(refused, Has.Count.EqualTo(3));
        Assert.That(refused.All(e => e.Id.Id == EngineAuditEvents.AccessRefused && e.Level == LogLevel.Warning));
        Assert.That(refused[0].Fields["Volume"], Is.EqualTo("reader"));
        Assert.That(refused[0].Fields["Operation"], Is.EqualTo("write"));
        Assert.That(refused[0].Fields["Lba"], Is.EqualTo(2L));
        Assert.That(refused[0].Fields["Blocks"], Is.EqualTo(3L));
        Assert.That(refused[0].Fields["Reason"], Is.EqualTo("the volume is read-only"));
        Assert.That(refused[1].Fields["Operation"], Is.EqualTo("discard"));
        Assert.That(refused[1].Fields["Lba"], Is.EqualTo(5L));
        Assert.That(refused[1].Fields["Blocks"], Is.EqualTo(4L));
        Assert.That(refused[2].Fields["Volume"], Is.EqualTo("writer"));
        Assert.That(refused[2].Fields["Operation"], Is.EqualTo("read"));
        Assert.That(refused[2].Fields["Reason"], Is.EqualTo("outside the volume"));
    }

    [Test]
    [CancelAfter(30_000)]
    public void ReadOnlyDeviceRefusalIsAudited()
    {
        var log = new CapturingLoggerFactory();
        using var engine = Start(log, "mem:16M,ro");
        Assert.That(() => engine.Device.WriteAsync(7, new byte[engine.Device.BlockSize]), Throws.InvalidOperationException);
        var refused = log.Named(nameof(EngineAuditEvents.AccessRefused)).Single();
        Assert.That(refused.Fields["Volume"], Is.EqualTo(engine.Device.Description));
        Assert.That(refused.Fields["Lba"], Is.EqualTo(7L));
        Assert.That((string)refused.Fields["Reason"]!, Does.Contain("read-only"));
    }

    [Test]
    [CancelAfter(30_000)]
    public void QueueDisableEnableAndResetAreAudited()
    {
        var log = new CapturingLoggerFactory();
        using var engine = Start(log, queues: 2);
        var queue = engine.Device.GetQueue(1);
        queue.Disable();
        queue.Reset(TimeSpan.FromSeconds(10));
        queue.Enable();

        var events = log.Events.Where(e => e.Id.Id is >= 1010 and < 1020).ToList();
        Assert.That(events.Select(e => e.Id.Name), Is.EqualTo(new[]
        {
            nameof(EngineAuditEvents.QueueDisabled), nameof(EngineAuditEvents.QueueReset), nameof(EngineAuditEvents.QueueEnabled),
        }));
        Assert.That(events.Select(e => e.Id.Id), Is.EqualTo(new[] { EngineAuditEvents.QueueDisabled, EngineAuditEvents.QueueReset, EngineAuditEvents.QueueEnabled }));
        Assert.That(events.All(e => (int)e.Fields["Queue"]! == 1 && (string)e.Fields["Device"]! == engine.Device.Description));

        // The queue still works after the audited reset.
        engine.Wait(engine.Device.WriteAsync(0, new byte[engine.Device.BlockSize]));
    }

    [Test]
    public void EveryAuditMethodLogsItsOwnIdAndName()
    {
        var log = new CapturingLoggerFactory();
        var audit = new EngineAudit(log);
        Assert.That(audit.IsEnabled, Is.True);
        audit.DeviceAttached("mem:16M", "embedded", 32768, 512, 2);
        audit.DeviceDetached("mem:16M", "embedded");
        audit.FeaturesNegotiated("mem:16M", Virtio.VirtioFeatures.Version1 | Virtio.VirtioFeatures.BlkFlush, Virtio.VirtioFeatures.Version1);
        audit.DeviceReset("mem:16M", "engine stop");
        audit.DeviceRecovered("mem:16M", 1, TimeSpan.FromMilliseconds(3), 2, 5, 0);
        audit.DeviceFailed("mem:16M", "came back as a different disk");
        audit.QueueEnabled("mem:16M", 0);
        audit.QueueDisabled("mem:16M", 0);
        audit.QueueReset("mem:16M", 0);
        audit.BackendDisconnected("vhost-user:/s");
        audit.BackendReconnected("vhost-user:/s", 1, TimeSpan.FromMilliseconds(20));
        audit.BackendLost("vhost-user:/s", "gone");
        audit.VolumeCreated("mem:16M", "v", 0, 1, VolumeAccess.ReadWrite);
        audit.VolumeRemoved("mem:16M", "v", 0, 1);
        audit.AccessRefused("mem:16M", "v", "write", 0, 1, "the volume is read-only");

        var expected = typeof(EngineAuditEvents).GetFields().Select(f => (Id: (int)f.GetRawConstantValue()!, f.Name)).OrderBy(x => x.Id).ToList();
        var got = log.Events.Select(e => (e.Id.Id, e.Id.Name!)).OrderBy(x => x.Id).ToList();
        Assert.That(got, Is.EqualTo(expected));
        Assert.That(expected.Select(x => x.Id).Distinct().Count(), Is.EqualTo(expected.Count), "ids are unique");

        var negotiated = log.Named(nameof(EngineAuditEvents.FeaturesNegotiated)).Single();
        Assert.That(negotiated.Fields["Offered"], Is.EqualTo(Virtio.VirtioFeatures.Version1 | Virtio.VirtioFeatures.BlkFlush));
        Assert.That(negotiated.Fields["Accepted"], Is.EqualTo(Virtio.VirtioFeatures.Version1));
        Assert.That(negotiated.Fields["Declined"], Is.EqualTo(Virtio.VirtioFeatures.BlkFlush));

        Assert.That(EngineAudit.None.IsEnabled, Is.False);
        EngineAudit.None.VolumeCreated("d", "v", 0, 1, VolumeAccess.ReadOnly);     // a disabled log is harmless
    }
}
