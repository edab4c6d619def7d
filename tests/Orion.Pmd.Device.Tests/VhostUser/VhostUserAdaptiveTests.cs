using System.Diagnostics;
using Orion.Pmd.Device.Tests.VhostUser.Support;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Device.Tests.VhostUser;

/// <summary>
/// Adaptive queues through the real vhost-user path (orion-vhost's default): the device thread polls with kicks
/// suppressed for a poll window after its last request, then asks for kicks, re-checks the ring and sleeps on the kick
/// eventfd. Requests are served on both ring formats, a request after an idle period is never lost, and an idle queue's
/// thread is blocked, not spinning.
/// </summary>
[NonParallelizable]
public class VhostUserAdaptiveTests
{
    private static readonly TimeSpan Window = TimeSpan.FromMicroseconds(50);

    private static ServerHarness Server() =>
        new(new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Adaptive, AdaptiveSleepAfter = Window, YieldWhenIdle = true, NumQueues = 1 });

    private static VirtioFeatures Accept(bool packed, bool eventIdx = true)
    {
        var accept = (VirtioFeatures)ulong.MaxValue;
        if (!packed) accept &= ~VirtioFeatures.RingPacked;
        if (!eventIdx) accept &= ~VirtioFeatures.RingEventIdx;
        return accept;
    }

    /// <summary>Waits (bounded) until the device thread has gone to sleep at least <paramref name="sleeps"/> times.</summary>
    private static long WaitForSleeps(ServerHarness server, long sleeps)
    {
        var sw = Stopwatch.StartNew();
        while (server.Device.GetQueueStats(0).Sleeps < sleeps && sw.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(1);
        long now = server.Device.GetQueueStats(0).Sleeps;
        Assert.That(now, Is.GreaterThanOrEqualTo(sleeps), "the device thread went to sleep after its poll window");
        return now;
    }

    [Test]
    public void AdaptiveQueuesServeIo([Values(false, true)] bool packed, [Values(false, true)] bool indirect)
    {
        using var server = Server();
        using var fe = server.Connect(1).Ready(Accept(packed));
        Assert.That(fe.Packed, Is.EqualTo(packed));
        for (int i = 0; i < 64; i++)
        {
            var data = TestFrontEnd.Pattern(4096, i);
            Assert.That(fe.Write((ulong)i * 8, data, indirect: indirect).BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(fe.Read((ulong)i * 8, 4096, indirect: indirect).Data, Is.EqualTo(data));
        }
        Assert.That(fe.Flush().BlkStatus, Is.EqualTo(BlkStatus.Ok));
        Assert.That(server.Device.GetQueueStats(0).Requests, Is.EqualTo(129));
    }

    [Test]
    public void ARequestAfterAnIdlePeriodIsNotLost([Values(false, true)] bool packed, [Values(false, true)] bool eventIdx)
    {
        using var server = Server();
        using var fe = server.Connect(1).Ready(Accept(packed, eventIdx));
        for (int round = 0; round < 5; round++)
        {
            Assert.That(fe.Read((ulong)round, 512).BlkStatus, Is.EqualTo(BlkStatus.Ok));
            // Idle far longer than the poll window: the thread asks for kicks and sleeps on the kick eventfd.
            long sleeps = WaitForSleeps(server, server.Device.GetQueueStats(0).Sleeps + 1);
            Thread.Sleep(5);
            int kicks = fe.KicksSent;
            long received = server.Device.GetQueueStats(0).KicksReceived;
            var data = TestFrontEnd.Pattern(4096, round);
            Assert.That(fe.Write((ulong)round * 8, data).BlkStatus, Is.EqualTo(BlkStatus.Ok), "the request after the idle period completes");
            Assert.That(fe.KicksSent, Is.EqualTo(kicks + 1), "a sleeping device asked for exactly one kick");
            Assert.That(server.Device.GetQueueStats(0).KicksReceived, Is.GreaterThan(received), "and woke on it");
            Assert.That(fe.Read((ulong)round * 8, 4096).Data, Is.EqualTo(data));
            Assert.That(server.Device.GetQueueStats(0).Sleeps, Is.GreaterThanOrEqualTo(sleeps));
        }
    }

    [Test]
    public void RequestsAroundTheEndOfThePollWindowAreNeverLost([Values(false, true)] bool packed)
    {
        // Gaps from 0 to 4 windows put submissions on both sides of, and right at, the moment the thread re-enables
        // kicks, re-checks and sleeps. A lost wake-up would leave a request to the 100 ms safety timeout: with kicks
        // working, the front-end kicks whenever the device has asked for one, so each one is answered by a kick.
        using var server = Server();
        using var fe = server.Connect(1).Ready(Accept(packed));
        var rng = new Random(12);
        long slow = 0;
        for (int i = 0; i < 300; i++)
        {
            // Every 25th gap is 2 ms: whatever else runs on a busy 2-core machine, the thread gets to sleep in those.
            double windows = i % 25 == 24 ? 40 : rng.NextDouble() * 4;
            long until = Stopwatch.GetTimestamp() + (long)(windows * Window.TotalSeconds * Stopwatch.Frequency);
            while (Stopwatch.GetTimestamp() < until) Thread.SpinWait(20);
            var sw = Stopwatch.StartNew();
            Assert.That(fe.Read((ulong)i, 512).BlkStatus, Is.EqualTo(BlkStatus.Ok), $"request {i}");
            if (sw.Elapsed > TimeSpan.FromMilliseconds(90)) slow++;
        }
        var s = server.Device.GetQueueStats(0);
        Assert.That(s.Requests, Is.EqualTo(300));
        Assert.That(s.Sleeps, Is.GreaterThan(0), "some gaps outlasted the window");
        TestContext.Out.WriteLine($"sleeps {s.Sleeps}, kicks sent {fe.KicksSent}, received {s.KicksReceived}, slower than 90 ms: {slow}");
        Assert.That(slow, Is.Zero, "requests that waited for the 100 ms safety timeout instead of a kick (a lost wake-up)");
    }

    [Test]
    public void AnIdleQueuesThreadSleepsOnTheKickEventfd()
    {
        using var server = Server();
        using var fe = server.Connect(1).Ready(Accept(packed: false));
        Assert.That(fe.Read(0, 512).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        long s0 = WaitForSleeps(server, 1);
        var thread = DeviceThreadState.Find(Environment.ProcessId, "orion-dev-q0");
        Assert.That(thread, Is.Not.Null, "the queue's device thread");
        // Connected, no I/O: the thread is blocked in the kernel (state S) whenever we look, and it does not go round
        // and round: its sleeps end only with the 100 ms safety timeout (a few per second), not once per poll window.
        int blocked = DeviceThreadState.CountBlocked(thread!, samples: 40, every: TimeSpan.FromMilliseconds(10));
        Assert.That(blocked, Is.GreaterThanOrEqualTo(36), "samples in which the device thread was blocked, of 40");
        long sleeps = server.Device.GetQueueStats(0).Sleeps - s0;
        Assert.That(sleeps, Is.LessThan(40), "sleeps in ~0.4 s idle: one per 100 ms timeout, not one per window");
        Assert.That(server.Device.GetQueueStats(0).KicksReceived, Is.LessThanOrEqualTo(1));
    }
}

/// <summary>Reads a thread's scheduler state from /proc (R running, S sleeping in the kernel, ...).</summary>
internal static class DeviceThreadState
{
    /// <summary>The /proc path of the thread of <paramref name="pid"/> named <paramref name="name"/>, or null.</summary>
    public static string? Find(int pid, string name)
    {
        foreach (var task in Directory.GetDirectories($"/proc/{pid}/task"))
        {
            try
            {
                if (File.ReadAllText(Path.Combine(task, "comm")).Trim() == name) return task;
            }
            catch (IOException) { }
        }
        return null;
    }

    public static char State(string task)
    {
        string stat = File.ReadAllText(Path.Combine(task, "stat"));
        return stat[stat.LastIndexOf(')') + 2];
    }

    public static int CountBlocked(string task, int samples, TimeSpan every)
    {
        int blocked = 0;
        for (int i = 0; i < samples; i++)
        {
            if (State(task) is 'S' or 'D') blocked++;
            Thread.Sleep(every);
        }
        return blocked;
    }
}
