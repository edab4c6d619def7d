namespace Orion.Pmd.Virtio.Tests;

/// <summary>Feature bits (VirtIO 1.1 §6, 1.2 §5.2.3) and negotiation (§3.1.1).</summary>
public class FeatureTests
{
    [TestCase(VirtioFeatures.BlkSizeMax, 1)]
    [TestCase(VirtioFeatures.BlkSegMax, 2)]
    [TestCase(VirtioFeatures.BlkGeometry, 4)]
    [TestCase(VirtioFeatures.BlkReadOnly, 5)]
    [TestCase(VirtioFeatures.BlkBlockSize, 6)]
    [TestCase(VirtioFeatures.BlkFlush, 9)]
    [TestCase(VirtioFeatures.BlkTopology, 10)]
    [TestCase(VirtioFeatures.BlkConfigWce, 11)]
    [TestCase(VirtioFeatures.BlkMultiQueue, 12)]
    [TestCase(VirtioFeatures.BlkDiscard, 13)]
    [TestCase(VirtioFeatures.BlkWriteZeroes, 14)]
    [TestCase(VirtioFeatures.BlkLifetime, 15)]
    [TestCase(VirtioFeatures.BlkSecureErase, 16)]
    [TestCase(VirtioFeatures.BlkZoned, 17)]
    [TestCase(VirtioFeatures.RingIndirectDesc, 28)]
    [TestCase(VirtioFeatures.RingEventIdx, 29)]
    [TestCase(VirtioFeatures.VhostUserProtocolFeatures, 30)]
    [TestCase(VirtioFeatures.Version1, 32)]
    [TestCase(VirtioFeatures.AccessPlatform, 33)]
    [TestCase(VirtioFeatures.RingPacked, 34)]
    [TestCase(VirtioFeatures.InOrder, 35)]
    [TestCase(VirtioFeatures.OrderPlatform, 36)]
    [TestCase(VirtioFeatures.SrIov, 37)]
    [TestCase(VirtioFeatures.NotificationData, 38)]
    [TestCase(VirtioFeatures.RingReset, 40)]
    public void FeatureBit_HasItsSpecNumber(VirtioFeatures feature, int bit)
        => Assert.That((ulong)feature, Is.EqualTo(1UL << bit));

    [Test]
    public void DeviceStatus_HasSpecValues()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That((byte)DeviceStatus.Acknowledge, Is.EqualTo(1));
            Assert.That((byte)DeviceStatus.Driver, Is.EqualTo(2));
            Assert.That((byte)DeviceStatus.DriverOk, Is.EqualTo(4));
            Assert.That((byte)DeviceStatus.FeaturesOk, Is.EqualTo(8));
            Assert.That((byte)DeviceStatus.DeviceNeedsReset, Is.EqualTo(64));
            Assert.That((byte)DeviceStatus.Failed, Is.EqualTo(128));
        }
    }

    [Test]
    public void Negotiate_AcceptsTheIntersection()
    {
        var offered = VirtioFeatures.Version1 | VirtioFeatures.RingIndirectDesc | VirtioFeatures.RingPacked | VirtioFeatures.BlkFlush | VirtioFeatures.BlkReadOnly;
        var wanted = VirtioFeatures.RingIndirectDesc | VirtioFeatures.RingEventIdx | VirtioFeatures.BlkFlush | VirtioFeatures.BlkMultiQueue;
        var result = FeatureNegotiation.Negotiate(offered, wanted, VirtioFeatures.Version1);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.Succeeded, Is.True);
            Assert.That(result.Accepted, Is.EqualTo(VirtioFeatures.Version1 | VirtioFeatures.RingIndirectDesc | VirtioFeatures.BlkFlush));
            Assert.That(result.MissingRequired, Is.EqualTo(VirtioFeatures.None));
            Assert.That(result.Has(VirtioFeatures.RingIndirectDesc), Is.True);
            Assert.That(result.Has(VirtioFeatures.RingEventIdx), Is.False, "wanted but not offered");
            Assert.That(result.Has(VirtioFeatures.RingPacked), Is.False, "offered but not wanted");
            Assert.That(result.Has(VirtioFeatures.BlkReadOnly), Is.False, "offered but not wanted");
        }
    }

    [Test]
    public void Negotiate_ReportsMissingRequiredFeatures()
    {
        var offered = VirtioFeatures.RingIndirectDesc | VirtioFeatures.BlkFlush;
        var required = VirtioFeatures.Version1 | VirtioFeatures.RingIndirectDesc | VirtioFeatures.RingEventIdx;
        var result = FeatureNegotiation.Negotiate(offered, VirtioFeatures.BlkFlush, required);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.Succeeded, Is.False);
            Assert.That(result.MissingRequired, Is.EqualTo(VirtioFeatures.Version1 | VirtioFeatures.RingEventIdx));
            Assert.That(result.Accepted, Is.EqualTo(VirtioFeatures.RingIndirectDesc | VirtioFeatures.BlkFlush), "never more than was offered");
            Assert.That(result.MissingRequired.Describe(), Does.Contain(nameof(VirtioFeatures.Version1)).And.Contain(nameof(VirtioFeatures.RingEventIdx)));
        }
    }

    [Test]
    public void Negotiate_WithNothingOffered_AcceptsNothing()
    {
        var result = FeatureNegotiation.Negotiate(VirtioFeatures.None, (VirtioFeatures)ulong.MaxValue, VirtioFeatures.None);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.Succeeded, Is.True);
            Assert.That(result.Accepted, Is.EqualTo(VirtioFeatures.None));
        }
    }

    [Test]
    public void Describe_NamesKnownBitsAndNumbersUnknownOnes()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(VirtioFeatures.None.Describe(), Is.EqualTo("none"));
            Assert.That((VirtioFeatures.Version1 | VirtioFeatures.BlkFlush).Describe(), Is.EqualTo("BlkFlush, Version1"));
            Assert.That(((VirtioFeatures)(1UL << 50)).Describe(), Is.EqualTo("bit 50"));
            Assert.That((VirtioFeatures.Version1 | VirtioFeatures.RingEventIdx).HasAll(VirtioFeatures.Version1), Is.True);
            Assert.That(VirtioFeatures.Version1.HasAll(VirtioFeatures.Version1 | VirtioFeatures.RingEventIdx), Is.False);
        }
    }
}
