using Orion.Pmd.Reactors;

namespace Orion.Pmd.Reactors.Tests;

public class PollerHarnessTests
{
    /// <summary>One side of a ping-pong: each message received on its reactor posts one to the peer's, up to a total.</summary>
    private sealed class Player(Reactor home, int[] total, int limit)
    {
        public static readonly Action<object?> Deliver = static s => ((Player)s!).Receive();
        public Player? Peer;
        public int Received;

        private void Receive()
        {
            Assert.That(Reactor.Current, Is.SameAs(home), "delivered on the player's own reactor");
            Received++;
            if (++total[0] < limit) Peer!.Send();
        }

        public void Send() => home.Post(Deliver, this);
    }

    [Test]
    public void RunUntilIdle_DrivesTwoReactorsTradingMessages_Deterministically()
    {
        var a = new Reactor(new ReactorOptions { Id = 0 });
        var b = new Reactor(new ReactorOptions { Id = 1 });
        int[] total = [0];
        var pa = new Player(a, total, 10);
        var pb = new Player(b, total, 10) { Peer = pa };
        pa.Peer = pb;
        var harness = new PollerHarness().Add(a).Add(b);

        pa.Send();
        int iterations = harness.RunUntilIdle();

        Assert.That(pa.Received + pb.Received, Is.EqualTo(10));
        Assert.That(pa.Received, Is.EqualTo(5));
        Assert.That(iterations, Is.EqualTo(6), "a and b each take one message per iteration, then one idle pass");
        Assert.That(harness.Iterations, Is.EqualTo(iterations));
    }

    [Test]
    public void RunUntil_StopsWhenTheConditionHolds()
    {
        var poller = new CountingPoller(1);
        var harness = new PollerHarness().Add(poller);
        Assert.That(harness.RunUntil(() => poller.Polls == 7), Is.True);
        Assert.That(poller.Polls, Is.EqualTo(7));
        Assert.That(harness.RunUntil(() => false, maxIterations: 10), Is.False);
        Assert.That(poller.Polls, Is.EqualTo(17));
    }

    [Test]
    public void RunOnce_RunsEachInOrder_AndSumsWork()
    {
        var log = new List<int>();
        var harness = new PollerHarness()
            .Add(new FuncPoller(() => { log.Add(1); return 1; }))
            .Add(new FuncPoller(() => { log.Add(2); return 2; }));
        Assert.That(harness.RunOnce(), Is.EqualTo(3));
        Assert.That(log, Is.EqualTo(new[] { 1, 2 }));
    }

    [Test]
    public void RunUntilIdle_ThrowsWhenNeverIdle()
    {
        var harness = new PollerHarness().Add(new CountingPoller(1));
        Assert.That(() => harness.RunUntilIdle(maxIterations: 100), Throws.InvalidOperationException);
    }

    [Test]
    public void RunUntilIdle_CountsTheIdleIteration()
    {
        int work = 3;
        var harness = new PollerHarness().Add(new FuncPoller(() => work > 0 ? work-- : 0));
        Assert.That(harness.RunUntilIdle(), Is.EqualTo(4));
    }
}
