using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Engine.Volumes;

namespace Orion.Pmd.Engine.Tests.Embedding;

/// <summary>The callback form of vectored reads and writes: one request for several DMA buffers, refused whole on bad input.</summary>
[NonParallelizable]
public class CallbackVectoredTests
{

    private static void WaitFor(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail("timed out");
            Thread.Sleep(1);
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public void WriteThenReadSeveralBuffersInOneRequestEach()
    {
        using var engine = PmdEngine.Start(new EngineOptions { Device = "mem:16M", Pin = false, BufferMemoryBytes = 8 << 20 });
        var dev = engine.Device;
        var queue = dev.GetQueue(0);
        var done = new RecordingCompletion();
        var sources = new[] { dev.Rent(4096), dev.Rent(8192), dev.Rent(4096) };
        for (int i = 0; i < sources.Length; i++) sources[i].Span.Fill((byte)(0x30 + i));
        var targets = new[] { dev.Rent(8192), dev.Rent(8192) };

        Assert.That(ReactorKit.Run(queue, () => queue.TrySubmitWriteVectored(100, [sources[0].Memory, sources[1].Memory, sources[2].Memory], done, 1)), Is.True);
        WaitFor(() => done.Count == 1);
        Assert.That(ReactorKit.Run(queue, () => queue.TrySubmitReadVectored(100, [targets[0].Memory, targets[1].Memory], done, 2)), Is.True);
        WaitFor(() => done.Count == 2);

        Assert.That(done.Done, Is.EqualTo(new[] { (1L, IoStatus.Ok), (2L, IoStatus.Ok) }));
        Assert.That(queue.Counters.Requests, Is.EqualTo(2), "one request each, however many buffers");
        var read = targets[0].Span.ToArray().Concat(targets[1].Span.ToArray()).ToArray();
        var written = sources.SelectMany(s => s.Span.ToArray()).ToArray();
        Assert.That(read, Is.EqualTo(written));
        foreach (var b in sources.Concat(targets)) b.Dispose();
    }

    [Test]
    [CancelAfter(60_000)]
    public void BadVectorsAreRefusedAndHoldNothing()
    {
        using var engine = PmdEngine.Start(new EngineOptions { Device = "mem:16M", Pin = false, QueueSize = 16, BufferMemoryBytes = 8 << 20 });
        var dev = engine.Device;
        var queue = dev.GetQueue(0);
        var done = new RecordingCompletion();
        using var dma = dev.Rent(4096);
        var notDma = new byte[4096];

        // Far more refusals than the queue has request objects: a refusal that kept one would exhaust them.
        for (int i = 0; i < 100; i++)
        {
            Assert.That(() => ReactorKit.Run(queue, () => queue.TrySubmitWriteVectored(0, [dma.Memory, notDma], done, 0)),
                        Throws.ArgumentException.With.Message.Contains("buffer 1 of the vectored request is not DMA memory"));
            Assert.That(() => ReactorKit.Run(queue, () => queue.TrySubmitReadVectored(0, [], done, 0)),
                        Throws.ArgumentException.With.Message.Contains("at least one buffer"));
            Assert.That(() => ReactorKit.Run(queue, () => queue.TrySubmitReadVectored(dev.BlockCount - 1, [dma.Memory], done, 0)),
                        Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => ReactorKit.Run(queue, () => queue.TrySubmitReadVectored(0, [dma.Memory[..100]], done, 0)),
                        Throws.ArgumentException.With.Message.Contains("not a multiple"));
        }
        var many = Enumerable.Repeat((ReadOnlyMemory<byte>)dma.Memory[..512], dev.MaxSegments + 1).ToArray();
        Assert.That(() => ReactorKit.Run(queue, () => queue.TrySubmitWriteVectored(0, many, done, 0)),
                    Throws.ArgumentException.With.Message.Contains($"limit of {dev.MaxSegments}"));
        Assert.That(() => queue.TrySubmitReadVectored(0, [dma.Memory], done, 0), Throws.InvalidOperationException, "off the reactor");

        Assert.That(ReactorKit.Run(queue, () => queue.TrySubmitReadVectored(0, [dma.Memory], done, 7)), Is.True, "the queue still has every request object");
        WaitFor(() => done.Count == 1);
        Assert.That(done.Done[0], Is.EqualTo((7L, IoStatus.Ok)));
        Assert.That(queue.Counters.Requests, Is.EqualTo(1), "no refused vector reached the device");
    }

    [Test]
    [CancelAfter(60_000)]
    public void VolumeQueueTranslatesAndGuardsVectors()
    {
        using var engine = PmdEngine.Start(new EngineOptions { Device = "mem:16M", Pin = false, BufferMemoryBytes = 8 << 20 });
        var dev = engine.Device;
        var ro = dev.CreateVolume("ro", 0, 64, VolumeAccess.ReadOnly);
        var rw = dev.CreateVolume("rw", 64, 64, VolumeAccess.ReadWrite);
        var done = new RecordingCompletion();
        using var a = dev.Rent(4096);
        a.Span.Fill(0x77);
        var roQueue = ro.GetQueue(0);
        var rwQueue = rw.GetQueue(0);
        Assert.That(() => ReactorKit.Run(roQueue.Queue, () => roQueue.TrySubmitWriteVectored(0, [a.Memory], done, 0)), Throws.InstanceOf<VolumeAccessDeniedException>());
        Assert.That(() => ReactorKit.Run(roQueue.Queue, () => roQueue.TrySubmitWriteZeroes(0, 1, false, done, 0)), Throws.InstanceOf<VolumeAccessDeniedException>());
        Assert.That(() => ReactorKit.Run(rwQueue.Queue, () => rwQueue.TrySubmitWriteVectored(63, [a.Memory], done, 0)), Throws.InstanceOf<ArgumentOutOfRangeException>(),
                    "8 blocks from volume block 63 leave the volume");
        Assert.That(ReactorKit.Run(rwQueue.Queue, () => rwQueue.TrySubmitWriteVectored(0, [a.Memory], done, 1)), Is.True);
        WaitFor(() => done.Count == 1);
        using var back = dev.Rent(4096);
        dev.ReadAsync(64, back.Memory).AsTask().Wait(TimeSpan.FromSeconds(10));
        Assert.That(back.Span.ToArray(), Is.All.EqualTo((byte)0x77), "volume block 0 is device block 64");
        Assert.That(ReactorKit.Run(rwQueue.Queue, () => rwQueue.TrySubmitWriteZeroes(0, 8, false, done, 2)), Is.True);
        WaitFor(() => done.Count == 2);
        dev.ReadAsync(64, back.Memory).AsTask().Wait(TimeSpan.FromSeconds(10));
        Assert.That(back.Span.ToArray(), Is.All.EqualTo((byte)0));
    }
}
