using Orion.Pmd.Testing;
using System.Diagnostics;
using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Virtio;

namespace Orion.Pmd.Engine.Tests;

/// <summary>
/// The engine recovers a queue by itself: a ring the device broke is reset and what was in flight is placed once
/// more (never completed twice, never placed a third time); a request the device sits on past the request timeout
/// is failed or retried once, and its queue is reset.
/// </summary>
public class RecoveryTests
{
    [TestCase(300u, VirtqueueError.UsedIdOutOfRange)]
    [TestCase(5u, VirtqueueError.UsedIdNotHead)]
    public void ABrokenRingIsResetAndItsRequestsArePlacedAgain(uint badId, VirtqueueError expected)
    {
        using var engine = ManualEngine.Start(queueSize: 64);
        var dev = engine.Device;
        using var buf = dev.Rent(4096);
        buf.Span.Fill(0x3C);
        engine.Wait(dev.WriteAsync(0, buf.Memory));
        buf.Span.Clear();

        var read = dev.ReadAsync(0, buf.Memory);
        engine.Reactors[0].RunOnce();                         // placed, the device has not run
        var pair = engine.Pairs[0];
        UsedRingForgery.ForgeUsed(pair.Ring, badId);
        engine.Reactors[0].RunOnce();                         // the driver sees garbage: reset and place again

        Assert.That(pair.Ring.IsBroken, Is.False, "a fresh ring replaced the broken one");
        Assert.That(pair.LastRecovery, Does.Contain(expected.ToString()));
        engine.Wait(read);                                     // completes from the fresh ring, once
        Assert.That(buf.Span.ToArray(), Is.All.EqualTo((byte)0x3C));
        var c = pair.Counters;
        Assert.That(c.QueueResets, Is.EqualTo(1));
        Assert.That(c.Resubmitted, Is.EqualTo(1));
        Assert.That(c.Errors, Is.Zero);
        // The queue keeps working.
        engine.Wait(dev.ReadAsync(8, buf.Memory));
    }

    [Test]
    public void ARequestBrokenTwiceFailsInsteadOfBeingPlacedAThirdTime()
    {
        using var engine = ManualEngine.Start(queueSize: 64);
        var dev = engine.Device;
        using var buf = dev.Rent(4096);
        var read = dev.ReadAsync(0, buf.Memory);
        var pair = engine.Pairs[0];
        for (int round = 0; round < 2; round++)
        {
            engine.Reactors[0].RunOnce();
            UsedRingForgery.ForgeUsed(pair.Ring, 300);
            engine.Reactors[0].RunOnce();
        }
        Assert.That(read.IsCompleted, Is.True);
        var e = Assert.Throws<BlockDeviceException>(() => read.GetAwaiter().GetResult());
        Assert.That(e!.Status, Is.EqualTo(IoStatus.QueueBroken));
        Assert.That(e.Message, Does.Contain("placed twice"));
        Assert.That(pair.Counters.QueueResets, Is.EqualTo(2));
        engine.Wait(dev.ReadAsync(8, buf.Memory));             // and the queue still serves
    }

    [TestCase(TimeoutPolicy.Fail, 1)]
    [TestCase(TimeoutPolicy.RetryOnce, 2)]
    [CancelAfter(30_000)]
    public async Task ARequestTheDeviceSitsOnTimesOutAndItsQueueIsReset(TimeoutPolicy policy, int expectedTimeouts)
    {
        // A device that takes 300 ms per request, against a 60 ms timeout: every placement times out.
        using var engine = PmdEngine.Start(new EngineOptions
        {
            Device = "null:16M,delay=300ms",
            Pin = false,
            BufferMemoryBytes = 8 << 20,
            RequestTimeout = TimeSpan.FromMilliseconds(60),
            TimeoutPolicy = policy,
        });
        var dev = engine.Device;
        using var buf = dev.Rent(4096);
        var sw = Stopwatch.StartNew();
        BlockDeviceException? e = null;
        try { await dev.ReadAsync(0, buf.Memory); }
        catch (BlockDeviceException x) { e = x; }
        var q = dev.GetQueue(0).Counters;
        Assert.That(e, Is.Not.Null, $"completed after {sw.ElapsedMilliseconds} ms; timeouts {q.Timeouts}, resets {q.QueueResets}, polls {q.Polls}, idle {q.IdlePolls}, last recovery {engine.Pairs[0].LastRecovery}");
        Assert.That(e!.Status, Is.EqualTo(IoStatus.TimedOut));
        Assert.That(e.Message, Does.Contain("not completed within 60 ms"));
        var c = dev.GetQueue(0).Counters;
        Assert.That(c.Timeouts, Is.EqualTo(expectedTimeouts));
        Assert.That(c.QueueResets, Is.EqualTo(expectedTimeouts));
        Assert.That(c.Requests, Is.EqualTo(1), "completed once, as a failure");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task TimeoutsAreOffWhenTheTimeoutIsZero()
    {
        using var engine = PmdEngine.Start(new EngineOptions
        {
            Device = "null:16M,delay=100ms",
            Pin = false,
            BufferMemoryBytes = 8 << 20,
            RequestTimeout = TimeSpan.Zero,
        });
        var dev = engine.Device;
        using var buf = dev.Rent(4096);
        await dev.ReadAsync(0, buf.Memory);
        Assert.That(dev.GetQueue(0).Counters.Timeouts, Is.Zero);
    }
}
