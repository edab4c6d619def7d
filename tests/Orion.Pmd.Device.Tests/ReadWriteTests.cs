using Orion.Pmd.Device.Backends;
using Orion.Pmd.Device.Tests.Support;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Device.Tests;

/// <summary>IN and OUT on the memory backend: data, used lengths, range and alignment checks (VirtIO 1.2 §5.2.6).</summary>
public class ReadWriteTests
{
    private const long Capacity = 1 << 20;              // 2048 sectors
    private const ulong LastSector = Capacity / 512 - 1;

    private MemoryBackend _backend = null!;
    private MiniDriver _driver = null!;

    [SetUp]
    public void SetUp()
    {
        _backend = new MemoryBackend(Capacity);
        _driver = MiniDriver.Start(_backend);
    }

    [TearDown]
    public void TearDown()
    {
        _driver.Dispose();          // the device disposes its backend; disposing again is a no-op
        _backend.Dispose();
    }

    private bool BackendIsAllZero() => !_backend.Peek(0, (int)Capacity).ContainsAnyExcept((byte)0);

    [TestCase(true, 0)]
    [TestCase(false, 0)]
    [TestCase(true, 1536)]
    [TestCase(false, 512)]
    public void WriteThenRead_RoundTrips(bool indirect, int segmentBytes)
    {
        var data = Payload.Pattern(8192, seed: 3);
        var write = _driver.Execute(new BlkRequestHeader(BlkRequestType.Out, 40), data, indirect: indirect, segmentBytes: segmentBytes);
        var read = _driver.Execute(new BlkRequestHeader(BlkRequestType.In, 40), inLength: data.Length, indirect: indirect, segmentBytes: segmentBytes);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(write.BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(write.UsedLength, Is.EqualTo(1u), "a write reports only its status byte");
            Assert.That(read.BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(read.UsedLength, Is.EqualTo((uint)data.Length + 1), "a read reports data + status");
            Assert.That(read.Data, Is.EqualTo(data));
            Assert.That(_backend.Peek(40 * 512, data.Length).ToArray(), Is.EqualTo(data), "the backend holds the bytes written");
            Assert.That(_backend.Peek(40 * 512 - 512, 512).ContainsAnyExcept((byte)0), Is.False, "nothing before the range");
            Assert.That(_backend.Peek(40 * 512 + data.Length, 512).ContainsAnyExcept((byte)0), Is.False, "nothing after the range");
        }
    }

    [Test]
    public void FirstAndLastSector_AreReachable()
    {
        var first = Payload.Pattern(512, seed: 1);
        var last = Payload.Pattern(512, seed: 2);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(_driver.Write(0, first).BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(_driver.Write(LastSector, last).BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(_driver.Read(0, 512).Data, Is.EqualTo(first));
            Assert.That(_driver.Read(LastSector, 512).Data, Is.EqualTo(last));
            Assert.That(_backend.Peek(Capacity - 512, 512).ToArray(), Is.EqualTo(last));
        }
    }

    [TestCase(LastSector + 1, 512)]
    [TestCase(LastSector, 1024)]                         // starts inside, ends past the end
    [TestCase(0UL, (int)Capacity + 512)]
    [TestCase(ulong.MaxValue / 512 + 1, 512)]            // sector * 512 overflows 64 bits
    [TestCase(ulong.MaxValue, 512)]
    [TestCase(1UL << 54, 512)]                           // sector * 512 = 2^63: past long.MaxValue
    public void OutOfRange_IsIoError_AndWritesNothing(ulong sector, int length)
    {
        var write = _driver.Execute(new BlkRequestHeader(BlkRequestType.Out, sector), Payload.Pattern(length));
        var read = _driver.Execute(new BlkRequestHeader(BlkRequestType.In, sector), inLength: length);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(write.BlkStatus, Is.EqualTo(BlkStatus.IoError));
            Assert.That(write.UsedLength, Is.EqualTo(1u));
            Assert.That(read.BlkStatus, Is.EqualTo(BlkStatus.IoError));
            Assert.That(read.UsedLength, Is.EqualTo(1u), "a failed read transferred no data");
            Assert.That(read.Data, Is.All.EqualTo((byte)0xEE), "the read buffer is untouched");
            Assert.That(BackendIsAllZero(), Is.True, "nothing was written");
        }
    }

    [TestCase(1)]
    [TestCase(511)]
    [TestCase(513)]
    [TestCase(4097)]
    public void LengthNotAMultipleOf512_IsIoError(int length)
    {
        var write = _driver.Execute(new BlkRequestHeader(BlkRequestType.Out, 0), Payload.Pattern(length));
        var read = _driver.Execute(new BlkRequestHeader(BlkRequestType.In, 0), inLength: length);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(write.BlkStatus, Is.EqualTo(BlkStatus.IoError));
            Assert.That(read.BlkStatus, Is.EqualTo(BlkStatus.IoError));
            Assert.That(read.UsedLength, Is.EqualTo(1u));
            Assert.That(BackendIsAllZero(), Is.True);
        }
    }

