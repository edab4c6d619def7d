using Orion.Pmd.Virtio.Tests.Support;

namespace Orion.Pmd.Virtio.Tests.Contract;

// Kick (driver → device) and interrupt (device → driver) suppression, observed only through the interfaces: the
// device's PublishUsed says whether it would interrupt, the driver's PublishAndCheckKick whether it would kick.
public abstract partial class RingContractTests
{
    private static int AddOne(RingHarness pair, int slot) => pair.AddIndirect(slot, pair.Buffers(slot, (16, false), (1, true)));

    private static void AddMany(RingHarness pair, int n)
    {
        for (int i = 0; i < n; i++) Assert.That(AddOne(pair, i), Is.GreaterThanOrEqualTo(0));
    }

    private static int DrainDriver(RingHarness pair)
    {
        int n = 0;
        while (pair.Driver.TryPopUsed(out _, out _)) n++;
        return n;
    }

    /// <summary>Adds and publishes <paramref name="n"/> requests and lets the device pop them all; returns their ids.</summary>
    private static List<ushort> SubmitAndPop(RingHarness pair, int n)
    {
        AddMany(pair, n);
        pair.Driver.PublishAndCheckKick();
        var heads = new List<ushort>();
        while (pair.Device.TryPopAvail(pair.Chain)) heads.Add(pair.Chain.Head);
        Assert.That(heads, Has.Count.EqualTo(n), pair.Device.ErrorMessage);
        return heads;
    }

    private static bool CompleteOne(RingHarness pair, ushort id)
    {
        pair.Device.PushUsed(id, 1);
        return pair.Device.PublishUsed();
    }

    // ---------------- interrupts ----------------

