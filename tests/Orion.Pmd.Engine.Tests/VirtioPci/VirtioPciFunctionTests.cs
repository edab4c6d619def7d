using Orion.Pmd.Engine.Transport.VirtioPci;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Engine.Tests.VirtioPci;

/// <summary>The virtio-pci driver logic (capability walk, handshake, features, queues, doorbells, resets) against a software model of the function.</summary>
public class VirtioPciFunctionTests
{
    private static VirtioPciModel Model(uint multiplier = 4) => new VirtioPciModel().WithStandardCapabilities(multiplier);

    [Test]
    public void TheCapabilityWalkFindsEveryStructure()
    {
        var caps = VirtioPciCapabilities.Read(Model(multiplier: 4));
        Assert.That(caps.Common, Is.EqualTo(new VirtioPciRegion(0, VirtioPciModel.CommonAt, 0x40)));
        Assert.That(caps.Notify, Is.EqualTo(new VirtioPciRegion(0, VirtioPciModel.NotifyAt, 0x1000)));
        Assert.That(caps.NotifyOffMultiplier, Is.EqualTo(4u));
        Assert.That(caps.Isr, Is.EqualTo(new VirtioPciRegion(0, VirtioPciModel.IsrAt, 1)));
        Assert.That(caps.Device, Is.EqualTo(new VirtioPciRegion(0, VirtioPciModel.DeviceAt, 0x40)));
    }

    [Test]
    public void OtherCapabilitiesAreSkippedAndTheFirstOfEachTypeWins()
    {
        var model = new VirtioPciModel().AddCap(0, 0, 0, 0, id: 0x11)     // an MSI-X capability first
            .WithStandardCapabilities()
            .AddCap(1, 0, 0x100, 0x40);                                      // a second common configuration
        Assert.That(VirtioPciCapabilities.Read(model).Common.Offset, Is.EqualTo(VirtioPciModel.CommonAt));
    }

    [Test]
    public void WhatIsNotAModernVirtioBlkFunctionIsRefusedWithTheReason()
    {
        Assert.That(() => VirtioPciCapabilities.Read(new VirtioPciModel(vendor: 0x8086, device: 0x100e).WithStandardCapabilities()),
            Throws.TypeOf<NotSupportedException>().With.Message.Contains("8086:100e, not a VirtIO device"));
        Assert.That(() => VirtioPciCapabilities.Read(new VirtioPciModel(device: 0x1041).WithStandardCapabilities()),
            Throws.TypeOf<NotSupportedException>().With.Message.Contains("not virtio-blk"));
        Assert.That(() => VirtioPciCapabilities.Read(new VirtioPciModel(device: 0x1001)),
            Throws.TypeOf<NotSupportedException>().With.Message.Contains("legacy-only").And.Message.Contains("disable-legacy=on"));
        Assert.That(VirtioPciCapabilities.Read(new VirtioPciModel(device: 0x1001).WithStandardCapabilities()).Common.Length, Is.EqualTo(0x40),
            "a transitional device with VirtIO 1.x capabilities is driven as a modern one");
    }

    [Test]
    public void AMalformedCapabilityListIsRefusedWithTheReason()
    {
        var loop = Model();
        loop.RawConfig[0x40 + 24 * 3 + 1] = 0x40;                           // the last capability points back at the first
        Assert.That(() => VirtioPciCapabilities.Read(loop), Throws.TypeOf<NotSupportedException>().With.Message.Contains("does not end"));

        var low = Model();
        low.RawConfig[0x34] = 0x20;                                          // inside the standard header
        Assert.That(() => VirtioPciCapabilities.Read(low), Throws.TypeOf<NotSupportedException>().With.Message.Contains("outside the standard configuration space"));

        var outside = new VirtioPciModel().AddCap(1, 0, VirtioPciModel.BarBytes - 0x20, 0x40).WithStandardCapabilities();
        Assert.That(() => VirtioPciCapabilities.Read(outside), Throws.TypeOf<NotSupportedException>().With.Message.Contains("a memory BAR must hold it"));

        var badBar = new VirtioPciModel().AddCap(1, 7, 0, 0x40);
        Assert.That(() => VirtioPciCapabilities.Read(badBar), Throws.TypeOf<NotSupportedException>().With.Message.Contains("BAR 7 (0-5 exist)"));

        var noNotify = new VirtioPciModel().AddCap(1, 0, VirtioPciModel.CommonAt, 0x40).AddCap(3, 0, VirtioPciModel.IsrAt, 1);
        Assert.That(() => VirtioPciCapabilities.Read(noNotify), Throws.TypeOf<NotSupportedException>().With.Message.Contains("no VirtIO notification (type 2)"));

        var shortCommon = new VirtioPciModel().AddCap(1, 0, VirtioPciModel.CommonAt, 0x20).AddCap(2, 0, VirtioPciModel.NotifyAt, 0x1000, 4).AddCap(3, 0, VirtioPciModel.IsrAt, 1);
        Assert.That(() => VirtioPciCapabilities.Read(shortCommon), Throws.TypeOf<NotSupportedException>().With.Message.Contains("common configuration is 32 bytes"));
    }

    [Test]
    public void FeaturesTravelAsTwo32BitHalves()
    {
        var model = Model();
        model.DeviceFeatures = (ulong)(VirtioFeatures.Version1 | VirtioFeatures.RingPacked) | 1UL << 9 | 1UL << 2;
        var f = new VirtioPciFunction(model);
        Assert.That(f.GetDeviceFeatures(), Is.EqualTo((VirtioFeatures)model.DeviceFeatures));
        f.SetDriverFeatures(VirtioFeatures.Version1 | (VirtioFeatures)(1UL << 9));
        Assert.That(model.DriverFeatures, Is.EqualTo((ulong)VirtioFeatures.Version1 | 1UL << 9));
    }

