using Orion.Pmd.Virtio.Tests.Support;

namespace Orion.Pmd.Virtio.Tests;

/// <summary>Kick (driver → device) and interrupt (device → driver) suppression, VirtIO 1.1 §2.6.7 and §2.6.10.</summary>
public class NotificationTests
{
    private static int Add(RingPair pair, int slot) => pair.AddIndirect(slot, pair.Buffers(slot, (16, false), (1, true)));

    private static void AddMany(RingPair pair, int n)
    {
        for (int i = 0; i < n; i++) Assert.That(Add(pair, i), Is.GreaterThanOrEqualTo(0));
    }

    private static int DrainDriver(RingPair pair)
    {
        int n = 0;
        while (pair.Driver.TryPopUsed(out _, out _)) n++;
        return n;
    }

    // ---------------- kicks ----------------

    [Test]
    public void WithoutEventIdx_NoNotifyDecidesTheKick()
    {
        using var pair = new RingPair(8, eventIdx: false);
        Add(pair, 0);
        Assert.That(pair.Driver.PublishAndCheckKick(), Is.True, "a fresh device wants kicks");

        pair.Device.SuppressKicks();
        Assert.That(pair.HostileDevice.UsedFlags, Is.EqualTo(1), "VRING_USED_F_NO_NOTIFY");
        Add(pair, 1);
        Assert.That(pair.Driver.PublishAndCheckKick(), Is.False, "device polls: no kick");

        Assert.That(pair.ServiceAll(), Is.EqualTo(2));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(pair.Device.EnableKicksAndRecheck(), Is.False, "nothing left to do: the device may sleep");
            Assert.That(pair.HostileDevice.UsedFlags, Is.Zero);
        }
        Add(pair, 2);
        Assert.That(pair.Driver.PublishAndCheckKick(), Is.True, "kicks are wanted again");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void EnableKicksAndRecheck_SeesWorkPublishedWhileKicksWereOff(bool eventIdx)
    {
        using var pair = new RingPair(8, eventIdx: eventIdx);
        pair.Device.SuppressKicks();
        Add(pair, 0);
        Assert.That(pair.Driver.PublishAndCheckKick(), Is.False);
        Assert.That(pair.Device.EnableKicksAndRecheck(), Is.True, "work is already there: the device must not sleep");
        Assert.That(pair.ServiceAll(), Is.EqualTo(1));
        Assert.That(pair.Device.EnableKicksAndRecheck(), Is.False);
    }

    [Test]
    public void WithEventIdx_AvailEventDecidesTheKick()
    {
        using var pair = new RingPair(8, eventIdx: true, initialIndex: 65533);
        pair.Device.EnableKicksAndRecheck();
        Assert.That(pair.HostileDevice.AvailEvent, Is.EqualTo((ushort)65533), "kick me at the next entry");
        Add(pair, 0);
        Assert.That(pair.Driver.PublishAndCheckKick(), Is.True, "entry 65533 crosses avail_event");
        Add(pair, 1);
        Assert.That(pair.Driver.PublishAndCheckKick(), Is.False, "the device has not caught up: one kick is enough");

        pair.Device.SuppressKicks();
        Assert.That(pair.HostileDevice.AvailEvent, Is.EqualTo((ushort)(65533 - 8 - 1)), "suppressed: avail_event more than a queue behind the device");
        Assert.That(pair.ServiceAll(), Is.EqualTo(2));
        Assert.That(pair.HostileDevice.AvailEvent, Is.EqualTo((ushort)(65535 - 8 - 1)), "kept a queue behind while popping, so the device can never overtake it");
        DrainDriver(pair);
        for (int i = 0; i < 5; i++)
        {
            Add(pair, i);
            Assert.That(pair.Driver.PublishAndCheckKick(), Is.False, "suppressed with EVENT_IDX: no kick");
        }

        Assert.That(pair.Device.EnableKicksAndRecheck(), Is.True, "five entries are waiting");
        Assert.That(pair.ServiceAll(), Is.EqualTo(5));
        DrainDriver(pair);
        Assert.That(pair.Device.EnableKicksAndRecheck(), Is.False);
        Assert.That(pair.HostileDevice.AvailEvent, Is.EqualTo((ushort)4), "across the wrap: 65533 + 7");
        Add(pair, 0);
        Assert.That(pair.Driver.PublishAndCheckKick(), Is.True);
    }

