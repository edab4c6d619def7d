using Orion.Pmd.Device.Backends;
using Orion.Pmd.Device.Tests.Support;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Device.Tests;

/// <summary>A read-only device (VIRTIO_BLK_F_RO) refuses everything that changes data with IOERR and still reads.</summary>
public class ReadOnlyDeviceTests
{
    private const long Capacity = 1 << 20;
    private static readonly byte[] Contents = Payload.Pattern((int)Capacity, seed: 4);

    private MemoryBackend _backend = null!;
    private MiniDriver _driver = null!;

    [SetUp]
    public void SetUp()
    {
        _backend = new MemoryBackend(Capacity);
        _backend.Write(0, Contents);
        _driver = MiniDriver.Start(_backend, new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Manual, ReadOnly = true });
    }

    [TearDown]
    public void TearDown()
    {
        _driver.Dispose();          // the device disposes its backend; disposing again is a no-op
        _backend.Dispose();
    }

    private bool Unchanged() => _backend.Peek(0, (int)Capacity).SequenceEqual(Contents);

    [Test]
    public void TheDriverSeesReadOnly()
        => Assert.That(_driver.Negotiated.HasFlag(VirtioFeatures.BlkReadOnly), Is.True);

    [Test]
    public void Write_IsIoError_AndChangesNothing()
    {
        var done = _driver.Write(0, new byte[4096]);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(done.BlkStatus, Is.EqualTo(BlkStatus.IoError));
            Assert.That(Unchanged(), Is.True);
        }
    }

    [TestCase(BlkRequestType.Discard)]
    [TestCase(BlkRequestType.WriteZeroes)]
    public void RangeCommands_AreIoError_AndChangeNothing(BlkRequestType type)
    {
        var done = _driver.Execute(new BlkRequestHeader(type, 0), Payload.Ranges(new BlkDiscardWriteZeroes(0, 16)));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(done.BlkStatus, Is.EqualTo(BlkStatus.IoError));
            Assert.That(Unchanged(), Is.True);
        }
    }

    [Test]
    public void Read_Works()
    {
        var done = _driver.Read(10, 4096);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(done.BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(done.Data, Is.EqualTo(Contents.AsSpan(10 * 512, 4096).ToArray()));
        }
    }

    [Test]
    public void FlushAndGetId_Work()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(_driver.Execute(new BlkRequestHeader(BlkRequestType.Flush, 0)).BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(_driver.Execute(new BlkRequestHeader(BlkRequestType.GetId, 0), inLength: 20).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        }
    }

    [Test]
    public void EvenADriverThatIgnoresReadOnly_CannotWrite()
    {
        using var backend = new MemoryBackend(Capacity);
        backend.Write(0, Contents);
        using var d = MiniDriver.Start(backend, new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Manual, ReadOnly = true },
            new MiniDriverOptions { Accept = ~VirtioFeatures.BlkReadOnly });
        using (Assert.EnterMultipleScope())
        {
            Assert.That(d.Negotiated.HasFlag(VirtioFeatures.BlkReadOnly), Is.False);
            Assert.That(d.Write(0, new byte[512]).BlkStatus, Is.EqualTo(BlkStatus.IoError));
            Assert.That(backend.Peek(0, 512).SequenceEqual(Contents.AsSpan(0, 512)), Is.True);
        }
    }
}