    [TestCase(false)]
    [TestCase(true)]
    public void PolledDriver_TheDeviceNeverSignals(bool eventIdx)
    {
        const int size = 16;
        using var pair = Create(size, eventIdx: eventIdx, suppressInterrupts: true, initialIndex: 65000);
        var rng = new Random(size);
        int signals = 0, completed = 0;
        while (completed < 5_000)
        {
            AddMany(pair, rng.Next(1, size + 1));
            pair.Driver.PublishAndCheckKick();
            // the device publishes in several small batches, the driver consumes only at the end
            while (pair.Device.TryPopAvail(pair.Chain))
            {
                pair.Device.PushUsed(pair.Chain.Head, 1);
                if (rng.Next(3) == 0 && pair.Device.PublishUsed()) signals++;
            }
            if (pair.Device.PublishUsed()) signals++;
            completed += DrainDriver(pair);
        }
        Assert.That(signals, Is.Zero);
        Assert.That(pair.Device.PublishUsed(), Is.False, "nothing pushed: nothing to signal");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void PolledDriver_AFullQueueCompletedOneByOne_NeverSignals(bool eventIdx)
    {
        const int size = 64;
        using var pair = Create(size, eventIdx: eventIdx, suppressInterrupts: true, initialIndex: 65500);
        for (int round = 0; round < 4; round++)
        {
            foreach (var id in SubmitAndPop(pair, size)) Assert.That(CompleteOne(pair, id), Is.False, $"round {round}");
            Assert.That(DrainDriver(pair), Is.EqualTo(size));
        }
    }

    [TestCase(false)]
    [TestCase(true)]
    public void InterruptDrivenDriver_IsSignalledForEveryBatch(bool eventIdx)
    {
        const int size = 16;
        using var pair = Create(size, eventIdx: eventIdx, suppressInterrupts: false, initialIndex: 65530);
        var rng = new Random(11);
        for (int round = 0; round < 2000; round++)
        {
            AddMany(pair, rng.Next(1, size + 1));
            pair.Driver.PublishAndCheckKick();
            Assert.That(pair.ServiceAll(), Is.GreaterThan(0));
            if (pair.Device.PublishUsed()) Assert.Fail($"round {round}: signal with nothing new");
            DrainDriver(pair);

            var id = SubmitAndPop(pair, 1)[0];
            if (!CompleteOne(pair, id)) Assert.Fail($"round {round}: the driver waits for an interrupt that does not come");
            DrainDriver(pair);
        }
    }

    [Test]
    public void InterruptDrivenDriverWithEventIdx_IsNotSignalledAgainBeforeItConsumes()
    {
        using var pair = Create(8, eventIdx: true, suppressInterrupts: false, initialIndex: 65534);
        var heads = SubmitAndPop(pair, 3);
        Assert.That(CompleteOne(pair, heads[0]), Is.True, "first completion after the driver's last look");
        Assert.That(CompleteOne(pair, heads[1]), Is.False, "the driver has not consumed the first yet");
        Assert.That(DrainDriver(pair), Is.EqualTo(2));
        Assert.That(CompleteOne(pair, heads[2]), Is.True, "the driver consumed everything: signal the next one");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void DisableInterrupts_StopsSignals(bool eventIdx)
    {
        using var pair = Create(8, eventIdx: eventIdx, suppressInterrupts: false);
        Assert.That(CompleteOne(pair, SubmitAndPop(pair, 1)[0]), Is.True, "interrupt-driven at first");
        DrainDriver(pair);
        pair.Driver.DisableInterrupts();
        for (int round = 0; round < 50; round++)
        {
            foreach (var id in SubmitAndPop(pair, 1 + round % 8)) Assert.That(CompleteOne(pair, id), Is.False, $"round {round}");
            DrainDriver(pair);
        }
    }

    [TestCase(false)]
    [TestCase(true)]
    public void EnableInterruptsAndRecheck_AsksForTheNextCompletion(bool eventIdx)
    {
        using var pair = Create(8, eventIdx: eventIdx, suppressInterrupts: true, initialIndex: 65533);
        for (int round = 0; round < 20; round++)
        {
            var heads = SubmitAndPop(pair, 1 + round % 3);
            Assert.That(pair.Driver.EnableInterruptsAndRecheck(), Is.False, "nothing pending: the caller may sleep");
            Assert.That(CompleteOne(pair, heads[0]), Is.True, $"round {round}: the next completion interrupts");
            pair.Driver.DisableInterrupts();
            for (int i = 1; i < heads.Count; i++) Assert.That(CompleteOne(pair, heads[i]), Is.False, "disabled again");
            Assert.That(DrainDriver(pair), Is.EqualTo(heads.Count));
        }
    }

    [TestCase(false)]
    [TestCase(true)]
    public void EnableInterruptsAndRecheck_ReportsCompletionsPublishedWhileDisabled(bool eventIdx)
    {
        using var pair = Create(8, eventIdx: eventIdx, suppressInterrupts: true);
        var heads = SubmitAndPop(pair, 2);
        Assert.That(CompleteOne(pair, heads[0]), Is.False, "polled: no interrupt");
        Assert.That(pair.Driver.EnableInterruptsAndRecheck(), Is.True, "a completion is already there: the caller must not sleep");
        Assert.That(DrainDriver(pair), Is.EqualTo(1));
        Assert.That(pair.Driver.EnableInterruptsAndRecheck(), Is.False);
        Assert.That(CompleteOne(pair, heads[1]), Is.True);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void EnableInterruptsCoalesced_SignalsOnceTheTargetIsReached(bool eventIdx)
    {
        using var pair = Create(16, eventIdx: eventIdx, suppressInterrupts: true, initialIndex: 65533);
        for (int round = 0; round < 6; round++)
        {
            var heads = SubmitAndPop(pair, 8);
            Assert.That(pair.Driver.EnableInterruptsCoalesced(4), Is.False, "nothing pending yet");
            var signals = new List<bool>();
            foreach (var id in heads) signals.Add(CompleteOne(pair, id));
            // Without EVENT_IDX there is no way to say "after four": every publication interrupts.
            var expected = eventIdx
                ? new[] { false, false, false, true, false, false, false, false }
                : Enumerable.Repeat(true, 8).ToArray();
            Assert.That(signals, Is.EqualTo(expected), $"round {round}");
            Assert.That(DrainDriver(pair), Is.EqualTo(8));
            pair.Driver.DisableInterrupts();
        }
    }

    [Test]
    public void EnableInterruptsCoalesced_KeepsItsTargetWhileCompletionsAreTaken()
    {
        using var pair = Create(16, eventIdx: true, suppressInterrupts: true);
        var heads = SubmitAndPop(pair, 6);
        Assert.That(pair.Driver.EnableInterruptsCoalesced(4), Is.False);
        Assert.That(CompleteOne(pair, heads[0]), Is.False);
        Assert.That(CompleteOne(pair, heads[1]), Is.False);
        Assert.That(DrainDriver(pair), Is.EqualTo(2), "taking completions does not move the target");
        Assert.That(CompleteOne(pair, heads[2]), Is.False);
        Assert.That(CompleteOne(pair, heads[3]), Is.True, "the fourth completion after the request");
        pair.Device.PushUsed(heads[4], 1);
        pair.Device.PushUsed(heads[5], 1);
        Assert.That(pair.Device.PublishUsed(), Is.False, "one interrupt, not one per completion");
    }

    [Test]
    public void EnableInterruptsCoalesced_ATargetCrossedInsideOneBatch_Signals()
    {
        using var pair = Create(8, eventIdx: true, suppressInterrupts: true);
        var heads = SubmitAndPop(pair, 8);
        pair.Driver.EnableInterruptsCoalesced(3);
        foreach (var id in heads) pair.Device.PushUsed(id, 1);
        Assert.That(pair.Device.PublishUsed(), Is.True, "eight completions published at once cover the third");
    }

    // ---------------- kicks ----------------

    [TestCase(false)]
    [TestCase(true)]
    public void SuppressKicks_StopsKicks_AndEnableKicksAndRecheck_BringsThemBack(bool eventIdx)
    {
        using var pair = Create(8, eventIdx: eventIdx);
        AddOne(pair, 0);
        Assert.That(pair.Driver.PublishAndCheckKick(), Is.True, "a fresh device wants kicks");

        pair.Device.SuppressKicks();
        for (int i = 1; i < 6; i++)
        {
            AddOne(pair, i);
            Assert.That(pair.Driver.PublishAndCheckKick(), Is.False, "device polls: no kick");
        }
        Assert.That(pair.ServiceAll(), Is.EqualTo(6));
        Assert.That(pair.Device.EnableKicksAndRecheck(), Is.False, "nothing left to do: the device may sleep");
        DrainDriver(pair);
        AddOne(pair, 2);
        Assert.That(pair.Driver.PublishAndCheckKick(), Is.True, "kicks are wanted again");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void EnableKicksAndRecheck_SeesWorkPublishedWhileKicksWereOff(bool eventIdx)
    {
        using var pair = Create(8, eventIdx: eventIdx);
        pair.Device.SuppressKicks();
        AddOne(pair, 0);
        Assert.That(pair.Driver.PublishAndCheckKick(), Is.False);
        Assert.That(pair.Device.EnableKicksAndRecheck(), Is.True, "work is already there: the device must not sleep");
        Assert.That(pair.ServiceAll(), Is.EqualTo(1));
        Assert.That(pair.Device.EnableKicksAndRecheck(), Is.False);
    }

    [Test]
    public void WithEventIdx_OneKickUntilTheDeviceCatchesUp()
    {
        using var pair = Create(8, eventIdx: true, initialIndex: 65533);
        for (int round = 0; round < 10; round++)
        {
            Assert.That(pair.Device.EnableKicksAndRecheck(), Is.False);
            AddOne(pair, 0);
            Assert.That(pair.Driver.PublishAndCheckKick(), Is.True, $"round {round}: the first publish after enabling kicks");
            AddOne(pair, 1);
            Assert.That(pair.Driver.PublishAndCheckKick(), Is.False, "the device has not caught up: one kick is enough");
            Assert.That(pair.ServiceAll(), Is.EqualTo(2));
            Assert.That(DrainDriver(pair), Is.EqualTo(2));
        }
    }

    [TestCase(false)]
    [TestCase(true)]
    public void ABrokenDriver_WritesNoNotificationState(bool eventIdx)
    {
        using var pair = Create(8, eventIdx: eventIdx);
        pair.Driver.MarkBroken(VirtqueueError.UsedIdNotHead, "test");
        var snapshot = pair.Region.Snapshot();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(pair.Driver.EnableInterruptsAndRecheck(), Is.False);
            Assert.That(pair.Driver.EnableInterruptsCoalesced(2), Is.False);
            pair.Driver.DisableInterrupts();
            Assert.That(pair.Region.Snapshot(), Is.EqualTo(snapshot));
        }
    }
}