    [TestCase(3, 3, false)]   // publishes old..old+2: event old+3 not reached
    [TestCase(3, 4, true)]    // publishes old..old+3: crosses
    [TestCase(0, 1, true)]
    [TestCase(1, 5, true)]    // event in the middle of a batch
    [TestCase(-1, 5, false)]  // event behind: already passed
    [TestCase(-8, 8, false)]
    public void WithEventIdx_KickIffTheBatchCrossesAvailEvent(int eventOffset, int batch, bool expectKick)
    {
        const ushort start = 65532;
        using var pair = new RingPair(8, eventIdx: true, initialIndex: start);
        pair.HostileDevice.AvailEvent = unchecked((ushort)(start + eventOffset));
        AddMany(pair, batch);
        Assert.That(pair.Driver.PublishAndCheckKick(), Is.EqualTo(expectKick));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void ABatch_IsPublishedWithOneIndexStoreAndOneKickDecision(bool eventIdx)
    {
        const ushort start = 65530;
        using var pair = new RingPair(16, eventIdx: eventIdx, initialIndex: start);
        pair.Device.EnableKicksAndRecheck();
        var ids = new List<int>();
        for (int i = 0; i < 12; i++)
        {
            ids.Add(Add(pair, i));
            Assert.That(pair.HostileDevice.AvailIdx, Is.EqualTo(start), "the index does not move while adding");
        }
        Assert.That(pair.Device.HasAvailable, Is.False);
        Assert.That(pair.Driver.PublishAndCheckKick(), Is.True, "one kick for the batch");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(pair.HostileDevice.AvailIdx, Is.EqualTo(unchecked((ushort)(start + 12))));
            Assert.That(pair.Driver.PublishedAvailIndex, Is.EqualTo(unchecked((ushort)(start + 12))));
            for (int i = 0; i < 12; i++)
                Assert.That(pair.HostileDevice.AvailEntry(unchecked((ushort)(start + i))), Is.EqualTo((ushort)ids[i]), $"avail slot {i}");
            Assert.That(pair.Driver.PublishAndCheckKick(), Is.False, "nothing new: no second kick");
            Assert.That(pair.HostileDevice.AvailIdx, Is.EqualTo(unchecked((ushort)(start + 12))));
        }
    }

    // ---------------- interrupts ----------------

    [Test]
    public void PolledDriverWithoutEventIdx_SetsNoInterrupt_AndTheDeviceNeverSignals()
    {
        using var pair = new RingPair(8, eventIdx: false, suppressInterrupts: true);
        Assert.That(pair.HostileDevice.AvailFlags, Is.EqualTo(1), "VRING_AVAIL_F_NO_INTERRUPT");
        for (int round = 0; round < 100; round++)
        {
            AddMany(pair, 1 + round % 8);
            pair.Driver.PublishAndCheckKick();
            while (pair.Device.TryPopAvail(pair.Chain)) pair.Device.PushUsed(pair.Chain.Head, 1);
            Assert.That(pair.Device.PublishUsed(), Is.False, $"round {round}");
            DrainDriver(pair);
        }
        Assert.That(pair.Device.PublishUsed(), Is.False, "nothing pushed: nothing to signal");
    }

