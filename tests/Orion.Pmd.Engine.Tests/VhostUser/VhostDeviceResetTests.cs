using Orion.Pmd.Engine.Tests.Faults;
using Orion.Pmd.Engine.Tests.VhostUser.Support;

namespace Orion.Pmd.Engine.Tests.VhostUser;

/// <summary>
/// A device reset over vhost-user (GET_VRING_BASE on every queue, then the queues set up again on fresh rings, the
/// memory table kept) against both back-ends: verified I/O keeps going, nothing is lost or completed twice.
/// </summary>
[NonParallelizable]
public class VhostDeviceResetTests
{
    [TestCase("orion-vhost", RingFormat.Split)]
    [TestCase("orion-vhost", RingFormat.Packed)]
    [TestCase("qemu-storage-daemon", RingFormat.Split)]
    [CancelAfter(120_000)]
    public async Task ResetsUnderVerifiedIoLoseNothing(string backEnd, RingFormat ring)
    {
        if (backEnd == "orion-vhost") OrionVhostProcess.RequireBuilt();
        else QemuStorageDaemon.RequireInstalled();
        string dir = QemuStorageDaemon.NewDirectory();
        string image = Path.Combine(dir, "disk.img");
        using (var f = File.Create(image)) f.SetLength(8 << 20);
        using var imageDir = new TempDirectory(dir);
        using IBackEndProcess daemon = backEnd == "orion-vhost"
            ? OrionVhostProcess.Start($"file:{image}", queues: 2)
            : QemuStorageDaemon.StartFile(image, queues: 2);
        using var engine = PmdEngine.Start(new EngineOptions
        {
            Device = daemon.DeviceString, Queues = 2, QueueSize = 64, Pin = false, BufferMemoryBytes = 8 << 20, Ring = ring,
        });
        var dev = engine.Device;
        var traffic = VerifiedTraffic.Start(dev);
        for (int i = 0; i < 3; i++)
        {
            await Task.Delay(100);
            await engine.ResetDeviceAsync();
        }
        await Task.Delay(100);
        await traffic.StopAsync();
        long completed = Enumerable.Range(0, 2).Sum(q => dev.GetQueue(q).Counters.Requests);
        Assert.That(completed, Is.EqualTo(traffic.Submitted), "every request completed exactly once: " + engine.LastDeviceReset);
        Assert.That(traffic.Mismatches, Is.Zero);
        Assert.That(engine.DeviceResets, Is.EqualTo(3));
        Assert.That(engine.Reconnects, Is.Zero, "a reset is not a reconnect");
    }
}
