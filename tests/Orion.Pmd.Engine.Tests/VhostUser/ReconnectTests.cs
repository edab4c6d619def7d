using System.Collections.Concurrent;
using System.Diagnostics;
using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Engine.Tests.VhostUser.Support;
using Orion.Pmd.Engine.Transport.VhostUser;

namespace Orion.Pmd.Engine.Tests.VhostUser;

/// <summary>
/// The back-end dies under load (SIGKILL) and comes back: the engine notices the hang-up, holds what was
/// outstanding, reconnects, rebuilds its rings and resubmits; acknowledged writes are never lost and every request
/// completes exactly once. When the back-end stays away past the deadline, requests fail with a clear error.
/// </summary>
[NonParallelizable]
public class ReconnectTests
{
    private static EngineOptions Options(string device, TimeSpan reconnect, int queues = 1) => new()
    {
        Device = device,
        Queues = queues,
        QueueSize = 64,
        Pin = false,
        BufferMemoryBytes = 8 << 20,
        VhostUser = new VhostUserOptions { ReconnectTimeout = reconnect, ConnectTimeout = TimeSpan.FromSeconds(5) },
    };

    /// <summary>Counts completions per tag: a request completed twice or never shows up here.</summary>
    private sealed class Tally(int count) : IBlockCompletion
    {
        public readonly int[] Completions = new int[count];
        public readonly IoStatus[] Statuses = new IoStatus[count];
        private int _done;
        public readonly ManualResetEventSlim All = new();

        public void OnCompleted(long tag, IoStatus status)
        {
            Statuses[tag] = status;
            Interlocked.Increment(ref Completions[tag]);
            if (Interlocked.Increment(ref _done) == Completions.Length) All.Set();
        }
    }

    /// <summary>qemu-storage-daemon (split rings only) and orion-vhost in both ring formats, each over a file back-end.</summary>
    public static IEnumerable<TestCaseData> CrashBackEnds()
    {
        yield return new TestCaseData("qemu-storage-daemon", RingFormat.Split).SetArgDisplayNames("qemu-storage-daemon", "split");
        yield return new TestCaseData("orion-vhost", RingFormat.Split).SetArgDisplayNames("orion-vhost", "split");
        yield return new TestCaseData("orion-vhost", RingFormat.Packed).SetArgDisplayNames("orion-vhost", "packed");
    }

    [TestCaseSource(nameof(CrashBackEnds))]
    [CancelAfter(120_000)]
    public async Task AcknowledgedWritesSurviveTwoBackEndCrashes(string backEnd, RingFormat ring)
    {
        if (backEnd == "orion-vhost") OrionVhostProcess.RequireBuilt();
        else QemuStorageDaemon.RequireInstalled();
        string dir = QemuStorageDaemon.NewDirectory();
        string image = Path.Combine(dir, "disk.img");
        const int BlockBytes = 4096, Blocks = 2048;                       // 8 MiB image, 4 KiB blocks
        using (var f = File.Create(image)) f.SetLength((long)Blocks * BlockBytes);
        // The image lives outside the back-end's own directory, which it removes when disposed.
        using var imageDir = new TempDirectory(dir);
        using IBackEndProcess daemon = backEnd == "orion-vhost"
            ? OrionVhostProcess.Start($"file:{image}", queues: 2)
            : QemuStorageDaemon.StartFile(image, queues: 2);
        var engine = PmdEngine.Start(Options(daemon.DeviceString, TimeSpan.FromSeconds(30), queues: 2) with { Ring = ring });
        var acknowledged = new ConcurrentDictionary<int, byte>();        // block -> generation the device acknowledged
        long writes = 0;
        try
        {
            var dev = engine.Device;
            using var stop = new CancellationTokenSource();
            const int Writers = 8;
            var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
            {
                using var buf = dev.Rent(BlockBytes);
                byte generation = 0;
                for (int i = 0; !stop.IsCancellationRequested; i++)
                {
                    int block = w + Writers * (i % (Blocks / Writers));    // each writer owns its blocks: no write races
                    if (block % (Blocks / Writers) == 0) generation++;
                    Fill(buf.Span, block, generation);
                    await dev.WriteAsync(block * (BlockBytes / 512L), buf.Memory);   // throws unless the device said OK
                    acknowledged[block] = generation;
                    Interlocked.Increment(ref writes);
                }
            })).ToArray();

