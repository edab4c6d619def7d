using System.Buffers.Binary;
using Orion.Pmd.Device.Backends;
using Orion.Pmd.Device.Tests.Support;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Device.Tests;

/// <summary>Device initialization (VirtIO 1.1 §3.1), feature negotiation and the config space.</summary>
public class HandshakeTests
{
    private const DeviceStatus AckDriver = DeviceStatus.Acknowledge | DeviceStatus.Driver;

    private static SoftBlkDevice ManualDevice(long capacity = 1 << 20, SoftBlkDeviceOptions? options = null)
        => new(new MemoryBackend(capacity), options ?? new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Manual });

    private static void AckAndDriver(SoftBlkDevice device)
    {
        device.SetStatus(DeviceStatus.Reset);
        device.SetStatus(DeviceStatus.Acknowledge);
        device.SetStatus(AckDriver);
    }

    [TestCase(VirtioFeatures.BlkZoned)]
    [TestCase(VirtioFeatures.BlkReadOnly)]
    [TestCase(VirtioFeatures.BlkLifetime)]
    [TestCase(VirtioFeatures.BlkSecureErase)]
    public void FeaturesOk_IsRefused_WhenTheDriverAcceptsAFeatureThatWasNotOffered(VirtioFeatures unoffered)
    {
        using var device = ManualDevice();
        Assert.That(device.OfferedFeatures & unoffered, Is.EqualTo(VirtioFeatures.None), "test setup: the feature is not offered");
        AckAndDriver(device);
        device.SetDriverFeatures(VirtioFeatures.Version1 | unoffered);
        device.SetStatus(AckDriver | DeviceStatus.FeaturesOk);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(device.Status.HasFlag(DeviceStatus.FeaturesOk), Is.False, "FEATURES_OK must read back clear");
            Assert.That(device.Status, Is.EqualTo(AckDriver), "the other bits are kept");
        }
        // The driver may try again with an acceptable set.
        device.SetDriverFeatures(VirtioFeatures.Version1);
        device.SetStatus(AckDriver | DeviceStatus.FeaturesOk);
        Assert.That(device.Status.HasFlag(DeviceStatus.FeaturesOk), Is.True);
    }

    [Test]
    public void FeaturesOk_IsRefused_WithoutVersion1()
    {
        using var device = ManualDevice();
        AckAndDriver(device);
        device.SetDriverFeatures(device.OfferedFeatures & ~VirtioFeatures.Version1);
        device.SetStatus(AckDriver | DeviceStatus.FeaturesOk);
        Assert.That(device.Status.HasFlag(DeviceStatus.FeaturesOk), Is.False);
    }

    [Test]
    public void FeaturesOk_Sticks_ForAnOfferedSubsetWithVersion1_AndFreezesTheFeatures()
    {
        using var device = ManualDevice();
        AckAndDriver(device);
        var accepted = VirtioFeatures.Version1 | VirtioFeatures.BlkFlush;
        device.SetDriverFeatures(accepted);
        device.SetStatus(AckDriver | DeviceStatus.FeaturesOk);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(device.Status, Is.EqualTo(AckDriver | DeviceStatus.FeaturesOk));
            Assert.That(device.DriverFeatures, Is.EqualTo(accepted));
            Assert.That(() => device.SetDriverFeatures(device.OfferedFeatures), Throws.InvalidOperationException);
        }
    }

    [Test]
    public void DriverOk_BeforeFeaturesOk_Throws()
    {
        using var device = ManualDevice();
        AckAndDriver(device);
        device.SetDriverFeatures(VirtioFeatures.Version1);
        Assert.That(() => device.SetStatus(AckDriver | DeviceStatus.DriverOk), Throws.InvalidOperationException);
    }

    [Test]
    public void DriverOk_WrittenTogetherWithARefusedFeaturesOk_Throws()
    {
        using var device = ManualDevice();
        AckAndDriver(device);
        device.SetDriverFeatures(VirtioFeatures.BlkFlush);            // no VERSION_1: FEATURES_OK will be refused
        Assert.That(() => device.SetStatus(AckDriver | DeviceStatus.FeaturesOk | DeviceStatus.DriverOk), Throws.InvalidOperationException);
        Assert.That(device.Status.HasFlag(DeviceStatus.DriverOk), Is.False);
    }

    [Test]
    public void MiniDriver_Handshake_ReachesDriverOk_AndServes()
    {
        using var d = MiniDriver.Start(new MemoryBackend(1 << 20));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(d.Device.Status, Is.EqualTo(AckDriver | DeviceStatus.FeaturesOk | DeviceStatus.DriverOk));
            Assert.That(d.Device.DriverFeatures, Is.EqualTo(d.Device.OfferedFeatures & ~VirtioFeatures.RingPacked), "everything but the packed layout the mini driver does not build");
            Assert.That(d.Read(0, 512).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        }
    }

    [Test]
    public void SetupQueue_And_MemoryTable_AreRefusedWhileRunning()
    {
        using var d = MiniDriver.Start(new MemoryBackend(1 << 20));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(() => d.Device.SetupQueue(0, 64, d.RingAddresses(0)), Throws.InvalidOperationException);
            Assert.That(d.RegisterMemory, Throws.InvalidOperationException);
        }
    }

    [TestCase(-1, 64)]
    [TestCase(1, 64)]
    [TestCase(0, 48)]
    [TestCase(0, 0)]
    [TestCase(0, 2048)]
    public void SetupQueue_RejectsABadIndexOrSize(int index, int size)
    {
        using var device = ManualDevice();
        Assert.That(() => device.SetupQueue(index, size, default), Throws.TypeOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void WritingStatusZero_Resets_AndForgetsTheQueues()
    {
        using var d = MiniDriver.Start(new MemoryBackend(1 << 20));
        Assert.That(d.Write(0, Payload.Pattern(512)).BlkStatus, Is.EqualTo(BlkStatus.Ok));

        d.Device.SetStatus(DeviceStatus.Reset);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(d.Device.Status, Is.EqualTo(DeviceStatus.Reset));
            Assert.That(d.Device.DriverFeatures, Is.EqualTo(VirtioFeatures.None));
            Assert.That(d.Device.GetQueueStats(0), Is.EqualTo(default(DeviceQueueStats)), "queue counters are gone with the queue");
        }

        // Start again with memory but without setting the queue up: a request on the old ring is nobody's business.
        Assert.That(d.Negotiate(), Is.True);
        d.RegisterMemory();
        d.DriverOk();
        var p = d.Submit(0, new BlkRequestHeader(BlkRequestType.In, 0), inLength: 512);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(d.Device.Poll(), Is.Zero);
            Assert.That(d.Host(p.StatusGuest, 1)[0], Is.EqualTo(Payload.UntouchedStatus));
            Assert.That(d.Queues[0]!.HasPendingUsed, Is.False);
        }
    }

    [Test]
    public void WritingStatusZero_ForgetsTheMemoryTable()
    {
        using var d = MiniDriver.Start(new MemoryBackend(1 << 20));
        d.Device.SetStatus(DeviceStatus.Reset);

        // Set the queue up again but do not register memory: the rings now lie outside what the device can reach.
        Assert.That(d.Negotiate(), Is.True);
        d.CreateRings();
        d.SetupQueues();
        Assert.That(d.DriverOk, Throws.ArgumentException.With.Message.Contains("outside registered memory"));
    }

    [Test]
    public void Reset_ThenFullHandshake_ServesAgain()
    {
        using var d = MiniDriver.Start(new MemoryBackend(1 << 20));
        var data = Payload.Pattern(1024);
        Assert.That(d.Write(2, data).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        d.Device.SetStatus(DeviceStatus.Reset);
        d.Initialize();
        var read = d.Read(2, 1024);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(read.BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(read.Data, Is.EqualTo(data), "the backend keeps its data across a device reset");
        }
    }

    [Test]
    public void ConfigSpace_MatchesBlkConfig()
    {
        var options = new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Manual, LogicalBlockSize = 4096, SegMax = 77, NumQueues = 3 };
        using var device = ManualDevice(8 << 20, options);
        Span<byte> raw = stackalloc byte[BlkConfig.Size];
        Assert.That(device.ReadConfig(0, raw), Is.EqualTo(BlkConfig.Size));
        var parsed = BlkConfig.Parse(raw);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(device.ConfigSize, Is.EqualTo(BlkConfig.Size));
            Assert.That(parsed, Is.EqualTo(device.Settings));
            Assert.That(parsed.Capacity, Is.EqualTo((8UL << 20) / 512), "capacity is in 512-byte sectors whatever blk_size is");
            Assert.That(BinaryPrimitives.ReadUInt64LittleEndian(raw[BlkConfig.Offsets.Capacity..]), Is.EqualTo(16384UL));
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(raw[BlkConfig.Offsets.BlockSize..]), Is.EqualTo(4096u));
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(raw[BlkConfig.Offsets.SegMax..]), Is.EqualTo(77u));
            Assert.That(BinaryPrimitives.ReadUInt16LittleEndian(raw[BlkConfig.Offsets.NumQueues..]), Is.EqualTo((ushort)3));
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(raw[BlkConfig.Offsets.MaxDiscardSeg..]), Is.EqualTo(16u));
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(raw[BlkConfig.Offsets.DiscardSectorAlignment..]), Is.EqualTo(8u));
        }
    }

    [Test]
    public void ConfigSpace_ReadsAtAnOffset_AndFewerBytesPastTheEnd()
    {
        using var device = ManualDevice(1 << 20);
        var whole = new byte[BlkConfig.Size];
        device.ReadConfig(0, whole);

        var tail = new byte[16];
        var field = new byte[4];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(device.ReadConfig(BlkConfig.Offsets.BlockSize, field), Is.EqualTo(4));
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(field), Is.EqualTo(512u));
            Assert.That(device.ReadConfig(BlkConfig.Size - 6, tail), Is.EqualTo(6), "only what is left");
            Assert.That(tail.AsSpan(0, 6).ToArray(), Is.EqualTo(whole.AsSpan(BlkConfig.Size - 6).ToArray()));
            Assert.That(tail.AsSpan(6).ToArray(), Is.All.Zero, "nothing written past what was served");
            Assert.That(device.ReadConfig(BlkConfig.Size, tail), Is.Zero);
            Assert.That(device.ReadConfig(1000, tail), Is.Zero);
            Assert.That(device.ReadConfig(-1, tail), Is.Zero);
        }
    }

    [Test]
    public void OfferedFeatures_IncludeReadOnly_OnlyForReadOnlyDevices()
    {
        using var rw = ManualDevice();
        using var ro = ManualDevice(options: new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Manual, ReadOnly = true });
        using var roSubset = ManualDevice(options: new SoftBlkDeviceOptions
        {
            Mode = DeviceServiceMode.Manual, ReadOnly = true, OfferedFeatures = VirtioFeatures.Version1,
        });
        using (Assert.EnterMultipleScope())
        {
            Assert.That(rw.OfferedFeatures.HasFlag(VirtioFeatures.BlkReadOnly), Is.False);
            Assert.That(ro.OfferedFeatures.HasFlag(VirtioFeatures.BlkReadOnly), Is.True);
            Assert.That(roSubset.OfferedFeatures, Is.EqualTo(VirtioFeatures.Version1 | VirtioFeatures.BlkReadOnly), "a read-only device always says so");
            Assert.That(rw.OfferedFeatures, Is.EqualTo(SoftBlkDeviceOptions.SupportedFeatures & ~VirtioFeatures.BlkReadOnly));
        }
    }

    [Test]
    public void OfferedFeatures_AreTheRequestedSubset()
    {
        var subset = VirtioFeatures.Version1 | VirtioFeatures.BlkFlush | VirtioFeatures.RingEventIdx;
        using var device = ManualDevice(options: new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Manual, OfferedFeatures = subset | VirtioFeatures.BlkZoned });
        Assert.That(device.OfferedFeatures, Is.EqualTo(subset), "only the subset, and nothing the device does not implement");

        AckAndDriver(device);
        device.SetDriverFeatures(subset | VirtioFeatures.BlkDiscard);       // implemented, but not offered this time
        device.SetStatus(AckDriver | DeviceStatus.FeaturesOk);
        Assert.That(device.Status.HasFlag(DeviceStatus.FeaturesOk), Is.False);
    }

    [TestCase(1 << 20, 768)]
    [TestCase(1 << 20, 256)]
    [TestCase(1 << 20, 131072)]
    [TestCase((1 << 20) + 512, 4096)]
    public void Constructor_RejectsBadGeometry(long capacity, int blockSize)
    {
        Assert.That(() =>
        {
            using var backend = new NullBackend(capacity);
            using var device = new SoftBlkDevice(backend, new SoftBlkDeviceOptions { LogicalBlockSize = blockSize });
        }, Throws.ArgumentException);
    }

    [Test]
    public void Dispose_ResetsAndDisposesTheBackend_AndIsIdempotent()
    {
        var backend = new MemoryBackend(1 << 20);
        var driver = MiniDriver.Start(backend);
        var device = driver.Device;
        driver.Dispose();                                   // disposes the device it owns
        device.Dispose();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(device.Status, Is.EqualTo(DeviceStatus.Reset));
            Assert.That(() => backend.Peek(0, 1).Length, Throws.TypeOf<ObjectDisposedException>());
            Assert.That(() => device.SetStatus(DeviceStatus.Acknowledge), Throws.TypeOf<ObjectDisposedException>());
        }
    }

    [TestCase(0)]
    [TestCase(257)]
    public void Constructor_RejectsQueueCounts(int queues)
    {
        using var backend = new NullBackend(1 << 20);
        Assert.That(() => new SoftBlkDevice(backend, new SoftBlkDeviceOptions { NumQueues = queues }), Throws.ArgumentException);
    }

    [TestCase(0)]
    [TestCase(-1)]
    public void Constructor_RejectsABatchThatCouldNeverServe(int maxBatch)
    {
        using var backend = new NullBackend(1 << 20);
        Assert.That(() => new SoftBlkDevice(backend, new SoftBlkDeviceOptions { MaxBatch = maxBatch }), Throws.ArgumentException);
    }
}
