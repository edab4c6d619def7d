using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Engine.Tests.Audit;
using Orion.Pmd.Engine.Tests.Faults;

namespace Orion.Pmd.Engine.Tests.Embedding;

/// <summary>
/// Exceptions on a reactor that are not the engine's own: a user's completion callback that throws, and anything else
/// that escapes a queue's poller. Neither may leave the queue's requests hanging.
/// </summary>
[NonParallelizable]
public class CallbackFaultTests
{
    /// <summary>Counts every completion; throws for one tag.</summary>
    private sealed class ThrowingCompletion(long throwOnTag) : IBlockCompletion
    {
        public readonly List<(long Tag, IoStatus Status)> Done = [];

        public void OnCompleted(long tag, IoStatus status)
        {
            Done.Add((tag, status));
            if (tag == throwOnTag) throw new InvalidOperationException($"user callback bug for tag {tag}");
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public void ACallbackThatThrowsIsCountedAndTheQueueGoesOn()
    {
        var logs = new CapturingLoggerFactory();
        using var engine = ManualEngine.Start(tweak: o => o with { LoggerFactory = logs });
        var dev = engine.Device;
        var queue = dev.GetQueue(0);
        using var buffer = dev.Rent(4096);
        var handler = new ThrowingCompletion(throwOnTag: 1);

        // Three requests in one batch: the first callback throws, the other two must still be delivered.
        queue.Reactor.Post(_ =>
        {
            for (int tag = 1; tag <= 3; tag++) queue.TrySubmitWrite(tag * 8, buffer, 0, 4096, handler, tag);
        }, null);
        Assert.That(engine.RunUntilDone(() => handler.Done.Count == 3), Is.True,
            $"every completion of the batch is delivered (got {handler.Done.Count})");
        Assert.That(handler.Done, Is.EquivalentTo(new[] { (1L, IoStatus.Ok), (2L, IoStatus.Ok), (3L, IoStatus.Ok) }));

        // The queue still serves: a throwing callback must not have taken its poller away.
        engine.Wait(dev.WriteAsync(64, buffer.Memory));
        queue.Reactor.Post(_ => queue.TrySubmitRead(8, buffer, 0, 4096, handler, 4), null);
        Assert.That(engine.RunUntilDone(() => handler.Done.Count == 4), Is.True, "a later callback request completes");

        Assert.That(queue.Counters.CallbackFaults, Is.EqualTo(1));
        Assert.That(queue.FirstCallbackFault?.Message, Does.Contain("tag 1"));
        Assert.That(queue.LastCallbackFault, Is.SameAs(queue.FirstCallbackFault));
        var logged = logs.Events.Where(e => e.Category == "Orion.Pmd.Engine" && e.Id.Id == 2003).ToList();
        Assert.That(logged, Has.Count.EqualTo(1));
        Assert.That(logged[0].Message, Does.Contain("tag 1"));
    }

    [Test]
    [CancelAfter(30_000)]
    public void ManyThrowingCallbacksAreLoggedOnceAndCountedEach()
    {
        var logs = new CapturingLoggerFactory();
        using var engine = ManualEngine.Start(tweak: o => o with { LoggerFactory = logs });
        var queue = engine.Device.GetQueue(0);
        using var buffer = engine.Device.Rent(4096);
        var handler = new ThrowingCompletion(throwOnTag: 7);
        for (int round = 0; round < 5; round++)
        {
            int before = handler.Done.Count;
            queue.Reactor.Post(_ => queue.TrySubmitRead(0, buffer, 0, 4096, handler, 7), null);
            Assert.That(engine.RunUntilDone(() => handler.Done.Count == before + 1), Is.True);
        }
        Assert.That(queue.Counters.CallbackFaults, Is.EqualTo(5));
        Assert.That(logs.Events.Count(e => e.Id.Id == 2003), Is.EqualTo(1), "said once, not once per fault");
    }

    [Test]
    [CancelAfter(30_000)]
    public void AnyOtherPollerFaultFailsTheQueuesRequestsInsteadOfHangingThem()
    {
        var logs = new CapturingLoggerFactory();
        using var engine = ConfigPatchingTransport.Start(c => c, logs: logs);
        var transport = (ConfigPatchingTransport)engine.Transport;
        var dev = engine.Device;
        using var buffer = dev.Rent(4096);

        // A request the (stalled) device holds, then a status read that throws out of the queue's poller.
        transport.DeviceStalled = true;
        var held = dev.WriteAsync(0, buffer.Memory);
        for (int i = 0; i < 10; i++) engine.PollOnce();
        transport.StatusReadsFail = true;
        for (int i = 0; i < 10; i++) engine.PollOnce();
        Assert.That(held.IsCompleted, Is.False, "failed, but withheld while the device may still read the caller's buffer");
        transport.DeviceStalled = false;                      // the device returns it: the failure reaches the caller
        Assert.That(engine.RunUntilDone(() => held.IsCompleted), Is.True, "the held request is failed, not left hanging");
        var error = Assert.Throws<BlockDeviceException>(() => held.GetAwaiter().GetResult())!;
        Assert.That(error.Status, Is.EqualTo(IoStatus.QueueBroken));
        Assert.That(error.Message, Does.Contain("test: the status read failed"));

        // Later requests on the dead queue fail at once too.
        transport.StatusReadsFail = false;
        using var other = dev.Rent(4096);
        var later = dev.ReadAsync(8, other.Memory);
        Assert.That(engine.RunUntilDone(() => later.IsCompleted), Is.True, "a later request is failed, not left hanging");
        Assert.That(Assert.Throws<BlockDeviceException>(() => later.GetAwaiter().GetResult())!.Status, Is.EqualTo(IoStatus.QueueBroken));
        Assert.That(logs.Events.Count(e => e.Category == "Orion.Pmd.Engine" && e.Id.Id == 2004), Is.EqualTo(1));
    }
}
