using Orion.Pmd.Device.Backends;
using Orion.Pmd.Device.Tests.Support;
using Orion.Pmd.Virtio.Blk;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Device.Tests;

/// <summary>
/// The device must not assume a framing (VirtIO 1.1 §2.6.4.1): header, data and status may be cut into descriptors
/// anywhere. And a chain too malformed to carry a status is counted, not executed.
/// </summary>
public class FramingTests
{
    private MemoryBackend _backend = null!;
    private MiniDriver _driver = null!;

    [SetUp]
    public void SetUp()
    {
        _backend = new MemoryBackend(1 << 20);
        _driver = MiniDriver.Start(_backend);
    }

    [TearDown]
    public void TearDown()
    {
        _driver.Dispose();          // the device disposes its backend; disposing again is a no-op
        _backend.Dispose();
    }

    [TestCase(Framing.SplitHeader, true)]
    [TestCase(Framing.SplitHeader, false)]
    [TestCase(Framing.StatusWithData, true)]
    [TestCase(Framing.StatusWithData, false)]
    [TestCase(Framing.SplitHeader | Framing.StatusWithData, true)]
    [TestCase(Framing.SplitHeader | Framing.StatusWithData, false)]
    public void OddFraming_ExecutesCorrectly(Framing framing, bool indirect)
    {
        var data = Payload.Pattern(2048, seed: 5);
        var write = _driver.Execute(new BlkRequestHeader(BlkRequestType.Out, 6), data, framing: framing, indirect: indirect);
        var read = _driver.Execute(new BlkRequestHeader(BlkRequestType.In, 6), inLength: data.Length, framing: framing, indirect: indirect);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(write.BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(_backend.Peek(6 * 512, data.Length).ToArray(), Is.EqualTo(data));
            Assert.That(read.BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(read.UsedLength, Is.EqualTo((uint)data.Length + 1));
            Assert.That(read.Data, Is.EqualTo(data), "the status byte did not overwrite data");
        }
    }

    [TestCase(8)]                   // 512 data descriptors
    [TestCase(100)]
    [TestCase(512)]
    [TestCase(1000)]
    public void DataScatteredOverManyDescriptors_WithStatusInTheLast(int segmentBytes)
    {
        var data = Payload.Pattern(4096, seed: 8);
        var write = _driver.Execute(new BlkRequestHeader(BlkRequestType.Out, 0), data, framing: Framing.SplitHeader, segmentBytes: segmentBytes);
        var read = _driver.Execute(new BlkRequestHeader(BlkRequestType.In, 0), inLength: data.Length, framing: Framing.StatusWithData, segmentBytes: segmentBytes);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(write.BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(read.BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(read.Data, Is.EqualTo(data));
            Assert.That(_backend.Peek(0, data.Length).ToArray(), Is.EqualTo(data));
        }
    }

    [Test]
    public void HeaderAndDataInOneReadableDescriptor()
    {
        var data = Payload.Pattern(512, seed: 12);
        ulong block = _driver.Allocate(16 + 512);
        System.Runtime.CompilerServices.Unsafe.WriteUnaligned(ref _driver.Host(block, 16)[0], new BlkRequestHeader(BlkRequestType.Out, 3));
        data.CopyTo(_driver.Host(block + 16, 512));
        ulong status = _driver.Allocate(1);
        _driver.Host(status, 1)[0] = Payload.UntouchedStatus;
        int id = _driver.AddRaw(0, [new BufferSegment(block, 16 + 512, false), new BufferSegment(status, 1, true)]);
        var p = _driver.Track(0, id, status, 0);
        _driver.Publish(0);
        var done = _driver.Wait(p);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(done.BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(_backend.Peek(3 * 512, 512).ToArray(), Is.EqualTo(data));
        }
    }

    [TestCase(true)]
    [TestCase(false)]
    public void AChainWithNoWritableByte_GetsUsedLengthZero_AndIsCountedMalformed(bool indirect)
    {
        ulong header = _driver.Allocate(16);
        System.Runtime.CompilerServices.Unsafe.WriteUnaligned(ref _driver.Host(header, 16)[0], new BlkRequestHeader(BlkRequestType.In, 0));
        int id = _driver.AddRaw(0, [new BufferSegment(header, 16, false)], indirect);
        _driver.Publish(0);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(_driver.TryPopRaw(0, out ushort doneId, out uint length), Is.True);
            Assert.That(doneId, Is.EqualTo(id));
            Assert.That(length, Is.Zero);
            Assert.That(_driver.Device.GetQueueStats(0).MalformedRequests, Is.EqualTo(1));
            Assert.That(_driver.Read(0, 512).BlkStatus, Is.EqualTo(BlkStatus.Ok), "the queue keeps working");
        }
    }

    [Test]
    public void AChainWhoseOnlyWritableDescriptorIsEmpty_IsMalformed()
    {
        ulong header = _driver.Allocate(16);
        System.Runtime.CompilerServices.Unsafe.WriteUnaligned(ref _driver.Host(header, 16)[0], new BlkRequestHeader(BlkRequestType.Flush, 0));
        ulong empty = _driver.Allocate(1);
        _driver.AddRaw(0, [new BufferSegment(header, 16, false), new BufferSegment(empty, 0, true)]);
        _driver.Publish(0);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(_driver.TryPopRaw(0, out _, out uint length), Is.True);
            Assert.That(length, Is.Zero);
            Assert.That(_driver.Device.GetQueueStats(0).MalformedRequests, Is.EqualTo(1));
        }
    }

