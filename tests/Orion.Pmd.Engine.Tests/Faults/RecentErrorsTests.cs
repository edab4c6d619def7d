using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Engine.Tests.Faults;

/// <summary>The last failed requests are kept per queue for diagnosis: type, sector, size, status, time and why; newest first, 32 at most.</summary>
public class RecentErrorsTests
{
    [Test]
    public void FailedRequestsAreKeptNewestFirstWithWhatFailed()
    {
        using var engine = ManualEngine.Start("mem:16M,fault=ioerr:every=2:type=write");
        var dev = engine.Device;
        using var buf = dev.Rent(4096);
        var before = DateTime.UtcNow;
        for (int i = 0; i < 10; i++)
        {
            try { engine.Wait(dev.WriteAsync(i * 8, buf.Memory)); }
            catch (BlockDeviceException) { }
        }
        engine.Wait(dev.ReadAsync(0, buf.Memory));
        var errors = dev.GetQueue(0).RecentErrors;
        Assert.That(errors, Has.Count.EqualTo(5));
        Assert.That(errors.Select(e => e.Sector), Is.EqualTo(new ulong[] { 9 * 8, 7 * 8, 5 * 8, 3 * 8, 1 * 8 }), "every second write, newest first");
        Assert.That(errors, Has.All.Matches<IoErrorRecord>(e =>
            e.Type == BlkRequestType.Out && e.Status == IoStatus.IoError && e.Bytes == 4096 && e.Queue == 0 && e.TimeUtc >= before));
        Assert.That(dev.RecentErrors, Is.EqualTo(errors));
        Assert.That(dev.GetQueue(0).Counters.Errors, Is.EqualTo(5));
    }

    [Test]
    public void OnlyTheLast32AreKept()
    {
        using var engine = ManualEngine.Start("mem:16M,fault=ioerr:every=1:type=read");
        var dev = engine.Device;
        using var buf = dev.Rent(4096);
        for (int i = 0; i < 40; i++)
        {
            try { engine.Wait(dev.ReadAsync(i * 8, buf.Memory)); }
            catch (BlockDeviceException) { }
        }
        var errors = dev.GetQueue(0).RecentErrors;
        Assert.That(errors, Has.Count.EqualTo(32));
        Assert.That(errors[0].Sector, Is.EqualTo(39UL * 8), "the newest");
        Assert.That(errors[^1].Sector, Is.EqualTo(8UL * 8), "the oldest kept");
    }
}