    [TestCase(1)]
    [TestCase(8)]
    [TestCase(256)]
    public void PolledDriverWithEventIdx_KeepsUsedEventUnreachable(int size)
    {
        using var pair = new RingPair(size, eventIdx: true, suppressInterrupts: true, initialIndex: 65000, slotBytes: 1024);
        var rng = new Random(size);
        Assert.That(pair.HostileDevice.AvailFlags, Is.Zero, "with EVENT_IDX the flag is not used");
        int signals = 0, completed = 0;
        while (completed < 20_000)
        {
            int n = rng.Next(1, size + 1);
            for (int i = 0; i < n; i++) Add(pair, i);
            pair.Driver.PublishAndCheckKick();
            // used_event lies outside [consumed, consumed + size): no entry the device can publish reaches it
            int ahead = RingIndex.Distance(pair.Driver.LastUsedIndex, pair.HostileDevice.UsedEvent);
            if (ahead < size) Assert.Fail($"used_event {pair.HostileDevice.UsedEvent} is reachable from {pair.Driver.LastUsedIndex}");
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
    }

    [TestCase(32768, (ushort)0)]
    [TestCase(32768, (ushort)65535)]
    [TestCase(16384, (ushort)40000)]
    public void PolledDriverWithEventIdx_AFullMaximumQueueCompletedAtOnce_DoesNotSignal(int size, ushort initial)
    {
        using var pair = new RingPair(size, eventIdx: true, suppressInterrupts: true, initialIndex: initial, slots: 1, slotBytes: 1024);
        var segs = pair.Buffers(0, (16, false), (1, true));
        ulong table = pair.WriteIndirectTable(0, segs);      // every request shares one table: the device only reads it
        for (int round = 0; round < 2; round++)
        {
            for (int i = 0; i < size; i++)
                if (pair.Driver.AddIndirect(table, 2, 1) < 0) Assert.Fail($"add {i} refused");
            pair.Driver.PublishAndCheckKick();
            int n = 0;
            while (pair.Device.TryPopAvail(pair.Chain))
            {
                pair.Device.PushUsed(pair.Chain.Head, 1);
                n++;
            }
            Assert.That(n, Is.EqualTo(size));
            Assert.That(pair.Device.PublishUsed(), Is.False, $"round {round}: all {size} entries published at once");
            Assert.That(DrainDriver(pair), Is.EqualTo(size));
        }
    }

    [Test]
    public void PolledDriverWithEventIdx_FullQueueCompletedOneByOne_NeverSignals()
    {
        const int size = 64;
        using var pair = new RingPair(size, eventIdx: true, suppressInterrupts: true, initialIndex: 65500);
        for (int round = 0; round < 4; round++)
        {
            AddMany(pair, size);
            pair.Driver.PublishAndCheckKick();
            while (pair.Device.TryPopAvail(pair.Chain))
            {
                pair.Device.PushUsed(pair.Chain.Head, 1);
                Assert.That(pair.Device.PublishUsed(), Is.False);
            }
            Assert.That(DrainDriver(pair), Is.EqualTo(size));
        }
    }

    [TestCase(false)]
    [TestCase(true)]
    public void InterruptDrivenDriver_IsSignalledForEveryBatch(bool eventIdx)
    {
        const int size = 16;
        using var pair = new RingPair(size, eventIdx: eventIdx, suppressInterrupts: false, initialIndex: 65530);
        var rng = new Random(11);
        Assert.That(pair.HostileDevice.AvailFlags, Is.Zero, "no NO_INTERRUPT");
        for (int round = 0; round < 3000; round++)
        {
            AddMany(pair, rng.Next(1, size + 1));
            pair.Driver.PublishAndCheckKick();
            Assert.That(pair.ServiceAll(), Is.GreaterThan(0));
            // ServiceAll published the batch; a second publish with nothing new must not signal
            if (pair.Device.PublishUsed()) Assert.Fail($"round {round}: signal with nothing new");
            DrainDriver(pair);

            AddMany(pair, 1);
            pair.Driver.PublishAndCheckKick();
            Assert.That(pair.Device.TryPopAvail(pair.Chain), Is.True);
            pair.Device.PushUsed(pair.Chain.Head, 1);
            if (!pair.Device.PublishUsed())
                Assert.Fail($"round {round}: the driver waits for an interrupt (used idx {pair.HostileDevice.UsedIdx}, used_event {pair.HostileDevice.UsedEvent})");
            DrainDriver(pair);
        }
    }

    [Test]
    public void InterruptDrivenDriverWithEventIdx_IsNotSignalledAgainBeforeItConsumes()
    {
        using var pair = new RingPair(8, eventIdx: true, suppressInterrupts: false, initialIndex: 65534);
        AddMany(pair, 3);
        pair.Driver.PublishAndCheckKick();
        var heads = new List<ushort>();
        while (pair.Device.TryPopAvail(pair.Chain)) heads.Add(pair.Chain.Head);

        pair.Device.PushUsed(heads[0], 1);
        Assert.That(pair.Device.PublishUsed(), Is.True, "first completion after the driver's last look");
        pair.Device.PushUsed(heads[1], 1);
        Assert.That(pair.Device.PublishUsed(), Is.False, "the driver has not consumed the first yet");

        Assert.That(DrainDriver(pair), Is.EqualTo(2));
        pair.Device.PushUsed(heads[2], 1);
        Assert.That(pair.Device.PublishUsed(), Is.True, "the driver consumed everything: signal the next one");
    }
}
