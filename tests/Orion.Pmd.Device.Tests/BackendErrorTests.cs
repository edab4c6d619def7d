using Orion.Pmd.Device.Backends;
using Orion.Pmd.Device.Tests.Support;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Device.Tests;

/// <summary>A backend that fails with an I/O error (EIO, ENOSPC, a file shrunk underneath) fails the request with IOERR; the device keeps serving.</summary>
public class BackendErrorTests
{
    private sealed class FailingBackend : IBlockBackend
    {
        public bool Fail = true;
        private readonly MemoryBackend _inner = new(1 << 20);
        public long Capacity => _inner.Capacity;
        public string Description => "failing";
        public void Read(long offset, Span<byte> destination)
        {
            if (Fail) throw new IOException("EIO reading the medium");
            _inner.Read(offset, destination);
        }
        public void Write(long offset, ReadOnlySpan<byte> source)
        {
            if (Fail) throw new Linux.LinuxException("pwrite(/x)", 28);
            _inner.Write(offset, source);
        }
        public void Flush() { if (Fail) throw new IOException("EIO on fdatasync"); }
        public void Discard(long offset, long length) { if (Fail) throw new EndOfStreamException("file shrunk"); }
        public void WriteZeroes(long offset, long length) => _inner.WriteZeroes(offset, length);
        public void Dispose() => _inner.Dispose();
    }

    [Test]
    public void IoErrorsBecomeIoErrStatusAndTheDeviceKeepsServing()
    {
        var backend = new FailingBackend();
        using var driver = MiniDriver.Start(backend, new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Manual });
        var data = Payload.Pattern(4096, seed: 5);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(driver.Execute(new BlkRequestHeader(BlkRequestType.Out, 8), data).BlkStatus, Is.EqualTo(BlkStatus.IoError));
            Assert.That(driver.Execute(new BlkRequestHeader(BlkRequestType.In, 8), inLength: 4096).BlkStatus, Is.EqualTo(BlkStatus.IoError));
            Assert.That(driver.Execute(new BlkRequestHeader(BlkRequestType.Flush, 0)).BlkStatus, Is.EqualTo(BlkStatus.IoError));
        }
        backend.Fail = false;
        Assert.That(driver.Execute(new BlkRequestHeader(BlkRequestType.Out, 8), data).BlkStatus, Is.EqualTo(BlkStatus.Ok), "the device still serves");
        var read = driver.Execute(new BlkRequestHeader(BlkRequestType.In, 8), inLength: 4096);
        Assert.That(read.Data, Is.EqualTo(data));
    }
}
