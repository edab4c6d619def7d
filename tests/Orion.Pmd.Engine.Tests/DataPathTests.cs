using Orion.Pmd.Engine;
using Orion.Pmd.Engine.Requests;

namespace Orion.Pmd.Engine.Tests;

/// <summary>Read-after-write through the whole stack: API, reactor queue pair, split ring, embedded device, back.</summary>
public class DataPathTests
{
    [TestCase("mem:16M", 1)]
    [TestCase("mem:16M,bs=4096", 1)]
    [TestCase("mem:16M", 2)]
    public void DmaBuffersRoundTripZeroCopy(string device, int queues)
    {
        using var engine = ManualEngine.Start(device, queues);
        var dev = engine.Device;
        var rnd = new Random(42);
        for (int i = 0; i < 50; i++)
        {
            int blocks = rnd.Next(1, 16);
            long lba = rnd.NextInt64(0, dev.BlockCount - blocks);
            using var w = dev.Rent(blocks * dev.BlockSize);
            rnd.NextBytes(w.Span);
            engine.Wait(dev.WriteAsync(lba, w.Memory));
            using var r = dev.Rent(blocks * dev.BlockSize);
            r.Span.Clear();
            engine.Wait(dev.ReadAsync(lba, r.Memory));
            Assert.That(r.Span.SequenceEqual(w.Span), Is.True, $"data mismatch at LBA {lba}, {blocks} blocks");
        }
        var counters = Enumerable.Range(0, queues).Select(q => dev.GetQueue(q).Counters).ToArray();
        Assert.That(counters.Sum(c => c.Requests), Is.EqualTo(100));
        Assert.That(counters.Sum(c => c.Bounces), Is.Zero, "DMA buffers must not be bounced");
    }

    [Test]
    public void WithoutIndirectARequestNeverOutgrowsTheRing()
    {
        using var engine = ManualEngine.Start(queueSize: 8, tweak: o => o with { UseIndirect = false });
        var dev = engine.Device;
        Assert.That(dev.MaxSegments, Is.EqualTo(5), "8 descriptors less header, payload and status");
        var buffers = Enumerable.Range(0, 6).Select(_ => dev.Rent(512)).ToArray();
        try
        {
            var memories = buffers.Select(b => b.Memory).ToArray();
            Assert.That(() => dev.ReadVectoredAsync(0, memories), Throws.ArgumentException.With.Message.Contains("limit of 5"));
            engine.Wait(dev.ReadVectoredAsync(0, memories.AsSpan(0, 5)));
        }
        finally
        {
            foreach (var b in buffers) b.Dispose();
        }
    }

    [Test]
    public void ManagedBuffersAreBouncedAndCounted()
    {
        using var engine = ManualEngine.Start();
        var dev = engine.Device;
        var data = new byte[8192];
        new Random(1).NextBytes(data);
        engine.Wait(dev.WriteAsync(10, data));
        var back = new byte[8192];
        engine.Wait(dev.ReadAsync(10, back));
        Assert.That(back, Is.EqualTo(data));
        Assert.That(dev.GetQueue(0).Counters.Bounces, Is.EqualTo(2));
        Assert.That(dev.Pool.InUseCount, Is.Zero, "bounce buffers return to the pool");
    }

    [Test]
    public void VectoredRequestsScatterAndGather()
    {
        using var engine = ManualEngine.Start();
        var dev = engine.Device;
        using var a = dev.Rent(512);
        using var b = dev.Rent(4096);
        using var c = dev.Rent(1024);
        a.Span.Fill(1); b.Span.Fill(2); c.Span.Fill(3);
        engine.Wait(dev.WriteVectoredAsync(100, new ReadOnlyMemory<byte>[] { a.Memory, b.Memory, c.Memory }));
        using var whole = dev.Rent(512 + 4096 + 1024);
        engine.Wait(dev.ReadAsync(100, whole.Memory));
        Assert.That(whole.Span[..512].ToArray(), Is.All.EqualTo(1));
        Assert.That(whole.Span[512..4608].ToArray(), Is.All.EqualTo(2));
        Assert.That(whole.Span[4608..].ToArray(), Is.All.EqualTo(3));

        using var x = dev.Rent(2048);
        using var y = dev.Rent(3584);
        engine.Wait(dev.ReadVectoredAsync(100, new Memory<byte>[] { x.Memory, y.Memory }));
        Assert.That(x.Span[..512].ToArray(), Is.All.EqualTo(1));
        Assert.That(x.Span[512..].ToArray(), Is.All.EqualTo(2));
        Assert.That(y.Span[..2560].ToArray(), Is.All.EqualTo(2));
        Assert.That(y.Span[2560..].ToArray(), Is.All.EqualTo(3));
    }

