using Orion.Pmd.Device.Backends;
using Orion.Pmd.Device.Tests.Support;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Device.Tests;

/// <summary>
/// Whatever a request does on a device thread, it fails that request (or latches that queue), never the thread or the
/// process: a descriptor longer than the device's size_max (2 GiB and more once ended orion-vhost through an int cast)
/// and a backend that throws something other than an I/O error are each the request's IOERR; the device keeps serving.
/// </summary>
public class DeviceThreadFaultTests
{
    private const long TwoGiB = 1L << 31;

    /// <summary>A backend whose writes throw an unexpected exception (a bug, not a media error) while <see cref="Fail"/> is set.</summary>
    private sealed class BuggyBackend : IBlockBackend
    {
        public bool Fail = true;
        private readonly MemoryBackend _inner = new(1 << 20);
        public long Capacity => _inner.Capacity;
        public string Description => "buggy";
        public void Read(long offset, Span<byte> destination) => _inner.Read(offset, destination);
        public void Write(long offset, ReadOnlySpan<byte> source)
        {
            if (Fail) throw new InvalidOperationException("a bug in the backend");
            _inner.Write(offset, source);
        }
        public void Flush() { }
        public void Discard(long offset, long length) => _inner.Discard(offset, length);
        public void WriteZeroes(long offset, long length) => _inner.WriteZeroes(offset, length);
        public void Dispose() => _inner.Dispose();
    }

    [TestCase(BlkRequestType.Out, TestName = "ADataDescriptorOfTwoGibibytesIsIoErrNotACrash(write)")]
    [TestCase(BlkRequestType.In, TestName = "ADataDescriptorOfTwoGibibytesIsIoErrNotACrash(read)")]
    [CancelAfter(60_000)]
    public void ADataDescriptorOfTwoGibibytesIsIoErrNotACrash(BlkRequestType type)
    {
        // A sparse 2 GiB + 16 MiB region (nothing is touched), and a 4 GiB null disk, so the request is in range.
        using var driver = MiniDriver.Start(new NullBackend(4L << 30), new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Manual },
            new MiniDriverOptions { RegionBytes = TwoGiB + (16 << 20) });
        Assert.That(driver.Negotiated.HasFlag(VirtioFeatures.BlkSizeMax), Is.True, "the device offers size_max");
        ulong header = driver.Allocate(BlkRequestHeader.Size);
        System.Runtime.CompilerServices.Unsafe.WriteUnaligned(ref driver.Host(header, BlkRequestHeader.Size)[0], new BlkRequestHeader(type, 0));
        ulong status = driver.Allocate(1);
        driver.Host(status, 1)[0] = Payload.UntouchedStatus;
        ulong big = driver.GuestBase + (8 << 20);
        bool writable = type == BlkRequestType.In;
        int id = driver.AddRaw(0, [
            new BufferSegment(header, BlkRequestHeader.Size, false),
            new BufferSegment(big, (uint)TwoGiB, writable),
            new BufferSegment(status, 1, true),
        ], indirect: false);
        var pending = driver.Track(0, id, status, 0);
        driver.Publish(0);
        var done = driver.Wait(pending);
        Assert.That(done.BlkStatus, Is.EqualTo(BlkStatus.IoError), "a descriptor past size_max is refused");
        Assert.That(driver.Write(0, Payload.Pattern(4096)).BlkStatus, Is.EqualTo(BlkStatus.Ok), "the device still serves");
    }

    [Test]
    [CancelAfter(60_000)]
    public void AnUnexpectedBackendExceptionFailsTheRequestAndTheQueueKeepsServing()
    {
        var backend = new BuggyBackend();
        using var driver = MiniDriver.Start(backend, new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Manual });
        var data = Payload.Pattern(4096, seed: 3);
        Assert.That(driver.Write(8, data).BlkStatus, Is.EqualTo(BlkStatus.IoError));
        backend.Fail = false;
        Assert.That(driver.Write(8, data).BlkStatus, Is.EqualTo(BlkStatus.Ok), "the device still serves");
        Assert.That(driver.Read(8, 4096).Data, Is.EqualTo(data));
    }

    [Test]
    [CancelAfter(60_000)]
    public void AnUnexpectedBackendExceptionOnADeviceThreadDoesNotEndIt()
    {
        var backend = new BuggyBackend();
        using var driver = MiniDriver.Start(backend, new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Polled, YieldWhenIdle = true });
        var data = Payload.Pattern(4096, seed: 4);
        Assert.That(driver.Write(8, data).BlkStatus, Is.EqualTo(BlkStatus.IoError));
        backend.Fail = false;
        Assert.That(driver.Write(8, data).BlkStatus, Is.EqualTo(BlkStatus.Ok), "the device thread still serves");
    }
}
