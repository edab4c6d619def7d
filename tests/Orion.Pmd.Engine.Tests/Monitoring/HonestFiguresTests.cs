using Orion.Pmd.Engine.Requests;

namespace Orion.Pmd.Engine.Tests.Monitoring;

/// <summary>
/// Each figure measures what its name says: the submit-to-complete latency starts when the caller submitted (the
/// hand-off and the wait for ring space included), bytes are counted only for requests that moved them, and a
/// withdrawn cancellation is neither a completed request nor progress for the device-reset limit.
/// </summary>
[NonParallelizable]
public class HonestFiguresTests
{
    [Test]
    [CancelAfter(30_000)]
    public void SubmitToCompleteLatencyStartsWhenTheCallerSubmitted()
    {
        // Two ring slots: two reads are placed, the third waits for ring space. Nothing is served for 30 ms, so every
        // read's latency from its submission is at least that; counted from its placement, the third's would not be.
        var wait = TimeSpan.FromMilliseconds(30);
        using var engine = ManualEngine.Start(queueSize: 2);
        var dev = engine.Device;
        var buffers = Enumerable.Range(0, 3).Select(_ => dev.Rent(4096)).ToArray();
        engine.Monitor.TakeSnapshot();                               // nothing before this counts
        var reads = buffers.Select((b, i) => dev.ReadAsync(i * 8, b.Memory)).ToArray();
        engine.Reactors[0].RunOnce();                                // hand-off taken: two placed, one pending
        Assert.That(engine.Pairs[0].Counters.Pending, Is.EqualTo(1), "the third read waits for ring space");
        Thread.Sleep(wait);
        foreach (var r in reads) engine.Wait(r);

        var latency = engine.Monitor.TakeSnapshot().Latency;
        Assert.That(latency.TotalCount, Is.EqualTo(3));
        Assert.That(latency.GetValueAtPercentile(0), Is.GreaterThanOrEqualTo((long)(wait.TotalMilliseconds * 1_000_000 * 0.999)),
            "the read that waited for ring space is measured from its submission, not its placement");
        foreach (var b in buffers) b.Dispose();
    }

    [Test]
    [CancelAfter(30_000)]
    public void AFailedRequestMovesNoBytes()
    {
        using var engine = ManualEngine.Start("mem:16M,fault=ioerr:every=2:type=read");
        var dev = engine.Device;
        using var buffer = dev.Rent(4096);
        engine.Wait(dev.ReadAsync(0, buffer.Memory));                 // the first read succeeds...
        Assert.Throws<BlockDeviceException>(() => engine.Wait(dev.ReadAsync(8, buffer.Memory)));     // ...the second fails
        var counters = dev.GetQueue(0).Counters;
        Assert.That((counters.Requests, counters.Errors), Is.EqualTo((2L, 1L)));
        Assert.That(counters.Bytes, Is.EqualTo(4096), "only the read that succeeded moved data");
    }

    [Test]
    [CancelAfter(30_000)]
    public void AWithdrawnCancellationIsCountedApartNotAsACompletedRequest()
    {
        using var engine = ManualEngine.Start();
        var dev = engine.Device;
        using var buffer = dev.Rent(4096);
        using var cts = new CancellationTokenSource();
        var read = dev.ReadAsync(0, buffer.Memory, cts.Token);
        cts.Cancel();                                                 // before the reactor saw it: withdrawn
        Assert.That(engine.RunUntil(() => read.IsCompleted, 1_000), Is.True);
        Assert.Catch<OperationCanceledException>(() => read.GetAwaiter().GetResult());
        engine.Wait(dev.ReadAsync(8, buffer.Memory));

        var counters = dev.GetQueue(0).Counters;
        Assert.That(counters.Requests, Is.EqualTo(1), "one request completed; the withdrawn one never reached the device");
        Assert.That(counters.Withdrawn, Is.EqualTo(1));
        Assert.That(counters.Errors, Is.Zero);
        Assert.That(counters.Bytes, Is.EqualTo(4096));
    }

    [Test]
    [CancelAfter(60_000)]
    public void AWithdrawnCancellationIsNoProgressForTheDeviceResetLimit()
    {
        // Every read makes the device ask for a reset and is never completed: device resets make no progress. With a
        // limit of one reset without progress the engine declines the second, unless something counts as progress.
        using var engine = ManualEngine.Start("mem:16M,fault=needs-reset:every=1:type=read",
            tweak: o => o with { MaxDeviceResetsWithoutProgress = 1, RequestTimeout = TimeSpan.FromMinutes(5), DrainTimeout = TimeSpan.FromMilliseconds(100) });
        var dev = engine.Device;
        using var buffer = dev.Rent(4096);
        using var other = dev.Rent(4096);
        var stuck = dev.ReadAsync(0, buffer.Memory);
        Assert.That(engine.RunUntil(() => engine.DeviceResets == 1, 100_000), Is.True, "the first reset: " + engine.LastDeviceReset);

        using var cts = new CancellationTokenSource();
        var withdrawn = dev.WriteAsync(8, other.Memory, cts.Token);
        cts.Cancel();
        Assert.That(engine.RunUntil(() => withdrawn.IsCompleted, 1_000), Is.True);
        Assert.Catch<OperationCanceledException>(() => withdrawn.GetAwaiter().GetResult());

        Assert.That(engine.RunUntil(() => engine.DeviceResets > 1 || engine.LastDeviceReset?.StartsWith("declined") == true, 100_000), Is.True,
            engine.LastDeviceReset);
        Assert.That(engine.LastDeviceReset, Does.StartWith("declined"), "a withdrawn request is no progress: the second reset is declined");
        Assert.That(engine.DeviceResets, Is.EqualTo(1));
        Assert.That(stuck.IsCompleted, Is.False);
    }
}
