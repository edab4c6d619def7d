using Orion.Pmd.Virtio.Rings;
using Orion.Pmd.Virtio.Tests.Support;

namespace Orion.Pmd.Virtio.Tests.Packed;

/// <summary>
/// The bytes each packed side writes (VirtIO 1.1 §2.7): wrap bits per lap, buffer ids, the withheld head and used
/// flags that make a batch visible at once, and the skip by chain length.
/// </summary>
public class PackedWireFormatTests
{
    private const ushort A = PackedRingBytes.AvailFlag;
    private const ushort U = PackedRingBytes.UsedFlag;

    [Test]
    public void AChain_CarriesWrapBitsNextWriteAndIdInEveryDescriptor_HeadFlagsLast()
    {
        using var pair = new PackedRingPair(8);
        var segs = pair.Buffers(0, (16, false), (512, true), (1, true));
        int id = pair.Driver.AddChain(segs);
        Assert.That(id, Is.Zero, "first id from a fresh free list");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(pair.Ring.Flags(0), Is.Zero, "the first head of a batch is withheld until publish");
            Assert.That(pair.Ring.Descriptor(0).Address, Is.EqualTo(segs[0].GuestAddress), "but its other fields are written");
            Assert.That(pair.Ring.Descriptor(1), Is.EqualTo((segs[1].GuestAddress, 512u, (ushort)0, (ushort)(A | 2 | 1))));
            Assert.That(pair.Ring.Descriptor(2), Is.EqualTo((segs[2].GuestAddress, 1u, (ushort)0, (ushort)(A | 2))), "last: no NEXT, carries the id");
        }
        Assert.That(pair.Driver.PublishAndCheckKick(), Is.True);
        Assert.That(pair.Ring.Descriptor(0), Is.EqualTo((segs[0].GuestAddress, 16u, (ushort)0, (ushort)(A | 1))), "AVAIL = 1, USED = 0 in the first lap");
    }

    [Test]
    public void ABatch_OnlyTheFirstHeadIsWithheld()
    {
        using var pair = new PackedRingPair(8);
        pair.AddIndirect(0, pair.Buffers(0, (16, false), (1, true)));
        pair.Driver.AddChain(pair.Buffers(1, (16, false), (1, true)));
        pair.AddIndirect(2, pair.Buffers(2, (1, true)));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(pair.Ring.Flags(0), Is.Zero, "withheld");
            Assert.That(pair.Ring.Flags(1), Is.EqualTo(A | 1), "second request's head written at add: the device cannot reach it first");
            Assert.That(pair.Ring.Flags(3), Is.EqualTo(A | 4), "indirect");
            Assert.That(pair.Device.HasAvailable, Is.False);
        }
        pair.Driver.PublishAndCheckKick();
        Assert.That(pair.Ring.Descriptor(0), Is.EqualTo((pair.SlotGuest(0), 32u, (ushort)0, (ushort)(A | 4))), "indirect: table address, 16 × entries");
    }

    [Test]
    public void WrapBits_FlipEachLap_AndAChainCrossesTheRingEnd()
    {
        using var pair = new PackedRingPair(5);
        for (int i = 0; i < 3; i++) pair.AddIndirect(i, pair.Buffers(i, (1, true)));
        pair.Driver.PublishAndCheckKick();
        Assert.That(pair.ServiceAll(), Is.EqualTo(3));
        while (pair.Driver.TryPopUsed(out _, out _)) { }

        // positions 3, 4 in lap 1 (wrap 1), then 0, 1 in lap 2 (wrap 0)
        var segs = pair.Buffers(3, (16, false), (16, false), (16, true), (1, true));
        int id = pair.Driver.AddChain(segs);
        pair.Driver.PublishAndCheckKick();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(pair.Ring.Flags(3), Is.EqualTo(A | 1));
            Assert.That(pair.Ring.Flags(4), Is.EqualTo(A | 1));
            Assert.That(pair.Ring.Flags(0), Is.EqualTo(U | 2 | 1), "second lap: AVAIL = 0, USED = 1");
            Assert.That(pair.Ring.Flags(1), Is.EqualTo(U | 2));
            Assert.That(pair.Ring.Descriptor(1).Id, Is.EqualTo((ushort)id));
            Assert.That(pair.Driver.AvailWrapCounter, Is.False, "flipped after the last descriptor of the ring");
            Assert.That(pair.Driver.NextAvailPosition, Is.EqualTo((ushort)2));
        }
        Assert.That(pair.Device.TryPopAvail(pair.Chain), Is.True, pair.Device.ErrorMessage);
        pair.AssertChain(pair.Chain, id, segs);
        pair.Device.PushUsed(pair.Chain.Head, 17);
        pair.Device.PublishUsed();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(pair.Ring.Descriptor(3), Is.EqualTo((segs[0].GuestAddress, 17u, (ushort)id, (ushort)(A | U | 2))), "used in lap 1: AVAIL = USED = 1, WRITE: data written");
            Assert.That(pair.Device.UsedWrapCounter, Is.False);
            Assert.That(pair.Device.UsedPosition, Is.EqualTo((ushort)2), "skipped the four descriptors of the chain");
            Assert.That(pair.Driver.TryPopUsed(out ushort done, out uint len), Is.True);
            Assert.That((done, len), Is.EqualTo(((ushort)id, 17u)));
            Assert.That(pair.Driver.LastUsedPosition, Is.EqualTo((ushort)2));
            Assert.That(pair.Driver.UsedWrapCounter, Is.False);
        }

        // a used descriptor in lap 2 has AVAIL = USED = 0; a zero length leaves WRITE clear
        pair.AddIndirect(0, pair.Buffers(0, (16, false)));
        pair.Driver.PublishAndCheckKick();
        Assert.That(pair.Device.TryPopAvail(pair.Chain), Is.True);
        pair.Device.PushUsed(pair.Chain.Head, 0);
        pair.Device.PublishUsed();
        Assert.That(pair.Ring.Flags(2), Is.Zero);
        Assert.That(pair.Driver.TryPopUsed(out _, out uint zero), Is.True);
        Assert.That(zero, Is.Zero);
    }

    [Test]
    public void UsedDescriptors_OnlyTheFirstOfABatchIsWithheld_AndEachSkipsItsChain()
    {
        using var pair = new PackedRingPair(8);
        int a = pair.Driver.AddChain(pair.Buffers(0, (16, false), (100, true), (1, true)));   // positions 0..2
        int b = pair.AddIndirect(1, pair.Buffers(1, (16, false), (1, true)));                  // position 3
        pair.Driver.PublishAndCheckKick();
        Assert.That(pair.Device.TryPopAvail(pair.Chain), Is.True);
        Assert.That(pair.Device.TryPopAvail(pair.Chain), Is.True);

        pair.Device.PushUsed((ushort)b, 1);       // completed first: written at position 0, skips 1
        pair.Device.PushUsed((ushort)a, 101);     // then at position 1, skips 3
        using (Assert.EnterMultipleScope())
        {
            Assert.That(pair.Ring.Descriptor(0).Id, Is.EqualTo((ushort)b));
            Assert.That(pair.Ring.Flags(0), Is.EqualTo(A | 1), "still the driver's head: withheld until publish");
            Assert.That(pair.Ring.Descriptor(1), Is.EqualTo((pair.Ring.Descriptor(1).Address, 101u, (ushort)a, (ushort)(A | U | 2))));
            Assert.That(pair.Driver.HasPendingUsed, Is.False, "the driver polls position 0 only");
            Assert.That(pair.Device.UsedPosition, Is.EqualTo((ushort)4));
        }
        pair.Device.PublishUsed();
        Assert.That(pair.Ring.Flags(0), Is.EqualTo(A | U | 2));
        Assert.That(pair.Driver.TryPopUsed(out ushort first, out _), Is.True);
        Assert.That(pair.Driver.TryPopUsed(out ushort second, out _), Is.True);
        Assert.That((first, second), Is.EqualTo(((ushort)b, (ushort)a)));
        Assert.That(pair.Driver.LastUsedPosition, Is.EqualTo((ushort)4));
    }

    [Test]
    public void PushUsed_ForAnIdNotInFlight_IsAProgrammingError()
    {
        using var pair = new PackedRingPair(8);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(() => pair.Device.PushUsed(0, 0), Throws.ArgumentException.With.Message.Contains("buffer id 0 is not in flight"));
            Assert.That(() => pair.Device.PushUsed(8, 0), Throws.ArgumentException);
        }
    }

    // ---------------- event suppression bytes ----------------

    [Test]
    public void DriverEventSuppression_FollowsTheInterruptControls()
    {
        using (var polled = new PackedRingPair(8, eventIdx: true, suppressInterrupts: true))
            Assert.That(polled.Ring.DriverFlags, Is.EqualTo(PackedRingLayout.EventFlagDisable));
        using (var plain = new PackedRingPair(8, eventIdx: false, suppressInterrupts: false))
            Assert.That(plain.Ring.DriverFlags, Is.EqualTo(PackedRingLayout.EventFlagEnable));

        using var pair = new PackedRingPair(8, eventIdx: true, suppressInterrupts: false);
        Assert.That((pair.Ring.DriverFlags, pair.Ring.DriverOffWrap), Is.EqualTo((PackedRingLayout.EventFlagDesc, (ushort)0x8000)), "DESC at position 0, wrap 1");
        for (int i = 0; i < 6; i++) pair.AddIndirect(i, pair.Buffers(i, (1, true)));
        pair.Driver.PublishAndCheckKick();
        pair.ServiceAll();
        for (int i = 0; i < 6; i++) pair.Driver.TryPopUsed(out _, out _);
        Assert.That(pair.Ring.DriverOffWrap, Is.EqualTo((ushort)0x8006), "moved to the next used position as completions are taken");

        pair.Driver.EnableInterruptsCoalesced(4);     // 6 + 3 = 9 → position 1 of the next lap
        Assert.That(pair.Ring.DriverOffWrap, Is.EqualTo((ushort)0x0001), "target in the next lap: wrap bit 0");
        pair.Driver.DisableInterrupts();
        Assert.That(pair.Ring.DriverFlags, Is.EqualTo(PackedRingLayout.EventFlagDisable));
        pair.Driver.EnableInterruptsAndRecheck();
        Assert.That((pair.Ring.DriverFlags, pair.Ring.DriverOffWrap), Is.EqualTo((PackedRingLayout.EventFlagDesc, (ushort)0x8006)));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void DeviceEventSuppression_FollowsTheKickControls(bool eventIdx)
    {
        using var pair = new PackedRingPair(4, eventIdx: eventIdx);
        Assert.That(pair.Ring.DeviceFlags, Is.EqualTo(PackedRingLayout.EventFlagEnable), "zeroed: ENABLE");
        pair.Device.SuppressKicks();
        Assert.That(pair.Ring.DeviceFlags, Is.EqualTo(PackedRingLayout.EventFlagDisable), "DISABLE, with or without EVENT_IDX");
        for (int i = 0; i < 5; i++)
        {
            pair.AddIndirect(i % 4, pair.Buffers(i % 4, (1, true)));
            pair.Driver.PublishAndCheckKick();
            pair.ServiceAll();
            pair.Driver.TryPopUsed(out _, out _);
        }
        pair.Device.EnableKicksAndRecheck();
        if (eventIdx) Assert.That((pair.Ring.DeviceFlags, pair.Ring.DeviceOffWrap), Is.EqualTo((PackedRingLayout.EventFlagDesc, (ushort)0x0001)), "next avail: position 1 of lap 2");
        else Assert.That(pair.Ring.DeviceFlags, Is.EqualTo(PackedRingLayout.EventFlagEnable));
    }

    // ---------------- notification decisions against raw event structures ----------------

    /// <summary>Kick iff the published window [old, new) crosses the device's event (Linux virtqueue_kick_prepare_packed).</summary>
    // size 8; the driver first moves to position 5 of lap 1 (wrap 1), then publishes `batch` one-descriptor requests
    [TestCase(5, true, 1, true)]     // event at the first published position
    [TestCase(6, true, 1, false)]    // one past the window
    [TestCase(7, true, 3, true)]     // last of 5, 6, 7
    [TestCase(0, false, 3, false)]   // next lap, position 0: one past the window that ends at the ring end
    [TestCase(0, false, 4, true)]    // the window 5, 6, 7, 0 crosses into the next lap
    [TestCase(1, false, 4, false)]
    [TestCase(4, true, 4, false)]    // behind the window
    [TestCase(5, false, 8, false)]   // lap-2 position 5 is the next after a full ring from 5
    [TestCase(4, false, 8, true)]    // ... and lap-2 position 4 is its last
    public void Kick_WithEventIdx_IffTheBatchCrossesTheDeviceEvent(int eventPos, bool eventWrap, int batch, bool expectKick)
    {
        using var pair = new PackedRingPair(8, eventIdx: true);
        for (int i = 0; i < 5; i++) pair.AddIndirect(i, pair.Buffers(i, (1, true)));
        pair.Driver.PublishAndCheckKick();
        pair.ServiceAll();
        while (pair.Driver.TryPopUsed(out _, out _)) { }

        pair.Ring.DeviceOffWrap = PackedRingLayout.OffWrap((ushort)eventPos, eventWrap);
        pair.Ring.DeviceFlags = PackedRingLayout.EventFlagDesc;
        for (int i = 0; i < batch; i++) pair.AddIndirect(i, pair.Buffers(i, (1, true)));
        Assert.That(pair.Driver.PublishAndCheckKick(), Is.EqualTo(expectKick));
    }

    [TestCase(false, PackedRingLayout.EventFlagDesc, true)]    // DESC without EVENT_IDX: not valid, treated as ENABLE
    [TestCase(true, (ushort)3, true)]                          // reserved value: kick (a spurious kick is harmless)
    [TestCase(true, (ushort)0x8001, true)]                     // reserved bits set: not exactly DISABLE
    [TestCase(true, PackedRingLayout.EventFlagDisable, false)]
    public void Kick_UnusualDeviceFlags_ErrOnTheSideOfKicking(bool eventIdx, ushort flags, bool expectKick)
    {
        using var pair = new PackedRingPair(8, eventIdx: eventIdx);
        pair.Ring.DeviceOffWrap = PackedRingLayout.OffWrap(7, true);
        pair.Ring.DeviceFlags = flags;
        pair.AddIndirect(0, pair.Buffers(0, (1, true)));
        Assert.That(pair.Driver.PublishAndCheckKick(), Is.EqualTo(expectKick));
    }

    // size 8; the device's used position is 3 of lap 1 (wrap 1); it publishes `batch` completions at once
    [TestCase(3, true, 1, true)]
    [TestCase(4, true, 1, false)]
    [TestCase(4, true, 2, true)]
    [TestCase(7, true, 5, true)]
    [TestCase(0, false, 5, false)]   // 3..7 stops at the ring end
    [TestCase(0, false, 6, true)]    // 3..7, then 0 of lap 2
    [TestCase(2, true, 5, false)]    // behind
    [TestCase(2, true, 8, false)]    // lap-1 position 2 was passed before this window ...
    [TestCase(2, false, 8, true)]    // ... lap-2 position 2 is its last
    public void Interrupt_WithEventIdx_IffThePublishedUsedWindowCrossesTheDriverEvent(int eventPos, bool eventWrap, int batch, bool expectSignal)
    {
        using var pair = new PackedRingPair(8, eventIdx: true);
        for (int i = 0; i < 3; i++) pair.AddIndirect(i, pair.Buffers(i, (1, true)));
        pair.Driver.PublishAndCheckKick();
        pair.ServiceAll();
        while (pair.Driver.TryPopUsed(out _, out _)) { }
        for (int i = 0; i < batch; i++) pair.AddIndirect(i, pair.Buffers(i, (1, true)));
        pair.Driver.PublishAndCheckKick();
        var heads = new List<ushort>();
        while (pair.Device.TryPopAvail(pair.Chain)) heads.Add(pair.Chain.Head);
        Assert.That(heads, Has.Count.EqualTo(batch));

        pair.Ring.DriverOffWrap = PackedRingLayout.OffWrap((ushort)eventPos, eventWrap);
        pair.Ring.DriverFlags = PackedRingLayout.EventFlagDesc;
        foreach (var h in heads) pair.Device.PushUsed(h, 1);
        Assert.That(pair.Device.PublishUsed(), Is.EqualTo(expectSignal));
    }
}