            for (int crash = 0; crash < 2; crash++)
            {
                long before = Interlocked.Read(ref writes);
                await WaitUntil(() => Interlocked.Read(ref writes) > before + 500, "writes to flow before the crash");
                daemon.Kill();
                await Task.Delay(100);
                daemon.Restart();
                await WaitUntil(() => engine.Reconnects == crash + 1, $"reconnect {crash + 1}", daemon);
            }
            long afterRestart = Interlocked.Read(ref writes);
            await WaitUntil(() => Interlocked.Read(ref writes) > afterRestart + 500, "writes to flow after the last restart", daemon);
            stop.Cancel();
            await Task.WhenAll(writers);
            await dev.FlushAsync();
            Assert.That(engine.Reconnects, Is.EqualTo(2));
            Assert.That(engine.DeviceLost, Is.False);
        }
        finally
        {
            engine.Dispose();
        }

        // An independent reader: the backing file holds every acknowledged write.
        var disk = File.ReadAllBytes(image);
        var expected = new byte[BlockBytes];
        foreach (var (block, generation) in acknowledged)
        {
            Fill(expected, block, generation);
            Assert.That(disk.AsSpan(block * BlockBytes, BlockBytes).SequenceEqual(expected), Is.True,
                $"block {block}: acknowledged generation {generation} is not on disk");
        }
        Assert.That(acknowledged, Has.Count.GreaterThan(100));
    }

    [Test]
    [CancelAfter(60_000)]
    public void RequestsInFlightAtTheCrashAreResubmittedAndCompleteOnce()
    {
        // 50 ms per request keeps all of them in flight when the daemon dies.
        using var daemon = QemuStorageDaemon.StartNull(latencyNs: 50_000_000);
        var engine = PmdEngine.Start(Options(daemon.DeviceString, TimeSpan.FromSeconds(30)));
        try
        {
            const int N = 16;
            var dev = engine.Device;
            var queue = dev.GetQueue(0);
            var tally = new Tally(N);
            var buffers = Enumerable.Range(0, N).Select(_ => dev.Rent(4096)).ToArray();
            queue.Reactor.Post(_ =>
            {
                for (int i = 0; i < N; i++) Assert.That(queue.TrySubmitRead(i * 8, buffers[i], 0, 4096, tally, i), Is.True);
            }, null);
            SpinWait.SpinUntil(() => queue.Counters.InFlight == N, 5000);
            Assert.That(queue.Counters.InFlight, Is.EqualTo(N), "all requests at the device before the crash");
            var sw = Stopwatch.StartNew();
            daemon.Kill();
            SpinWait.SpinUntil(() => engine.Device.GetQueue(0).Counters.Resubmitted > 0 || tally.All.IsSet, 10_000);
            daemon.Restart();
            Assert.That(tally.All.Wait(TimeSpan.FromSeconds(20)), Is.True, $"all {N} completed after the restart; daemon log: {daemon.Log}");
            Assert.That(tally.Completions, Is.All.EqualTo(1), "each request completed exactly once");
            Assert.That(tally.Statuses, Is.All.EqualTo(IoStatus.Ok));
            Assert.That(queue.Counters.Resubmitted, Is.EqualTo(N), "every in-flight request was placed again on the fresh ring");
            Assert.That(engine.Reconnects, Is.EqualTo(1));
            foreach (var b in buffers) b.Dispose();
        }
        finally
        {
            engine.Dispose();
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ABackEndThatStaysAwayFailsRequestsAfterTheDeadline()
    {
        using var daemon = QemuStorageDaemon.StartNull(latencyNs: 50_000_000);
        var engine = PmdEngine.Start(Options(daemon.DeviceString, TimeSpan.FromSeconds(1)));
        Task zeroCopy = Task.CompletedTask;
        try
        {
            var dev = engine.Device;
            using var buf = dev.Rent(4096);
            // A read into the caller's own memory (bounced): its failure is delivered at the deadline, the engine keeping
            // its bounce buffer from reuse. A read into a rented buffer is withheld until the engine stops (below): a
            // back-end that closed its socket may still live and write the buffer (docs/embedding.md §4 item 2).
            var inFlight = dev.ReadAsync(0, new byte[4096]).AsTask();
            zeroCopy = dev.ReadAsync(8, buf.Memory).AsTask();
            await Task.Delay(10);
            var sw = Stopwatch.StartNew();
            daemon.Kill();
            var e = await Assert.ThrowsAsync<BlockDeviceException>(async () => await inFlight);
            Assert.That(e!.Status, Is.EqualTo(IoStatus.TransportLost));
            Assert.That(e.Message, Does.Contain(daemon.SocketPath).And.Contain("did not come back"));
            Assert.That(sw.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)), "failed near the 1 s deadline, not much later");
            Assert.That(sw.Elapsed, Is.GreaterThan(TimeSpan.FromMilliseconds(500)), "held until the deadline");
            Assert.That(engine.DeviceLost, Is.True);

            // Later requests fail at once with the same reason.
            var later = await Assert.ThrowsAsync<BlockDeviceException>(async () => await dev.ReadAsync(16, new byte[4096]));
            Assert.That(later!.Status, Is.EqualTo(IoStatus.TransportLost));
            Assert.That(zeroCopy.IsCompleted, Is.False, "the rented buffer stays the device's while it may write it");
        }
        finally
        {
            var sw = Stopwatch.StartNew();
            engine.Dispose();
            Assert.That(sw.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), "an engine whose device is lost stops promptly");
        }
        var withheld = await Assert.ThrowsAsync<BlockDeviceException>(async () => await zeroCopy);
        Assert.That(withheld!.Status, Is.EqualTo(IoStatus.TransportLost), "delivered once the engine stopped, with the failure decided at the deadline");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ABackEndThatComesBackAsAnotherDiskIsRefused()
    {
        string dir = QemuStorageDaemon.NewDirectory();
        var daemon = QemuStorageDaemon.StartNull(sizeBytes: 64 << 20, directory: dir);
        var engine = PmdEngine.Start(Options(daemon.DeviceString, TimeSpan.FromSeconds(10)));
        QemuStorageDaemon? other = null;
        try
        {
            var dev = engine.Device;
            using var buf = dev.Rent(4096);
            await dev.ReadAsync(0, buf.Memory);
            daemon.Kill();
            other = QemuStorageDaemon.StartNull(sizeBytes: 128 << 20, directory: dir);   // same socket path, another size
            await WaitUntil(() => engine.DeviceLost, "the engine to give up on a different disk", other);
            var e = await Assert.ThrowsAsync<BlockDeviceException>(async () => await dev.ReadAsync(0, buf.Memory));
            Assert.That(e!.Status, Is.EqualTo(IoStatus.TransportLost));
            Assert.That(e.Message, Does.Contain("different disk"));
        }
        finally
        {
            engine.Dispose();
            other?.Dispose();
            daemon.Dispose();
        }
    }

    private static void Fill(Span<byte> block, int index, byte generation)
    {
        for (int i = 0; i < block.Length; i += 8)
        {
            BitConverter.TryWriteBytes(block[i..], index);
            block[i + 4] = generation;
            block[i + 5] = (byte)i;
            block[i + 6] = 0xA5;
            block[i + 7] = (byte)(index >> 8);
        }
    }

    private static async Task WaitUntil(Func<bool> condition, string what, IBackEndProcess? daemon = null)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(30)) Assert.Fail($"timed out waiting for {what}; daemon log: {daemon?.Log}");
            await Task.Delay(5);
        }
    }
}
