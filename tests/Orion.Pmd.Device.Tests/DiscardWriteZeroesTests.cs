using Orion.Pmd.Device.Backends;
using Orion.Pmd.Device.Tests.Support;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Device.Tests;

/// <summary>DISCARD and WRITE_ZEROES: ranges, flags, limits and negotiation (VirtIO 1.2 §5.2.6.2).</summary>
[TestFixture(BlkRequestType.Discard)]
[TestFixture(BlkRequestType.WriteZeroes)]
public class DiscardWriteZeroesTests(BlkRequestType type)
{
    private const long Capacity = 1 << 20;
    private static readonly byte[] Filled = Payload.Pattern((int)Capacity, seed: 9);

    private MemoryBackend _backend = null!;
    private MiniDriver _driver = null!;

    private VirtioFeatures Feature => type == BlkRequestType.Discard ? VirtioFeatures.BlkDiscard : VirtioFeatures.BlkWriteZeroes;

    [SetUp]
    public void SetUp()
    {
        _backend = new MemoryBackend(Capacity);
        _driver = MiniDriver.Start(_backend);
        Assert.That(_driver.Write(0, Filled).BlkStatus, Is.EqualTo(BlkStatus.Ok), "test setup: fill the device");
    }

    [TearDown]
    public void TearDown()
    {
        _driver.Dispose();          // the device disposes its backend; disposing again is a no-op
        _backend.Dispose();
    }

    private Completion Send(params BlkDiscardWriteZeroes[] ranges)
        => _driver.Execute(new BlkRequestHeader(type, 0), Payload.Ranges(ranges));

    private bool Unchanged() => _backend.Peek(0, (int)Capacity).SequenceEqual(Filled);

    private bool IsZero(long offset, int length) => !_backend.Peek(offset, length).ContainsAnyExcept((byte)0);

    private bool IsFilled(long offset, int length) => _backend.Peek(offset, length).SequenceEqual(Filled.AsSpan((int)offset, length));

    [Test]
    public void OneRange_ZeroesExactlyThatRange()
    {
        var done = Send(new BlkDiscardWriteZeroes(16, 8));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(done.BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(done.UsedLength, Is.EqualTo(1u));
            Assert.That(IsZero(16 * 512, 8 * 512), Is.True);
            Assert.That(IsFilled(0, 16 * 512), Is.True, "before the range");
            Assert.That(IsFilled(24 * 512, (int)Capacity - 24 * 512), Is.True, "after the range");
            Assert.That(_driver.Read(16, 4096).Data, Is.All.Zero, "reads see zeroes");
        }
    }

    [Test]
    public void SeveralRanges_AreAllApplied()
    {
        var done = Send(new BlkDiscardWriteZeroes(0, 1), new BlkDiscardWriteZeroes(100, 3), new BlkDiscardWriteZeroes(2047, 1));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(done.BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(IsZero(0, 512), Is.True);
            Assert.That(IsZero(100 * 512, 3 * 512), Is.True);
            Assert.That(IsZero(Capacity - 512, 512), Is.True, "the last sector");
            Assert.That(IsFilled(512, 99 * 512), Is.True);
        }
    }

    [Test]
    public void ARangeOverTheWholeDevice_Works()
    {
        Assert.That(Send(new BlkDiscardWriteZeroes(0, (uint)(Capacity / 512))).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        Assert.That(IsZero(0, (int)Capacity), Is.True);
    }

    [TestCase(2048UL, 1u)]
    [TestCase(2047UL, 2u)]
    [TestCase(ulong.MaxValue, 1u)]
    [TestCase(ulong.MaxValue / 512 + 1, 1u)]
    public void AnOutOfRangeRange_IsIoError_AndChangesNothing_EvenAfterAValidOne(ulong sector, uint count)
    {
        var done = Send(new BlkDiscardWriteZeroes(0, 8), new BlkDiscardWriteZeroes(sector, count));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(done.BlkStatus, Is.EqualTo(BlkStatus.IoError));
            Assert.That(Unchanged(), Is.True, "the valid first range was not applied either");
        }
    }

    [Test]
    public void UnmapFlag()
    {
        var done = Send(new BlkDiscardWriteZeroes(0, 8, BlkDiscardWriteZeroes.FlagUnmap));
        using (Assert.EnterMultipleScope())
        {
            if (type == BlkRequestType.Discard)
            {
                Assert.That(done.BlkStatus, Is.EqualTo(BlkStatus.Unsupported), "unmap is only defined for WRITE_ZEROES");
                Assert.That(Unchanged(), Is.True);
            }
            else
            {
                Assert.That(done.BlkStatus, Is.EqualTo(BlkStatus.Ok), "write-zeroes may unmap (write_zeroes_may_unmap = 1)");
                Assert.That(IsZero(0, 8 * 512), Is.True);
            }
        }
    }