    [Test]
    public void FlushDiscardWriteZeroesAndGetId()
    {
        using var engine = ManualEngine.Start();
        var dev = engine.Device;
        using var w = dev.Rent(4096);
        w.Span.Fill(0xAB);
        engine.Wait(dev.WriteAsync(8, w.Memory));
        engine.Wait(dev.FlushAsync());

        engine.Wait(dev.WriteZeroesAsync(8, 2));
        using var r = dev.Rent(4096);
        engine.Wait(dev.ReadAsync(8, r.Memory));
        Assert.That(r.Span[..1024].ToArray(), Is.All.Zero);
        Assert.That(r.Span[1024..].ToArray(), Is.All.EqualTo(0xAB));

        engine.Wait(dev.DiscardAsync(10, 6));
        engine.Wait(dev.ReadAsync(8, r.Memory));
        Assert.That(r.Span.ToArray(), Is.All.Zero, "the memory backend reads discarded blocks as zeroes");

        Assert.That(engine.Wait(dev.GetIdAsync()), Is.EqualTo("orion-pmd-soft"));
    }

    [Test]
    public void BadArgumentsAreRefusedBeforeTheDevice()
    {
        using var engine = ManualEngine.Start("mem:1M");
        var dev = engine.Device;
        using var buf = dev.Rent(4096);
        Assert.That(() => dev.ReadAsync(dev.BlockCount - 1, buf.Memory), Throws.TypeOf<ArgumentOutOfRangeException>()
            .With.Message.Contains("outside the device").And.Message.Contains("LBA 0 to 2047"));
        Assert.That(() => dev.ReadAsync(-1, buf.Memory), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => dev.WriteAsync(0, buf.Memory[..1000]), Throws.ArgumentException.With.Message.Contains("not a multiple of the 512-byte block size"));
        Assert.That(() => dev.ReadAsync(0, Memory<byte>.Empty), Throws.ArgumentException.With.Message.Contains("at least one block"));
        Assert.That(() => dev.DiscardAsync(0, 0), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(dev.GetQueue(0).Counters.Requests, Is.Zero, "nothing reached the device");
    }

    [Test]
    public void ReadOnlyDeviceRefusesWritesInTheEngine()
    {
        using var engine = ManualEngine.Start("mem:1M,ro");
        var dev = engine.Device;
        Assert.That(dev.ReadOnly, Is.True);
        using var buf = dev.Rent(512);
        Assert.That(() => dev.WriteAsync(0, buf.Memory), Throws.InvalidOperationException.With.Message.Contains("read-only"));
        Assert.That(() => dev.DiscardAsync(0, 1), Throws.InvalidOperationException);
        engine.Wait(dev.ReadAsync(0, buf.Memory));
    }

    [Test]
    public void FeaturesTheDeviceLacksAreRefusedClearly()
    {
        using var engine = ManualEngine.Start(tweak: o => o with
        {
            DeviceFeatures = Virtio.VirtioFeatures.Version1 | Virtio.VirtioFeatures.RingIndirectDesc,
        });
        var dev = engine.Device;
        Assert.That(() => dev.DiscardAsync(0, 1), Throws.TypeOf<NotSupportedException>().With.Message.Contains("BlkDiscard"));
        // Without FLUSH the device has no volatile cache: flush completes at once.
        Assert.That(dev.FlushAsync().IsCompletedSuccessfully, Is.True);
    }

    [Test]
    public void DeviceThatRefusesVersion1IsRefused()
    {
        Assert.That(() => ManualEngine.Start(tweak: o => o with { DeviceFeatures = Virtio.VirtioFeatures.RingIndirectDesc }),
            Throws.TypeOf<NotSupportedException>().With.Message.Contains("Version1"));
    }

    [Test]
    public void EveryRingFeatureCombinationMovesData(
        [Values] RingFormat ring, [Values] bool indirect, [Values] bool eventIdx)
    {
        using var engine = ManualEngine.Start(queueSize: 16, tweak: o => o with { Ring = ring, UseIndirect = indirect, UseEventIdx = eventIdx });
        var dev = engine.Device;
        var buffers = Enumerable.Range(0, 40).Select(_ => dev.Rent(4096)).ToArray();
        try
        {
            // More requests than ring entries: the rest wait for slots, never fail.
            for (int i = 0; i < buffers.Length; i++) buffers[i].Span.Fill((byte)(i + 1));
            var writes = buffers.Select((b, i) => dev.WriteAsync(i * 8, b.Memory)).ToArray();
            Assert.That(engine.RunUntil(() => writes.All(t => t.IsCompleted)), Is.True);
            foreach (var t in writes) t.GetAwaiter().GetResult();
            foreach (var b in buffers) b.Span.Clear();
            var reads = buffers.Select((b, i) => dev.ReadAsync(i * 8, b.Memory)).ToArray();
            Assert.That(engine.RunUntil(() => reads.All(t => t.IsCompleted)), Is.True);
            foreach (var t in reads) t.GetAwaiter().GetResult();
            for (int i = 0; i < buffers.Length; i++)
                Assert.That(buffers[i].Span.ToArray(), Is.All.EqualTo((byte)(i + 1)));
        }
        finally
        {
            foreach (var b in buffers) b.Dispose();
        }
    }
}
