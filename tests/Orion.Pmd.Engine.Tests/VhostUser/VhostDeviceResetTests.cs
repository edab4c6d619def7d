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
        using var stop = new CancellationTokenSource();
        long submitted = 0, mismatches = 0;
        var workers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            using var buf = dev.Rent(4096);
            for (int n = 0; !stop.IsCancellationRequested; n++)
            {
                long lba = (w * 64 + n % 64) * 8;
                byte tag = (byte)(n * 5 + w + 1);
                buf.Span.Fill(tag);
                Interlocked.Add(ref submitted, 2);
                await dev.WriteAsync(lba, buf.Memory);
                buf.Span.Clear();
                await dev.ReadAsync(lba, buf.Memory);
                if (buf.Span.ContainsAnyExcept(tag)) Interlocked.Increment(ref mismatches);
            }
        })).ToArray();
        for (int i = 0; i < 3; i++)
        {
            await Task.Delay(100);
            await engine.ResetDeviceAsync();
        }
        await Task.Delay(100);
        stop.Cancel();
        await Task.WhenAll(workers);
        long completed = Enumerable.Range(0, 2).Sum(q => dev.GetQueue(q).Counters.Requests);
        Assert.That(completed, Is.EqualTo(submitted), "every request completed exactly once: " + engine.LastDeviceReset);
        Assert.That(mismatches, Is.Zero);
        Assert.That(engine.DeviceResets, Is.EqualTo(3));
        Assert.That(engine.Reconnects, Is.Zero, "a reset is not a reconnect");
    }
}