    [TestCase(0)]
    [TestCase(15)]
    public void AShortHeader_IsIoError_WithTheStatusStillWritten(int headerBytes)
    {
        var segs = new List<BufferSegment>();
        if (headerBytes > 0)
        {
            ulong header = _driver.Allocate(headerBytes);
            _driver.Host(header, headerBytes).Clear();           // would be type IN, sector 0 if it were whole
            segs.Add(new BufferSegment(header, (uint)headerBytes, false));
        }
        ulong data = _driver.Allocate(513);
        _driver.Host(data, 513).Fill(0xEE);
        segs.Add(new BufferSegment(data, 513, true));
        int id = _driver.AddRaw(0, [.. segs]);
        var p = _driver.Track(0, id, data, 512);
        _driver.Publish(0);
        var done = _driver.Wait(p);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(done.BlkStatus, Is.EqualTo(BlkStatus.IoError));
            Assert.That(done.UsedLength, Is.EqualTo(1u));
            Assert.That(done.Data, Is.All.EqualTo((byte)0xEE));
            Assert.That(_driver.Device.GetQueueStats(0).MalformedRequests, Is.EqualTo(1));
        }
    }
}

/// <summary>The null backend completes everything without moving data.</summary>
public class NullBackendDeviceTests
{
    [Test]
    public void Read_IsOk_AndLeavesTheBufferAlone()
    {
        using var d = MiniDriver.Start(new NullBackend(1 << 30));
        var done = d.Execute(new BlkRequestHeader(BlkRequestType.In, 1000), inLength: 8192, inFill: 0x5C);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(done.BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(done.UsedLength, Is.EqualTo(8193u), "it still reports the data as transferred");
            Assert.That(done.Data, Is.All.EqualTo((byte)0x5C), "the pattern is intact");
        }
    }

    [Test]
    public void OtherTypes_AreOk_AndRangeChecksStillApply()
    {
        using var d = MiniDriver.Start(new NullBackend(1 << 20));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(d.Write(8, Payload.Pattern(4096)).BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(d.Execute(new BlkRequestHeader(BlkRequestType.Flush, 0)).BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(d.Execute(new BlkRequestHeader(BlkRequestType.Discard, 0), Payload.Ranges(new BlkDiscardWriteZeroes(0, 8))).BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(d.Execute(new BlkRequestHeader(BlkRequestType.WriteZeroes, 0), Payload.Ranges(new BlkDiscardWriteZeroes(0, 8))).BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(d.Read(2048, 512).BlkStatus, Is.EqualTo(BlkStatus.IoError), "one past the end");
            Assert.That(d.Device.Backend.Description, Is.EqualTo("null:1M"));
        }
    }
}
