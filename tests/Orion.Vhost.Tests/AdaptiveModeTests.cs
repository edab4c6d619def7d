using Orion.Pmd.Engine;
using Orion.Pmd.Linux;

namespace Orion.Vhost.Tests;

/// <summary>
/// orion-vhost's default mode, adaptive, as a process: it says so at start, serves the engine's vhost-user front-end
/// (polled and adaptive notifications, split and packed rings), and an idle connection costs a sleeping thread, not a
/// spinning core.
/// </summary>
[NonParallelizable]
public class AdaptiveModeTests
{
    private static PmdEngine Engine(VhostProcess vhost, RingFormat ring, NotificationMode notifications) => PmdEngine.Start(new EngineOptions
    {
        Device = $"vhost-user:{vhost.SocketPath}",
        Queues = 1,
        QueueSize = 64,
        Pin = false,
        IdlePolicy = Pmd.Reactors.IdlePolicy.Yield,
        BufferMemoryBytes = 8 << 20,
        Ring = ring,
        Notifications = notifications,
    });

    /// <summary>The /proc directory of the orion-vhost thread serving queue 0 (waits for it to start).</summary>
    private static string DeviceThread(VhostProcess vhost)
    {
        for (int i = 0; i < 500; i++)
        {
            foreach (var task in Directory.GetDirectories($"/proc/{vhost.Process.Id}/task"))
            {
                try
                {
                    if (File.ReadAllText(Path.Combine(task, "comm")).Trim() == "orion-dev-q0") return task;
                }
                catch (IOException) { }
            }
            Thread.Sleep(10);
        }
        Assert.Fail("orion-vhost has no thread orion-dev-q0");
        return "";
    }

    private static char State(string task)
    {
        string stat = File.ReadAllText(Path.Combine(task, "stat"));
        return stat[stat.LastIndexOf(')') + 2];
    }

    private static async Task WriteAndReadBack(BlockDevice dev, int seed, int count)
    {
        using var buf = dev.Rent(4096);
        for (int i = 0; i < count; i++)
        {
            for (int b = 0; b < 4096; b++) buf.Span[b] = (byte)(b * 5 + seed + i);
            var expected = buf.Span.ToArray();
            await dev.WriteAsync(i % 64 * 8, buf.Memory);
            buf.Span.Clear();
            await dev.ReadAsync(i % 64 * 8, buf.Memory);
            Assert.That(buf.Span.ToArray(), Is.EqualTo(expected), $"block {i % 64}");
        }
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task TheDefaultIsAdaptiveAndAnIdleConnectionSleeps()
    {
        using var vhost = VhostProcess.Start(["--device", "mem:16M"]);
        Assert.That(vhost.Stderr, Does.Contain("adaptive (poll 50us after the last request, then sleep on the kick eventfd)"));
        using (var engine = Engine(vhost, RingFormat.Split, NotificationMode.Polled))
        {
            await WriteAndReadBack(engine.Device, 1, 100);
            // Connected, no I/O: the device thread is blocked on its kick eventfd whenever we look (a polling thread
            // would be running or runnable, R). Not a CPU-time threshold: the state of the thread itself.
            string thread = DeviceThread(vhost);
            Thread.Sleep(100);
            int blocked = 0;
            for (int i = 0; i < 40; i++)
            {
                if (State(thread) is 'S' or 'D') blocked++;
                Thread.Sleep(10);
            }
            Assert.That(blocked, Is.GreaterThanOrEqualTo(36), "samples in which orion-vhost's device thread was blocked, of 40");
            // And it still answers at once after the idle period.
            await WriteAndReadBack(engine.Device, 2, 10);
        }
        Assert.That(vhost.Signal(ProcessSignal.Terminate), Is.Zero, vhost.Stderr);
        // The per-queue line: what the queue did, kicks and sleeps per request.
        Assert.That(vhost.Stderr, Does.Match(@"queue 0: \d+ requests in \d+ batches, \d+ kicks \([0-9.]+ per request\), [1-9]\d* sleeps"), vhost.Stderr);
    }

    [TestCase(RingFormat.Split)]
    [TestCase(RingFormat.Packed)]
    [CancelAfter(120_000)]
    public async Task TheEnginesAdaptiveNotificationsWorkAgainstAnAdaptiveBackEnd(RingFormat ring)
    {
        // Both sides sleep when idle: the engine's reactor on its call eventfd, orion-vhost's thread on its kick eventfd.
        // Each burst after an idle period must wake both, in both directions.
        using var vhost = VhostProcess.Start(["--device", "mem:16M", "--mode", "adaptive", "--poll-window", "20us"]);
        using (var engine = Engine(vhost, ring, NotificationMode.Adaptive))
        {
            for (int burst = 0; burst < 5; burst++)
            {
                await WriteAndReadBack(engine.Device, burst, 20);
                await Task.Delay(30);                     // far beyond both idle budgets
            }
            await engine.Device.FlushAsync();
        }
        Assert.That(vhost.Signal(ProcessSignal.Terminate), Is.Zero, vhost.Stderr);
        Assert.That(vhost.Stderr, Does.Contain("connection closed: the front-end disconnected"), vhost.Stderr);
    }
}
