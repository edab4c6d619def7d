using Orion.Pmd.Engine;
using Orion.Pmd.Engine.Requests;

namespace Orion.Pmd.Engine.Tests;

/// <summary><see cref="BlockQueue.TrySubmitDiscard"/>: the callback form of a discard, with DiscardAsync's checks.</summary>
[NonParallelizable]
public class BlockQueueDiscardTests
{
    private static PmdEngine Start(string device) => PmdEngine.Start(new EngineOptions
    {
        Device = device,
        Queues = 1,
        QueueSize = 32,
        Pin = false,
        BufferMemoryBytes = 8 << 20,
    });

    [Test]
    [CancelAfter(30_000)]
    public void DiscardCompletesThroughTheCallback()
    {
        using var engine = Start("mem:16M");
        var queue = engine.Device.GetQueue(0);
        var completion = new RecordingCompletion();
        var (submitted, error) = ReactorKit.OnReactor(queue, () => queue.TrySubmitDiscard(8, 16, completion, 42));
        Assert.That(error, Is.Null);
        Assert.That(submitted, Is.True);
        Assert.That(completion.Signal.Wait(TimeSpan.FromSeconds(10)), Is.True);
        Assert.That(completion.Status, Is.EqualTo(IoStatus.Ok));
        Assert.That(completion.Tag, Is.EqualTo(42));
        Assert.That(queue.Counters.Requests, Is.EqualTo(1));
    }

    [Test]
    [CancelAfter(30_000)]
    public void BadDiscardsThrowLikeDiscardAsync()
    {
        using var engine = Start("mem:16M");
        var dev = engine.Device;
        var queue = dev.GetQueue(0);
        var completion = new RecordingCompletion();
        Assert.That(ReactorKit.OnReactor(queue, () => queue.TrySubmitDiscard(0, 0, completion, 0)).Error, Is.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(ReactorKit.OnReactor(queue, () => queue.TrySubmitDiscard(dev.BlockCount - 1, 2, completion, 0)).Error, Is.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(ReactorKit.OnReactor(queue, () => queue.TrySubmitDiscard(-1, 1, completion, 0)).Error, Is.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => queue.TrySubmitDiscard(0, 1, completion, 0), Throws.InstanceOf<InvalidOperationException>(), "off the reactor thread");
    }

    [Test]
    [CancelAfter(30_000)]
    public void ReadOnlyDeviceRefusesDiscard()
    {
        using var engine = Start("mem:16M,ro");
        var queue = engine.Device.GetQueue(0);
        var (_, error) = ReactorKit.OnReactor(queue, () => queue.TrySubmitDiscard(0, 1, new RecordingCompletion(), 0));
        Assert.That(error, Is.InstanceOf<InvalidOperationException>());
        Assert.That(error!.Message, Does.Contain("read-only"));
    }
}
