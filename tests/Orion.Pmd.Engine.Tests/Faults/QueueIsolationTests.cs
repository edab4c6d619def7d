using Orion.Pmd.Testing;
using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Virtio;

namespace Orion.Pmd.Engine.Tests.Faults;

/// <summary>
/// Queue isolation: a queue's request slots and buffers belong to its own ring. A hostile device answering on queue 1
/// with ids of queue 0's requests is caught on queue 1 (its ring validates ids against its own in-flight chains),
/// latched and recovered there, while queue 0's requests stay untouched and complete with their own data.
/// </summary>
public class QueueIsolationTests
{
    [TestCase(1u, true)]
    [TestCase(2u, true)]
    [TestCase(1u, false)]
    public void ACompletionOnQueue1WithQueue0sIdsNeverReachesQueue0(uint foreignId, bool recover)
    {
        using var engine = ManualEngine.Start(queues: 2, tweak: o => o with { RecoverBrokenQueues = recover });
        var dev = engine.Device;
        var q0Bufs = Enumerable.Range(0, 3).Select(_ => dev.Rent(4096)).ToArray();
        using var q1Buf = dev.Rent(4096);
        for (int i = 0; i < 3; i++)
        {
            q0Bufs[i].Span.Fill((byte)(0xA0 + i));
            engine.Wait(dev.WriteAsync(i * 8, q0Bufs[i].Memory));
            q0Bufs[i].Span.Fill(0xEE);                       // a read that touched nothing leaves this
        }
        q1Buf.Span.Fill(0x5A);
        engine.Wait(dev.WriteAsync(800, q1Buf.Memory));
        q1Buf.Span.Clear();

        // Queue 0: three reads in flight (ids 0.. of its ring). Queue 1: one read in flight (id 0 of its ring).
        var q0 = dev.GetQueue(0);
        var q1 = dev.GetQueue(1);
        var handler0 = new Recorder();
        for (int i = 0; i < 3; i++)
            Assert.That(RunOn(engine, 0, () => q0.TrySubmitRead(i * 8, q0Bufs[i], 0, 4096, handler0, i)), Is.True);
        var handler1 = new Recorder();
        Assert.That(RunOn(engine, 1, () => q1.TrySubmitRead(800, q1Buf, 0, 4096, handler1, 100)), Is.True);
        engine.Reactors[0].RunOnce();
        engine.Reactors[1].RunOnce();                      // all placed; the device has not run
        var ring0Before = engine.Pairs[0].Ring.InFlight;

        // The hostile device completes, on queue 1, an id that only queue 0 has in flight.
        UsedRingForgery.ForgeUsed(engine.Pairs[1].Ring, foreignId);
        engine.Reactors[1].RunOnce();

        // Queue 0 is untouched: nothing delivered, its buffers as they were, its ring still holding its three requests.
        Assert.That(handler0.Completed, Is.Empty, "nothing completed into queue 0");
        Assert.That(q0Bufs.All(b => b.Span.IndexOfAnyExcept((byte)0xEE) < 0), Is.True, "queue 0's buffers untouched");
        Assert.That(engine.Pairs[0].Ring.InFlight, Is.EqualTo(ring0Before));
        Assert.That(engine.Pairs[0].Ring.IsBroken, Is.False);
        Assert.That(q0.Counters.QueueResets, Is.Zero);
        // Queue 1 detected it and named it.
        if (recover) Assert.That(engine.Pairs[1].LastRecovery, Does.Contain(nameof(VirtqueueError.UsedIdNotHead)).Or.Contain(nameof(VirtqueueError.UsedIdOutOfRange)));
        else
        {
            Assert.That(engine.Pairs[1].Ring.IsBroken, Is.True);
            Assert.That(handler1.Completed, Is.Empty, "failed, but withheld while the device may still write its buffer");
        }

        // Queue 0 keeps completing correctly while (and after) queue 1 recovers.
        Assert.That(engine.RunUntil(() => handler0.Completed.Count == 3, 100_000), Is.True);
        Assert.That(handler0.Completed.Select(c => c.Status), Is.All.EqualTo(IoStatus.Ok));
        for (int i = 0; i < 3; i++) Assert.That(q0Bufs[i].Span.ToArray(), Is.All.EqualTo((byte)(0xA0 + i)), $"queue 0 read {i} got its own data");
        Assert.That(q0.Counters.Errors, Is.Zero);
        if (recover)
        {
            Assert.That(engine.RunUntil(() => handler1.Completed.Count == 1, 100_000), Is.True);
            Assert.That(handler1.Completed.Single(), Is.EqualTo((100L, IoStatus.Ok)), "queue 1's request placed again, completed once");
            Assert.That(q1Buf.Span.ToArray(), Is.All.EqualTo((byte)0x5A));
        }
        else
        {
            q1.Disable();
            q1.Reset();                                      // the device lets go of queue 1's ring: the failure is delivered
            Assert.That(handler1.Completed.Single(), Is.EqualTo((100L, IoStatus.QueueBroken)));
        }
        foreach (var b in q0Bufs) b.Dispose();
    }

    private static bool RunOn(PmdEngine engine, int queue, Func<bool> submit)
    {
        bool result = false;
        engine.Reactors[queue].Post(_ => result = submit(), null);
        engine.Reactors[queue].RunOnce();
        return result;
    }

    private sealed class Recorder : IBlockCompletion
    {
        public readonly List<(long Tag, IoStatus Status)> Completed = [];
        public void OnCompleted(long tag, IoStatus status) => Completed.Add((tag, status));
    }
}
