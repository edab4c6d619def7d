using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Engine.Tests.VhostUser.Support;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Engine.Tests.VhostUser;

/// <summary>
/// What qemu-storage-daemon itself answers to requests the API would refuse before sending (reference §4's table):
/// sent raw through <c>BlockDevice.SubmitUnchecked</c>, each comes back with the daemon's status — IOERR or UNSUPP —
/// as a <see cref="BlockDeviceException"/>, and the connection survives every one of them.
/// </summary>
[NonParallelizable]
public class QsdStatusTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task TheDaemonsOwnStatusesReachTheCallerAndTheConnectionSurvives()
    {
        QemuStorageDaemon.RequireInstalled();
        string dir = QemuStorageDaemon.NewDirectory();
        string image = QsdTestKit.CreateImage(dir, 16 << 20);
        using var imageDir = new TempDirectory(dir);
        using var daemon = QemuStorageDaemon.StartFile(image, logicalBlockSize: 4096);
        using var engine = PmdEngine.Start(QsdTestKit.Options(daemon.DeviceString));
        var dev = engine.Device;
        using var buf = dev.Rent(4096);
        ulong capacitySectors = (ulong)dev.CapacityBytes / 512;

        async Task<IoStatus> Status(ValueTask request)
        {
            try
            {
                await request;
                return IoStatus.Ok;
            }
            catch (BlockDeviceException e)
            {
                return e.Status;
            }
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await Status(dev.SubmitUnchecked(BlkRequestType.In, capacitySectors, buf.Memory)), Is.EqualTo(IoStatus.IoError), "read past the capacity");
            Assert.That(await Status(dev.SubmitUnchecked(BlkRequestType.In, 1, buf.Memory)), Is.EqualTo(IoStatus.IoError), "sector not aligned to the 4096-byte block");
            Assert.That(await Status(dev.SubmitUnchecked(BlkRequestType.Out, 1, buf.Memory)), Is.EqualTo(IoStatus.IoError), "misaligned write");
            Assert.That(await Status(dev.SubmitUnchecked(BlkRequestType.GetLifetime, 0, buf.Memory[..6])), Is.EqualTo(IoStatus.Unsupported), "GET_LIFETIME");
            Assert.That(await Status(dev.SubmitUnchecked(BlkRequestType.SecureErase, 0, default, new BlkDiscardWriteZeroes(0, 8, 0))), Is.EqualTo(IoStatus.Unsupported), "SECURE_ERASE");
            Assert.That(await Status(dev.SubmitUnchecked((BlkRequestType)99, 0)), Is.EqualTo(IoStatus.Unsupported), "an unknown type");
            Assert.That(await Status(dev.SubmitUnchecked(BlkRequestType.Discard, 0, default, new BlkDiscardWriteZeroes(0, 8, BlkDiscardWriteZeroes.FlagUnmap))),
                Is.EqualTo(IoStatus.Unsupported), "discard with UNMAP (VirtIO 1.2 §5.2.6.2)");
            // The same requests, well formed, still work: nothing above broke the connection.
            Assert.That(await Status(dev.SubmitUnchecked(BlkRequestType.In, 8, buf.Memory)), Is.EqualTo(IoStatus.Ok), "aligned read");
            Assert.That(await Status(dev.SubmitUnchecked(BlkRequestType.Discard, 0, default, new BlkDiscardWriteZeroes(0, 8, 0))), Is.EqualTo(IoStatus.Ok), "plain discard");
        }
        Assert.That(engine.Reconnects, Is.Zero, $"the connection dropped; daemon log: {daemon.Log}");
        Assert.That(daemon.IsRunning, Is.True);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AReadOnlyExportAnswersAWriteWithIoError()
    {
        QemuStorageDaemon.RequireInstalled();
        string dir = QemuStorageDaemon.NewDirectory();
        string image = QsdTestKit.CreateImage(dir, 16 << 20);
        using var imageDir = new TempDirectory(dir);
        var before = File.ReadAllBytes(image);
        using (var daemon = QemuStorageDaemon.StartFile(image, writable: false))
        using (var engine = PmdEngine.Start(QsdTestKit.Options(daemon.DeviceString)))
        {
            var dev = engine.Device;
            using var buf = dev.Rent(4096);
            buf.Span.Fill(0xEE);
            var e = await Assert.ThrowsAsync<BlockDeviceException>(async () => await dev.SubmitUnchecked(BlkRequestType.Out, 0, buf.Memory));
            Assert.That(e!.Status, Is.EqualTo(IoStatus.IoError));
            Assert.That(engine.Reconnects, Is.Zero);
        }
        Assert.That(File.ReadAllBytes(image), Is.EqualTo(before), "the image is untouched");
    }
}