    [Test]
    public void ZeroLengthReadAndWrite_AreIoError()
    {
        var read = _driver.Execute(new BlkRequestHeader(BlkRequestType.In, 0), inLength: 0);
        var write = _driver.Execute(new BlkRequestHeader(BlkRequestType.Out, 0));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(read.BlkStatus, Is.EqualTo(BlkStatus.IoError));
            Assert.That(read.UsedLength, Is.EqualTo(1u));
            Assert.That(write.BlkStatus, Is.EqualTo(BlkStatus.IoError));
        }
    }

    [Test]
    public void ManyRequestsInOneBatch_AllLandWhereTheySaid()
    {
        var pending = new List<(Pending P, byte[] Data, ulong Sector)>();
        for (int i = 0; i < 32; i++)
        {
            var data = Payload.Pattern(1024, seed: i + 10);
            ulong sector = (ulong)(i * 7 % 64) * 2 + 100;   // distinct, out of order
            pending.Add((_driver.Add(0, new BlkRequestHeader(BlkRequestType.Out, sector), data), data, sector));
        }
        _driver.Publish(0);
        var done = _driver.WaitAll(pending.Select(x => x.P));
        Assert.That(done.Select(c => c.BlkStatus), Is.All.EqualTo(BlkStatus.Ok));
        using (Assert.EnterMultipleScope())
        {
            foreach (var (_, data, sector) in pending)
                Assert.That(_backend.Peek((long)sector * 512, 1024).ToArray(), Is.EqualTo(data), $"sector {sector}");
        }
    }
}

/// <summary>A 4096-byte logical block size: requests must be aligned to it even though sectors stay 512 bytes.</summary>
public class LogicalBlockSizeTests
{
    private MemoryBackend _backend = null!;
    private MiniDriver _driver = null!;

    [SetUp]
    public void SetUp()
    {
        _backend = new MemoryBackend(1 << 20);
        _driver = MiniDriver.Start(_backend, new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Manual, LogicalBlockSize = 4096 });
    }

    [TearDown]
    public void TearDown()
    {
        _driver.Dispose();          // the device disposes its backend; disposing again is a no-op
        _backend.Dispose();
    }

    [Test]
    public void AlignedRequests_Work()
    {
        var data = Payload.Pattern(8192);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(_driver.Write(8, data).BlkStatus, Is.EqualTo(BlkStatus.Ok), "sector 8 = byte 4096");
            Assert.That(_driver.Read(8, 8192).Data, Is.EqualTo(data));
            Assert.That(_backend.Peek(4096, 8192).ToArray(), Is.EqualTo(data));
        }
    }

    [TestCase(1UL, 4096)]        // 512-aligned start, not 4096-aligned
    [TestCase(4UL, 4096)]
    [TestCase(0UL, 512)]         // 512-aligned length, not 4096-aligned
    [TestCase(8UL, 4608)]
    public void Requests512AlignedButNot4096Aligned_AreIoError(ulong sector, int length)
    {
        var write = _driver.Execute(new BlkRequestHeader(BlkRequestType.Out, sector), Payload.Pattern(length));
        var read = _driver.Execute(new BlkRequestHeader(BlkRequestType.In, sector), inLength: length);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(write.BlkStatus, Is.EqualTo(BlkStatus.IoError));
            Assert.That(read.BlkStatus, Is.EqualTo(BlkStatus.IoError));
            Assert.That(_backend.Peek(0, 1 << 20).ContainsAnyExcept((byte)0), Is.False);
        }
    }
}
