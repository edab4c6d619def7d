using Orion.Pmd.Engine;
using Orion.Pmd.Engine.Memory;
using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Reactors;

namespace Orion.Pmd.Engine.Tests;

/// <summary>
/// Steady state allocates nothing: after warm-up, thousands of I/Os through the whole stack (API, reactor queue
/// pair, ring, device) allocate zero bytes. Manual threading runs the reactor and the device on the test thread,
/// so <see cref="GC.GetAllocatedBytesForCurrentThread"/> counts both.
/// </summary>
public class ZeroAllocationTests
{
    private sealed class ClosedLoop(BlockQueue queue, DmaBuffer[] buffers, long blocks) : IPoller, IBlockCompletion
    {
        public long Completed;
        public long Failed;
        private int _free = buffers.Length;
        private readonly int[] _slots = Enumerable.Range(0, buffers.Length).ToArray();
        private ulong _rng = 88172645463325252UL;
        public bool Writes;

        public int Poll()
        {
            int n = 0;
            while (_free > 0)
            {
                int slot = _slots[--_free];
                _rng ^= _rng << 13; _rng ^= _rng >> 7; _rng ^= _rng << 17;
                long lba = (long)(_rng % (ulong)(blocks - 8));
                bool ok = Writes
                    ? queue.TrySubmitWrite(lba, buffers[slot], 0, buffers[slot].Length, this, slot)
                    : queue.TrySubmitRead(lba, buffers[slot], 0, buffers[slot].Length, this, slot);
                if (!ok) { _free++; break; }
                n++;
            }
            return n;
        }

        public void OnCompleted(long tag, IoStatus status)
        {
            if (status != IoStatus.Ok) Failed++;
            Completed++;
            _slots[_free++] = (int)tag;
        }
    }

    [TestCase(false)]
    [TestCase(true)]
    public void CallbackFormAllocatesNothingPerIo(bool writes)
    {
        using var engine = ManualEngine.Start("mem:16M", queueSize: 64);
        var dev = engine.Device;
        var buffers = Enumerable.Range(0, 32).Select(_ => dev.Rent(4096)).ToArray();
        var loop = new ClosedLoop(dev.GetQueue(0), buffers, dev.BlockCount) { Writes = writes };
        engine.Reactors[0].AddPoller(loop);

        while (loop.Completed < 5_000) engine.PollOnce();            // warm-up: JIT, tiering, first-touch
        long before = GC.GetAllocatedBytesForCurrentThread();
        long startCount = loop.Completed;
        while (loop.Completed < startCount + 20_000) engine.PollOnce();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.That(loop.Failed, Is.Zero);
        Assert.That(allocated, Is.Zero, $"{allocated} bytes allocated over 20,000 I/Os");
        foreach (var b in buffers) b.Dispose();
    }

    [Test]
    public void ValueTaskFormAllocatesNothingPerIo()
    {
        using var engine = ManualEngine.Start("mem:16M", queueSize: 64);
        var dev = engine.Device;
        using var buffer = dev.Rent(4096);
        void Cycle(int count)
        {
            for (int i = 0; i < count; i++)
            {
                var task = dev.ReadAsync(i % 1000 * 8, buffer.Memory);
                while (!task.IsCompleted) engine.PollOnce();
                task.GetAwaiter().GetResult();
                var write = dev.WriteAsync(i % 1000 * 8, buffer.Memory);
                while (!write.IsCompleted) engine.PollOnce();
                write.GetAwaiter().GetResult();
            }
        }
        Cycle(3_000);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Cycle(5_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(allocated, Is.Zero, $"{allocated} bytes allocated over 10,000 ValueTask I/Os");
    }

    [Test]
    public async Task ReactorAndDeviceThreadsAllocateNothingPerIo()
    {
        // Real threads, unpinned and yielding (2-core machines): the device thread reports its own allocation count.
        using var engine = PmdEngine.Start(new EngineOptions { Device = "null:64M", QueueSize = 64, Pin = false, BufferMemoryBytes = 8 << 20 });
        var dev = engine.Device;
        using var buffer = dev.Rent(4096);
        // Off the test runner's synchronization context: a context's Post allocates per continuation, which is the
        // host's cost, not the engine's (thread-pool continuations, the default, allocate nothing).
        await Task.Run(async () =>
        {
            for (int i = 0; i < 2_000; i++) await dev.ReadAsync(i * 8, buffer.Memory);
        });
        long deviceBefore = engine.Transport.DeviceThreadAllocatedBytes;
        long reactorBefore = ReactorAllocated(engine);
        await Task.Run(async () =>
        {
            for (int i = 0; i < 5_000; i++) await dev.ReadAsync(i * 8, buffer.Memory);
        });
        await Task.Delay(50);     // let the device thread publish its counter once more
        Assert.That(engine.Transport.DeviceThreadAllocatedBytes - deviceBefore, Is.Zero, "device thread allocated");
        Assert.That(ReactorAllocated(engine) - reactorBefore, Is.Zero, "reactor thread allocated");
    }

    [Test]
    public void ReactorThreadAllocatesNothingInCallbackForm()
    {
        using var engine = PmdEngine.Start(new EngineOptions { Device = "null:64M", QueueSize = 64, Pin = false, BufferMemoryBytes = 8 << 20 });
        var dev = engine.Device;
        var buffers = Enumerable.Range(0, 16).Select(_ => dev.Rent(4096)).ToArray();
        var loop = new ClosedLoop(dev.GetQueue(0), buffers, dev.BlockCount);
        engine.Reactors[0].Post(_ => engine.Reactors[0].AddPoller(loop), null);
        SpinUntil(() => Volatile.Read(ref loop.Completed) > 20_000);
        long before = ReactorAllocated(engine);
        long start = Volatile.Read(ref loop.Completed);
        SpinUntil(() => Volatile.Read(ref loop.Completed) > start + 50_000);
        Assert.That(ReactorAllocated(engine) - before, Is.Zero, "reactor thread allocated");
        engine.Reactors[0].Post(_ => engine.Reactors[0].RemovePoller(loop), null);
    }

    private static void SpinUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "timed out");
            Thread.Sleep(1);
        }
    }

    private static long ReactorAllocated(PmdEngine engine)
    {
        long value = 0;
        using var done = new ManualResetEventSlim();
        engine.Reactors[0].Post(_ => { value = GC.GetAllocatedBytesForCurrentThread(); done.Set(); }, null);
        Assert.That(done.Wait(TimeSpan.FromSeconds(5)), Is.True);
        return value;
    }
}
