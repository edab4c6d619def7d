using System.Diagnostics;
using Orion.Pmd.Engine.Tests.VhostUser.Support;
using Orion.Pmd.Engine.Transport.VhostUser;
using Orion.Pmd.Virtio;
using static Orion.Pmd.Engine.Tests.VhostUser.QsdTestKit;

namespace Orion.Pmd.Engine.Tests.VhostUser;

/// <summary>
/// Connecting to qemu-storage-daemon: what it cannot serve is refused at start with a clear exception (a packed ring,
/// more queues or longer rings than it has) and leaves the daemon serving the next client; a socket with nothing
/// behind it fails quickly and says so; the export serves one client at a time.
/// </summary>
[NonParallelizable]
public class QsdConnectionTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task APackedRingIsRefusedBecauseTheDaemonDoesNotOfferIt([Values] bool indirect)
    {
        using var daemon = QemuStorageDaemon.StartNull(sizeBytes: 64 << 20);
        var e = Assert.Throws<NotSupportedException>(() =>
            PmdEngine.Start(Options(daemon.DeviceString, indirect: indirect, ring: RingFormat.Packed)).Dispose())!;
        Assert.That(e.Message, Does.Contain(nameof(VirtioFeatures.RingPacked)).And.Contain(daemon.SocketPath));

        // The refusal left the daemon serving: a split ring on the same socket works.
        using var engine = PmdEngine.Start(Options(daemon.DeviceString, indirect: indirect));
        Assert.That(engine.Device.Features.HasFlag(VirtioFeatures.RingPacked), Is.False);
        using var buf = engine.Device.Rent(4096);
        await engine.Device.ReadAsync(0, buf.Memory);
        AssertHealthy(engine, daemon);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task MoreQueuesOrLongerRingsThanTheDaemonServesAreRefused()
    {
        using var daemon = QemuStorageDaemon.StartNull(sizeBytes: 64 << 20, queues: 2);
        var e = Assert.Throws<NotSupportedException>(() => PmdEngine.Start(Options(daemon.DeviceString, queues: 3)).Dispose())!;
        Assert.That(e.Message, Does.Contain("serves 2 queue(s); 3 were asked for"));
        e = Assert.Throws<NotSupportedException>(() => PmdEngine.Start(Options(daemon.DeviceString, queueSize: 2048)).Dispose())!;
        Assert.That(e.Message, Does.Contain("at most 1024 entries"));
        // A queue index past the export's count would have killed the daemon (reference §1, §3.3): it still serves.
        Assert.That(daemon.IsRunning, Is.True, daemon.Log);
        using var engine = PmdEngine.Start(Options(daemon.DeviceString, queues: 2, queueSize: 1024));
        using var buf = engine.Device.Rent(4096);
        await engine.Device.ReadAsync(0, buf.Memory);
        AssertHealthy(engine, daemon);
    }

    [Test]
    [CancelAfter(30_000)]
    public void NoSocketAtThePathFailsQuicklyAndSaysSo()
    {
        string dir = QemuStorageDaemon.NewDirectory();
        try
        {
            string path = Path.Combine(dir, "nobody.sock");
            var sw = Stopwatch.StartNew();
            var e = Assert.Throws<VhostUserDisconnectedException>(() => PmdEngine.Start(Quick($"vhost-user:{path}")).Dispose())!;
            Assert.That(sw.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), "fails near ConnectTimeout (300 ms), not later");
            Assert.That(sw.Elapsed, Is.GreaterThan(TimeSpan.FromMilliseconds(200)), "kept retrying while a back-end might still be starting");
            Assert.That(e.Message, Does.Contain(path).And.Contain("no vhost-user socket"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public void ASocketLeftByACrashedDaemonFailsQuicklyAndSaysSo()
    {
        // SIGKILL leaves the socket file behind with nothing listening on it (connect: ECONNREFUSED).
        using var daemon = QemuStorageDaemon.StartNull(sizeBytes: 64 << 20);
        daemon.Kill();
        Assert.That(File.Exists(daemon.SocketPath), Is.True, "the crashed daemon's socket file is still there");
        var sw = Stopwatch.StartNew();
        var e = Assert.Throws<VhostUserDisconnectedException>(() => PmdEngine.Start(Quick(daemon.DeviceString)).Dispose())!;
        Assert.That(sw.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), "fails near ConnectTimeout (300 ms), not later");
        Assert.That(e.Message, Does.Contain(daemon.SocketPath).And.Contain("nothing is listening"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task TheExportServesOneEngineAtATime()
    {
        using var daemon = QemuStorageDaemon.StartNull(sizeBytes: 64 << 20);
        var first = PmdEngine.Start(Options(daemon.DeviceString));
        try
        {
            using var buf = first.Device.Rent(4096);
            await first.Device.ReadAsync(0, buf.Memory);

            // The kernel accepts a second connection, but the daemon does not answer it while the first is served:
            // the second engine's handshake times out with a clear error.
            var sw = Stopwatch.StartNew();
            var e = Assert.Throws<VhostUserDisconnectedException>(() => PmdEngine.Start(Quick(daemon.DeviceString)).Dispose())!;
            Assert.That(e.Message, Does.Contain(daemon.SocketPath).And.Contain("did not answer"));
            Assert.That(sw.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)));

            // The first engine is unaffected.
            await first.Device.ReadAsync(8, buf.Memory);
            await first.Device.WriteAsync(8, buf.Memory);
            AssertHealthy(first, daemon);
        }
        finally
        {
            first.Dispose();
        }

        // Once the first has gone, the daemon serves the next (after dropping the abandoned connection).
        using var next = PmdEngine.Start(Options(daemon.DeviceString));
        using var b = next.Device.Rent(4096);
        await next.Device.ReadAsync(0, b.Memory);
        Assert.That(next.Reconnects, Is.Zero);
        Assert.That(daemon.IsRunning, Is.True, daemon.Log);
    }

    private static EngineOptions Quick(string device) => Options(device) with
    {
        VhostUser = new VhostUserOptions
        {
            ConnectTimeout = TimeSpan.FromMilliseconds(300),
            ReplyTimeout = TimeSpan.FromSeconds(1),
            ReconnectTimeout = TimeSpan.FromSeconds(1),
        },
    };
}
