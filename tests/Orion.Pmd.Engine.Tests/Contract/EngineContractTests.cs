using Orion.Pmd.Engine;
using Orion.Pmd.Engine.Requests;

namespace Orion.Pmd.Engine.Tests.Contract;

/// <summary>
/// One contract, every combination: ring format × indirect × event index × queue count × notification mode, on the
/// embedded device with real reactor and device threads (unpinned, so two engines' worth of threads share two
/// cores politely). Each combination writes, flushes and reads back data from concurrent callers, checks the
/// callback form on a reactor, and stops in order with nothing left in flight.
/// </summary>
[NonParallelizable]
public class EngineContractTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task EveryCombinationKeepsTheContract(
        [Values] RingFormat ring,
        [Values] bool indirect,
        [Values] bool eventIdx,
        [Values(1, 2)] int queues,
        [Values] NotificationMode notifications)
    {
        var engine = PmdEngine.Start(new EngineOptions
        {
            Device = "mem:16M",
            Queues = queues,
            QueueSize = 32,
            Ring = ring,
            UseIndirect = indirect,
            UseEventIdx = eventIdx,
            Notifications = notifications,
            Pin = false,
            BufferMemoryBytes = 8 << 20,
            AdaptiveIdleBudget = TimeSpan.FromMicroseconds(20),
        });
        try
        {
            var dev = engine.Device;
            Assert.That(dev.Features.HasFlag(Virtio.VirtioFeatures.RingPacked), Is.EqualTo(ring == RingFormat.Packed));
            Assert.That(dev.Features.HasFlag(Virtio.VirtioFeatures.RingIndirectDesc), Is.EqualTo(indirect));
            Assert.That(dev.Features.HasFlag(Virtio.VirtioFeatures.RingEventIdx), Is.EqualTo(eventIdx));

            // More writers than ring entries, each with gaps so adaptive and interrupt modes go to sleep between bursts.
            const int Writers = 6, PerWriter = 40;
            await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
            {
                using var buf = dev.Rent(4096);
                for (int i = 0; i < PerWriter; i++)
                {
                    buf.Span.Fill((byte)(w * 41 + i));
                    await dev.WriteAsync((w * PerWriter + i) * 8L, buf.Memory);
                    if (i % 10 == 9) await Task.Delay(2);
                }
            })));
            await dev.FlushAsync();
            await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
            {
                using var buf = dev.Rent(4096);
                for (int i = 0; i < PerWriter; i++)
                {
                    await dev.ReadAsync((w * PerWriter + i) * 8L, buf.Memory);
                    Assert.That(buf.Span.ToArray(), Is.All.EqualTo((byte)(w * 41 + i)), $"writer {w} block {i}");
                }
            })));
            long requests = Enumerable.Range(0, queues).Sum(q => dev.GetQueue(q).Counters.Requests);
            Assert.That(requests, Is.EqualTo(2 * Writers * PerWriter + 1 /* flush */));
            Assert.That(Enumerable.Range(0, queues).Sum(q => dev.GetQueue(q).Counters.Errors), Is.Zero);

            // The callback form, on each reactor.
            for (int q = 0; q < queues; q++)
            {
                var queue = dev.GetQueue(q);
                var done = new Completion();
                using var buf = dev.Rent(4096);
                queue.Reactor.Post(_ => Assert.That(queue.TrySubmitRead(0, buf, 0, 4096, done, q), Is.True), null);
                Assert.That(done.Signal.Wait(TimeSpan.FromSeconds(10)), Is.True, $"callback on queue {q}");
                Assert.That(done.Status, Is.EqualTo(IoStatus.Ok));
            }
        }
        finally
        {
            engine.Dispose();
        }
        Assert.That(engine.Outstanding, Is.Zero);
    }

    private sealed class Completion : IBlockCompletion
    {
        public readonly ManualResetEventSlim Signal = new();
        public IoStatus Status;

        public void OnCompleted(long tag, IoStatus status)
        {
            Status = status;
            Signal.Set();
        }
    }
}