    [Test]
    public void ResetWaitsForTheDeviceAndABoundEndsTheWait()
    {
        var model = Model();
        model.ResetDelayReads = 5;
        var f = new VirtioPciFunction(model);
        f.SetStatus(DeviceStatus.Acknowledge | DeviceStatus.Driver);
        Assert.That(f.GetStatus(), Is.EqualTo(DeviceStatus.Acknowledge | DeviceStatus.Driver));
        f.SetStatus(DeviceStatus.Reset);
        Assert.That((model.Resets, f.GetStatus()), Is.EqualTo((1, DeviceStatus.Reset)));

        var stuck = Model();
        stuck.ResetDelayReads = int.MaxValue;
        var g = new VirtioPciFunction(stuck) { ResetTimeout = TimeSpan.FromMilliseconds(50) };
        Assert.That(() => g.Reset(), Throws.TypeOf<TimeoutException>().With.Message.Contains("device status to read 0"));
    }

    [Test]
    public void AQueueIsSetUpThroughTheCommonConfigurationAndItsDoorbellRingsAtItsNotifyOffset()
    {
        var model = Model(multiplier: 4);
        var f = new VirtioPciFunction(model);
        Assert.That((f.NumQueues, f.MaxQueueSize(1)), Is.EqualTo((2, 256)));
        var addresses = new SplitRingAddresses(0x40_0000_1000, 0x40_0000_2000, 0x1_0000_3000);
        f.SetupQueue(1, 128, addresses, msixVector: 2);
        var q = model.Queues[1];
        Assert.That((q.Size, q.Desc, q.Driver, q.Device, q.MsixVector, q.Enable), Is.EqualTo(((ushort)128, 0x40_0000_1000UL, 0x40_0000_2000UL, 0x1_0000_3000UL, (ushort)2, (ushort)1)));
        f.Notify(1);
        Assert.That(model.Doorbells, Is.EqualTo(new[] { ((long)VirtioPciModel.NotifyAt + 1 * 4, 2, 1UL) }), "notify.offset + notify_off x multiplier, a 16-bit write of the queue index");
        Assert.That(() => f.Notify(0), Throws.InvalidOperationException.With.Message.Contains("queue 0 of 0000:00:03.0 is not set up"));
    }

    [Test]
    public void WhatTheDeviceCannotTakeIsRefused()
    {
        var model = Model();
        var f = new VirtioPciFunction(model);
        var addresses = new SplitRingAddresses(0x1000, 0x2000, 0x3000);
        Assert.That(() => f.SetupQueue(0, 512, addresses), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("1 to 256 entries"));
        Assert.That(() => f.SetupQueue(2, 64, addresses), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("no queue 2 (it serves 2)"));
        model.MsixVectors = 1;
        Assert.That(() => f.SetupQueue(0, 64, addresses, msixVector: 1), Throws.TypeOf<IOException>().With.Message.Contains("refused MSI-X vector 1"));
        model.Queues[0].NotifyOff = 0x800;                                  // 0x800 x 4 = 8 KiB, past the 4 KiB area
        Assert.That(() => f.SetupQueue(0, 64, addresses), Throws.TypeOf<IOException>().With.Message.Contains("outside the 4096-byte notification area"));
    }

    [Test]
    public void PolledModeSetsNoVectorAndAZeroMultiplierSharesOneDoorbell()
    {
        var model = Model(multiplier: 0);
        var f = new VirtioPciFunction(model);
        f.SetupQueue(0, 64, new SplitRingAddresses(0x1000, 0x2000, 0x3000));
        f.SetupQueue(1, 64, new SplitRingAddresses(0x5000, 0x6000, 0x7000));
        Assert.That(model.Queues.Select(q => q.MsixVector), Is.All.EqualTo(VirtioPciCommonConfig.NoVector));
        f.Notify(0);
        f.Notify(1);
        Assert.That(model.Doorbells, Is.EqualTo(new[] { ((long)VirtioPciModel.NotifyAt, 2, 0UL), ((long)VirtioPciModel.NotifyAt, 2, 1UL) }));
    }

    [Test]
    public void TheDeviceConfigurationIsReadAgainWhileItsGenerationChanges()
    {
        var model = Model();
        model.DeviceConfig[0] = 0x00; model.DeviceConfig[1] = 0x20;          // capacity 0x2000 sectors
        model.GenerationBumps = 3;                                           // the first read sees a change
        var f = new VirtioPciFunction(model);
        var raw = new byte[f.ConfigSize];
        Assert.That(f.ReadConfig(0, raw), Is.EqualTo(0x40));
        Assert.That(BitConverter.ToUInt64(raw), Is.EqualTo(0x2000UL));

        model.GenerationBumps = int.MaxValue;
        Assert.That(() => f.ReadConfig(0, raw), Throws.TypeOf<IOException>().With.Message.Contains("kept changing"));
    }

    [Test]
    public void AQueueResetWaitsUntilTheDeviceShowsItDone()
    {
        var model = Model();
        var f = new VirtioPciFunction(model);
        f.SetupQueue(0, 64, new SplitRingAddresses(0x1000, 0x2000, 0x3000));
        f.ResetQueue(0);
        Assert.That((model.Queues[0].Resetting, model.Queues[0].Enable), Is.EqualTo((false, (ushort)0)));
        Assert.That(() => f.Notify(0), Throws.InvalidOperationException, "a reset queue has no doorbell until it is set up again");
    }
}
