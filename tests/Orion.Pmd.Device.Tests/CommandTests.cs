using System.Text;
using Orion.Pmd.Device.Backends;
using Orion.Pmd.Device.Tests.Support;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Device.Tests;

/// <summary>FLUSH, GET_ID and request types the device does not implement (VirtIO 1.2 §5.2.6).</summary>
public class CommandTests
{
    private static MiniDriver Start(SoftBlkDeviceOptions? device = null, VirtioFeatures? accept = null)
        => MiniDriver.Start(new MemoryBackend(1 << 20), device ?? new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Manual },
            accept is { } a ? new MiniDriverOptions { Accept = a } : null);

    [Test]
    public void Flush_IsOk()
    {
        using var d = Start();
        var done = d.Execute(new BlkRequestHeader(BlkRequestType.Flush, 0));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(done.BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(done.UsedLength, Is.EqualTo(1u));
        }
    }

    [Test]
    public void Flush_WhenNotNegotiated_IsUnsupported()
    {
        using var d = Start(accept: ~VirtioFeatures.BlkFlush);
        Assert.That(d.Negotiated.HasFlag(VirtioFeatures.BlkFlush), Is.False);
        Assert.That(d.Execute(new BlkRequestHeader(BlkRequestType.Flush, 0)).BlkStatus, Is.EqualTo(BlkStatus.Unsupported));
    }

    [Test]
    public void Flush_WhenNotOffered_IsUnsupported()
    {
        using var d = Start(new SoftBlkDeviceOptions
        {
            Mode = DeviceServiceMode.Manual,
            OfferedFeatures = SoftBlkDeviceOptions.SupportedFeatures & ~VirtioFeatures.BlkFlush,
        });
        Assert.That(d.Execute(new BlkRequestHeader(BlkRequestType.Flush, 0)).BlkStatus, Is.EqualTo(BlkStatus.Unsupported));
    }

    [Test]
    public void GetId_ReturnsTheSerial_NulPadded()
    {
        using var d = Start(new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Manual, Serial = "disk-42" });
        var done = d.Execute(new BlkRequestHeader(BlkRequestType.GetId, 0), inLength: BlkConstants.IdBytes);
        var expected = new byte[BlkConstants.IdBytes];
        Encoding.ASCII.GetBytes("disk-42").CopyTo(expected, 0);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(done.BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(done.UsedLength, Is.EqualTo(21u));
            Assert.That(done.Data, Is.EqualTo(expected));
        }
    }

    [Test]
    public void GetId_DefaultSerial_AndALargerBufferGetsOnly20Bytes()
    {
        using var d = Start();
        var done = d.Execute(new BlkRequestHeader(BlkRequestType.GetId, 0), inLength: 64, framing: Framing.StatusWithData);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(done.BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(done.UsedLength, Is.EqualTo(21u));
            Assert.That(Encoding.ASCII.GetString(done.Data, 0, 20).TrimEnd('\0'), Is.EqualTo("orion-pmd-soft"));
            Assert.That(done.Data.AsSpan(14, 6).ToArray(), Is.All.Zero, "NUL padding");
            Assert.That(done.Data.AsSpan(20).ToArray(), Is.All.EqualTo((byte)0xEE), "bytes past the id are untouched");
        }
    }

    [Test]
    public void GetId_SerialLongerThan20Bytes_IsTruncated()
    {
        using var d = Start(new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Manual, Serial = "0123456789abcdefghijKLMNOP" });
        var done = d.Execute(new BlkRequestHeader(BlkRequestType.GetId, 0), inLength: BlkConstants.IdBytes);
        Assert.That(Encoding.ASCII.GetString(done.Data), Is.EqualTo("0123456789abcdefghij"));
    }

    [Test]
    public void GetId_IntoAShorterBuffer_FillsWhatFits()
    {
        using var d = Start();
        var done = d.Execute(new BlkRequestHeader(BlkRequestType.GetId, 0), inLength: 8);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(done.BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(done.UsedLength, Is.EqualTo(9u));
            Assert.That(Encoding.ASCII.GetString(done.Data), Is.EqualTo("orion-pm"));
        }
    }

    [TestCase(99u)]
    [TestCase((uint)BlkRequestType.GetLifetime)]
    [TestCase((uint)BlkRequestType.SecureErase)]
    [TestCase((uint)BlkRequestType.ZoneAppend)]
    [TestCase((uint)BlkRequestType.ZoneReport)]
    [TestCase(2u)]
    [TestCase(uint.MaxValue)]
    public void UnknownOrUnimplementedTypes_AreUnsupported(uint type)
    {
        using var d = Start();
        var done = d.Execute(new BlkRequestHeader((BlkRequestType)type, 0), Payload.Pattern(512), inLength: 512);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(done.BlkStatus, Is.EqualTo(BlkStatus.Unsupported));
            Assert.That(done.UsedLength, Is.EqualTo(1u));
            Assert.That(done.Data, Is.All.EqualTo((byte)0xEE), "no data written");
            Assert.That(((MemoryBackend)d.Device.Backend).Peek(0, 4096).ContainsAnyExcept((byte)0), Is.False);
        }
    }
}
