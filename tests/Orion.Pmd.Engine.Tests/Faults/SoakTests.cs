using System.Collections.Concurrent;
using System.Diagnostics;
using Orion.Pmd.Device;
using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Engine.Transport;

namespace Orion.Pmd.Engine.Tests.Faults;

/// <summary>
/// The soak, short version (CI): verified writes and reads from several callers on real threads while the device
/// injects every fault kind at a low rate — statuses, latency spikes, stalls, dropped completions, NEEDS_RESET and
/// a used ring with garbage in it. At the end: no data mismatch, every request completed exactly once (the engine's
/// request count equals what the callers submitted), and every failure is one the plan injected.
/// <c>ORION_SOAK_SECONDS</c> runs it longer.
/// </summary>
[NonParallelizable]
public class SoakTests
{
    private const string Plan =
        "ioerr:rate=0.4%;unsupp:rate=0.2%:type=read;delay=2ms:rate=0.3%;stall=10ms:every=4000;drop:rate=0.05%;" +
        "needs-reset:every=6000;garbage=id-range:rate=0.03%;garbage=length:rate=0.03%;garbage=wrap:rate=0.03%;seed=7";

    [TestCase(RingFormat.Split)]
    [TestCase(RingFormat.Packed)]
    [CancelAfter(180_000)]
    public async Task VerifiedIoUnderEveryFaultLosesNothingAndCompletesEverythingOnce(RingFormat ring)
    {
        int seconds = int.TryParse(Environment.GetEnvironmentVariable("ORION_SOAK_SECONDS"), out int s) ? s : 6;
        using var engine = PmdEngine.Start(new EngineOptions
        {
            Device = $"mem:32M,fault={Plan}",
            Ring = ring,
            Queues = 2,
            QueueSize = 64,
            Pin = false,
            BufferMemoryBytes = 8 << 20,
            RequestTimeout = TimeSpan.FromMilliseconds(250),
            TimeoutPolicy = TimeoutPolicy.RetryOnce,
        });
        var dev = engine.Device;
        const int Writers = 8, BlocksPerWriter = 64, BlockBytes = 4096;
        long submitted = 0, mismatches = 0;
        var failures = new ConcurrentDictionary<IoStatus, long>();
        var stop = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            using var buf = dev.Rent(BlockBytes);
            // Per block: the generations it may hold (the last acknowledged one, plus any whose write failed after it).
            var allowed = new HashSet<byte>[BlocksPerWriter];
            for (int b = 0; b < BlocksPerWriter; b++) allowed[b] = [0];
            var generation = new byte[BlocksPerWriter];
            var rng = new Random(w);
            while (stop.Elapsed < TimeSpan.FromSeconds(seconds))
            {
                int b = rng.Next(BlocksPerWriter);
                long lba = (long)(w * BlocksPerWriter + b) * (BlockBytes / dev.BlockSize);
                byte g = ++generation[b];
                if (g == 0) g = generation[b] = 1;
                Fill(buf.Span, w, b, g);
                Interlocked.Increment(ref submitted);
                var status = await Outcome(dev.WriteAsync(lba, buf.Memory));
                if (status == IoStatus.Ok) allowed[b] = [g];
                else
                {
                    failures.AddOrUpdate(status, 1, (_, n) => n + 1);
                    allowed[b].Add(g);             // a failed write may or may not have reached the medium
                }
                Interlocked.Increment(ref submitted);
                buf.Span.Clear();
                status = await Outcome(dev.ReadAsync(lba, buf.Memory));
                if (status != IoStatus.Ok)
                {
                    failures.AddOrUpdate(status, 1, (_, n) => n + 1);
                    continue;
                }
                byte found = buf.Span[0];
                if (!allowed[b].Contains(found) || !IsBlock(buf.Span, w, b, found)) Interlocked.Increment(ref mismatches);
                else allowed[b] = [found];
            }
        })).ToArray();
        await Task.WhenAll(tasks);

        var device = ((EmbeddedTransport)engine.Transport).Device;
        var injected = device.GetFaultCounters();
        long completed = Enumerable.Range(0, dev.QueueCount).Sum(q => dev.GetQueue(q).Counters.Requests);
        long resets = Enumerable.Range(0, dev.QueueCount).Sum(q => dev.GetQueue(q).Counters.QueueResets);
        string summary = $"submitted {submitted}, completed {completed}, failures [{string.Join(", ", failures.Select(kv => $"{kv.Key}={kv.Value}"))}], " +
                         $"queue resets {resets}, injected {injected}";
        TestContext.Out.WriteLine(summary);

        Assert.That(mismatches, Is.Zero, summary);
        Assert.That(completed, Is.EqualTo(submitted), "every request completed exactly once: " + summary);
        Assert.That(submitted, Is.GreaterThan(2_000), "the soak did real work: " + summary);
        // Every failure is one the plan injected: statuses the device answered, time-outs of dropped or stalled
        // requests, breaks of rings it corrupted — never a bad status byte or an aborted request.
        Assert.That(failures.Keys, Is.SubsetOf(new[] { IoStatus.IoError, IoStatus.Unsupported, IoStatus.TimedOut, IoStatus.QueueBroken }), summary);
        Assert.That(failures.GetValueOrDefault(IoStatus.IoError), Is.LessThanOrEqualTo(injected.IoErrors), summary);
        Assert.That(failures.GetValueOrDefault(IoStatus.Unsupported), Is.LessThanOrEqualTo(injected.Unsupported), summary);
        Assert.That(failures.GetValueOrDefault(IoStatus.TimedOut), Is.LessThanOrEqualTo(injected.Drops + injected.NeedsReset + injected.Stalls), summary);
        Assert.That(failures.GetValueOrDefault(IoStatus.QueueBroken), Is.LessThanOrEqualTo(injected.Garbage), summary);
        Assert.That(injected.Total, Is.GreaterThan(0), "faults were injected: " + summary);
    }

    private static async Task<IoStatus> Outcome(ValueTask request)
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

    private static void Fill(Span<byte> block, int writer, int index, byte generation)
    {
        for (int i = 0; i < block.Length; i += 4)
        {
            block[i] = generation;
            block[i + 1] = (byte)writer;
            block[i + 2] = (byte)index;
            block[i + 3] = (byte)(i >> 2);
        }
    }

    private static bool IsBlock(ReadOnlySpan<byte> block, int writer, int index, byte generation)
    {
        if (generation == 0) return !block.ContainsAnyExcept((byte)0);     // never written
        for (int i = 0; i < block.Length; i += 4)
            if (block[i] != generation || block[i + 1] != (byte)writer || block[i + 2] != (byte)index || block[i + 3] != (byte)(i >> 2)) return false;
        return true;
    }
}