    [TestCase(2u)]
    [TestCase(0x8000_0000u)]
    [TestCase(3u)]
    public void UnknownFlagBits_AreUnsupported_AndChangeNothing(uint flags)
    {
        var done = Send(new BlkDiscardWriteZeroes(0, 8), new BlkDiscardWriteZeroes(16, 8, flags));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(done.BlkStatus, Is.EqualTo(BlkStatus.Unsupported));
            Assert.That(Unchanged(), Is.True);
        }
    }

    [Test]
    public void MoreRangesThanTheSegmentLimit_IsIoError()
    {
        uint max = type == BlkRequestType.Discard ? _driver.Device.Settings.MaxDiscardSeg : _driver.Device.Settings.MaxWriteZeroesSeg;
        var ranges = Enumerable.Range(0, (int)max + 1).Select(i => new BlkDiscardWriteZeroes((ulong)i * 8, 1)).ToArray();
        var done = Send(ranges);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(done.BlkStatus, Is.EqualTo(BlkStatus.IoError));
            Assert.That(Unchanged(), Is.True);
            Assert.That(Send(ranges[..(int)max]).BlkStatus, Is.EqualTo(BlkStatus.Ok), "exactly the limit is fine");
        }
    }

    [TestCase(0)]
    [TestCase(8)]
    [TestCase(17)]
    public void APayloadThatIsNotWholeRanges_IsIoError(int bytes)
    {
        var payload = new byte[bytes];                     // a valid range, cut short or followed by a stray byte
        Payload.Ranges(new BlkDiscardWriteZeroes(0, 8)).AsSpan(0, Math.Min(bytes, 16)).CopyTo(payload);
        var done = _driver.Execute(new BlkRequestHeader(type, 0), payload);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(done.BlkStatus, Is.EqualTo(BlkStatus.IoError));
            Assert.That(Unchanged(), Is.True);
        }
    }

    [Test]
    public void RangesSplitOverSeveralDescriptors_AreGathered()
    {
        var payload = Payload.Ranges(new BlkDiscardWriteZeroes(4, 4), new BlkDiscardWriteZeroes(40, 2));
        var done = _driver.Execute(new BlkRequestHeader(type, 0), payload, framing: Framing.SplitHeader, segmentBytes: 5);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(done.BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(IsZero(4 * 512, 4 * 512), Is.True);
            Assert.That(IsZero(40 * 512, 2 * 512), Is.True);
            Assert.That(IsFilled(8 * 512, 32 * 512), Is.True);
        }
    }

    [Test]
    public void ARangeLongerThanTheSectorLimit_IsIoError_EvenInsideTheDevice()
    {
        // 4 GiB of null device, so a range over the 2^22-sector (2 GiB) limit still lies inside it.
        using var d = MiniDriver.Start(new NullBackend(4L << 30));
        uint max = type == BlkRequestType.Discard ? d.Device.Settings.MaxDiscardSectors : d.Device.Settings.MaxWriteZeroesSectors;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(d.Execute(new BlkRequestHeader(type, 0), Payload.Ranges(new BlkDiscardWriteZeroes(0, max + 1))).BlkStatus, Is.EqualTo(BlkStatus.IoError));
            Assert.That(d.Execute(new BlkRequestHeader(type, 0), Payload.Ranges(new BlkDiscardWriteZeroes(0, max))).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        }
    }

    [Test]
    public void NotNegotiated_IsUnsupported()
    {
        using var backend = new MemoryBackend(Capacity);
        using var d = MiniDriver.Start(backend, options: new MiniDriverOptions { Accept = ~Feature });
        Assert.That(d.Write(0, Payload.Pattern(4096)).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        var done = d.Execute(new BlkRequestHeader(type, 0), Payload.Ranges(new BlkDiscardWriteZeroes(0, 8)));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(done.BlkStatus, Is.EqualTo(BlkStatus.Unsupported));
            Assert.That(backend.Peek(0, 4096).ToArray(), Is.EqualTo(Payload.Pattern(4096)));
        }
    }

    [Test]
    public void With4096ByteBlocks_RangesMustBeBlockAligned()
    {
        using var backend = new MemoryBackend(Capacity);
        using var d = MiniDriver.Start(backend, new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Manual, LogicalBlockSize = 4096 });
        Assert.That(d.Write(0, Filled).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(d.Execute(new BlkRequestHeader(type, 0), Payload.Ranges(new BlkDiscardWriteZeroes(1, 8))).BlkStatus, Is.EqualTo(BlkStatus.IoError));
            Assert.That(d.Execute(new BlkRequestHeader(type, 0), Payload.Ranges(new BlkDiscardWriteZeroes(8, 4))).BlkStatus, Is.EqualTo(BlkStatus.IoError));
            Assert.That(backend.Peek(0, (int)Capacity).SequenceEqual(Filled), Is.True);
            Assert.That(d.Execute(new BlkRequestHeader(type, 0), Payload.Ranges(new BlkDiscardWriteZeroes(8, 8))).BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(backend.Peek(4096, 4096).ContainsAnyExcept((byte)0), Is.False);
        }
    }
}
