using Orion.Pmd.Engine.Tests.VhostUser.Support;
using Orion.Pmd.Engine.Transport.VhostUser;

namespace Orion.Pmd.Engine.Tests.VhostUser;

/// <summary>
/// The owner's write-cache mode outlives a back-end restart: orion-vhost and qemu-storage-daemon come back in their
/// default write-back mode, and a write-through engine that did not say so again would acknowledge writes as durable
/// that sit in a volatile cache.
/// </summary>
[NonParallelizable]
public class WriteCacheReconnectTests
{
    [Test]
    [CancelAfter(120_000)]
    public async Task WriteThroughIsRestoredAfterTheBackEndRestarts()
    {
        string dir = QemuStorageDaemon.NewDirectory();
        string image = Path.Combine(dir, "disk.img");
        using (var f = File.Create(image)) f.SetLength(8 << 20);
        using var imageDir = new TempDirectory(dir);
        using var daemon = OrionVhostProcess.Start($"file:{image}");
        using var engine = PmdEngine.Start(new EngineOptions
        {
            Device = daemon.DeviceString, Queues = 1, QueueSize = 64, Pin = false, BufferMemoryBytes = 8 << 20,
            VhostUser = new VhostUserOptions { ReconnectTimeout = TimeSpan.FromSeconds(30) },
        });
        var dev = engine.Device;
        Assert.That(dev.WriteCacheEnabled, Is.True, "orion-vhost starts write-back");
        dev.SetWriteCache(false);
        Assert.That(dev.WriteCacheEnabled, Is.False);

        daemon.Restart();                                             // SIGKILL, then a fresh process in its default mode
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (engine.Reconnects < 1 && sw.Elapsed < TimeSpan.FromSeconds(30)) await Task.Delay(10);
        Assert.That(engine.Reconnects, Is.EqualTo(1), "the engine reconnected");
        Assert.That(dev.WriteCacheEnabled, Is.False, "write-through again before any request went out");

        using var buffer = dev.Rent(4096);
        buffer.Span.Fill(0x3C);
        await dev.WriteAsync(0, buffer.Memory).AsTask().WaitAsync(TimeSpan.FromSeconds(20));
        Assert.That(File.ReadAllBytes(image).AsSpan(0, 4096).ToArray(), Is.All.EqualTo((byte)0x3C), "written through to the file");
    }

    [Test]
    [CancelAfter(60_000)]
    public void ABackEndThatIgnoresTheWriteCacheSwitchIsCaught()
    {
        // The check must read what the back-end reports: one that acknowledges SET_CONFIG and changes nothing leaves
        // writes in a volatile cache that the owner was told are durable.
        using var daemon = OrionVhostProcess.Start("mem:16M");
        using var proxy = new VhostUserProxy(daemon.SocketPath);
        using var engine = PmdEngine.Start(new EngineOptions { Device = proxy.DeviceString, Queues = 1, QueueSize = 64, Pin = false, BufferMemoryBytes = 8 << 20 });
        var dev = engine.Device;
        Assert.That(dev.WriteCacheEnabled, Is.True, "orion-vhost starts write-back");

        proxy.IgnoreSetConfig = true;
        var e = Assert.Throws<IOException>(() => dev.SetWriteCache(false));
        Assert.That(e!.Message, Does.Contain("did not accept write-cache mode writethrough"));
        Assert.That(dev.WriteCacheEnabled, Is.True, "the back-end still caches writes, and says so");

        proxy.IgnoreSetConfig = false;
        dev.SetWriteCache(false);
        Assert.That(dev.WriteCacheEnabled, Is.False, "a back-end that takes the write reports write-through");
    }
}
