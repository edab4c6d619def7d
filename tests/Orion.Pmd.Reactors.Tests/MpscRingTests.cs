using System.Diagnostics;
using Orion.Pmd.Reactors;

namespace Orion.Pmd.Reactors.Tests;

public class MpscRingTests
{
    [TestCase(1, 2)]
    [TestCase(2, 2)]
    [TestCase(3, 4)]
    [TestCase(1000, 1024)]
    [TestCase(1024, 1024)]
    public void Capacity_IsRoundedUpToAPowerOfTwo(int requested, int expected)
    {
        Assert.That(new MpscRing<int>(requested).Capacity, Is.EqualTo(expected));
    }

    [Test]
    public void Capacity_OutOfRange_Throws()
    {
        Assert.That(() => new MpscRing<int>(0), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => new MpscRing<int>(MpscRing<int>.MaxCapacity + 1), Throws.TypeOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void Items_ComeOutInFifoOrder()
    {
        var ring = new MpscRing<int>(8);
        for (int i = 0; i < 5; i++) Assert.That(ring.TryEnqueue(i), Is.True);
        Assert.That(ring.Count, Is.EqualTo(5));
        for (int i = 0; i < 5; i++)
        {
            Assert.That(ring.TryDequeue(out int item), Is.True);
            Assert.That(item, Is.EqualTo(i));
        }
        Assert.That(ring.IsEmpty, Is.True);
    }

    [Test]
    public void FullAndEmpty_AreReported()
    {
        var ring = new MpscRing<string>(4);
        Assert.That(ring.TryDequeue(out string? none), Is.False);
        Assert.That(none, Is.Null);

        for (int i = 0; i < 4; i++) Assert.That(ring.TryEnqueue($"m{i}"), Is.True);
        Assert.That(ring.TryEnqueue("overflow"), Is.False);
        Assert.That(ring.Count, Is.EqualTo(4));

        Assert.That(ring.TryDequeue(out string? first), Is.True);
        Assert.That(first, Is.EqualTo("m0"));
        Assert.That(ring.TryEnqueue("m4"), Is.True, "one slot freed, one accepted");
        Assert.That(ring.TryEnqueue("m5"), Is.False);
    }

    [Test]
    public void Wraps_OverManyLaps()
    {
        var ring = new MpscRing<long>(4);
        long next = 0, expected = 0;
        for (int lap = 0; lap < 10_000; lap++)
        {
            int batch = lap % 4 + 1;   // vary the fill level so head and tail cross slots in every phase
            for (int i = 0; i < batch; i++) Assert.That(ring.TryEnqueue(next++), Is.True);
            for (int i = 0; i < batch; i++)
            {
                Assert.That(ring.TryDequeue(out long item), Is.True);
                Assert.That(item, Is.EqualTo(expected++));
            }
        }
        Assert.That(ring.IsEmpty, Is.True);
    }

    [Test]
    public void Dequeue_ReleasesTheReference()
    {
        var ring = new MpscRing<object>(2);
        var weak = EnqueueAndDequeueGarbage(ring);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.That(weak.IsAlive, Is.False);
    }

    private static WeakReference EnqueueAndDequeueGarbage(MpscRing<object> ring)
    {
        var item = new object();
        ring.TryEnqueue(item);
        ring.TryDequeue(out _);
        return new WeakReference(item);
    }

    [Test]
    public void TwoProducers_EveryItemArrivesExactlyOnce_InPerProducerOrder()
    {
        const int Producers = 2;
        const int PerProducer = 100_000;
        var ring = new MpscRing<long>(1024);
        var deadline = Stopwatch.StartNew();
        bool abort = false;

        var threads = new Thread[Producers];
        for (int p = 0; p < Producers; p++)
        {
            long producer = p;
            threads[p] = new Thread(() =>
            {
                for (long i = 0; i < PerProducer && !Volatile.Read(ref abort); i++)
                {
                    // Yield when full: 3 busy threads on 2 cores.
                    while (!ring.TryEnqueue(producer << 32 | i))
                    {
                        if (Volatile.Read(ref abort)) return;
                        Thread.Yield();
                    }
                }
            }) { IsBackground = true };
        }
        foreach (var t in threads) t.Start();

        var nextExpected = new long[Producers];
        int received = 0;
        try
        {
            while (received < Producers * PerProducer && deadline.ElapsedMilliseconds < 10_000)
            {
                if (!ring.TryDequeue(out long item))
                {
                    Thread.Yield();
                    continue;
                }
                int producer = (int)(item >> 32);
                long seq = item & 0xFFFF_FFFF;
                Assert.That(seq, Is.EqualTo(nextExpected[producer]), $"producer {producer} out of order");
                nextExpected[producer]++;
                received++;
            }
        }
        finally
        {
            Volatile.Write(ref abort, true);
            foreach (var t in threads) Assert.That(t.Join(5000), Is.True);
        }

        Assert.That(received, Is.EqualTo(Producers * PerProducer), "all items within the time bound");
        Assert.That(nextExpected, Is.All.EqualTo(PerProducer));
        Assert.That(ring.TryDequeue(out _), Is.False, "nothing duplicated");
    }

    [Test]
    public void EnqueueAndDequeue_DoNotAllocate()
    {
        var ring = new MpscRing<(object?, long)>(64);
        var state = new object();
        for (int i = 0; i < 1000; i++) { ring.TryEnqueue((state, i)); ring.TryDequeue(out _); }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100_000; i++)
        {
            ring.TryEnqueue((state, i));
            ring.TryDequeue(out _);
        }
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }
}
