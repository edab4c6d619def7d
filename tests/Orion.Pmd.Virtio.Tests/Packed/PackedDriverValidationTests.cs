using Orion.Pmd.Virtio.Rings;
using Orion.Pmd.Virtio.Tests.Support;

namespace Orion.Pmd.Virtio.Tests.Packed;

/// <summary>
/// The packed driver against a hostile device that writes raw used descriptors: every inconsistency it can detect is
/// named, latches the queue broken, and nothing is touched afterwards (Linux <c>BAD_RING</c> in
/// <c>virtqueue_get_buf_ctx_packed</c>, plus the wrap-bit checks the packed format makes possible).
/// </summary>
public class PackedDriverValidationTests
{
    private const int Size = 8;
    private const uint Writable = 4096 + 1;
    private const ushort A = PackedRingBytes.AvailFlag;
    private const ushort U = PackedRingBytes.UsedFlag;
    private PackedRingPair _pair = null!;
    private PackedHostileDevice _evil = null!;

    [SetUp]
    public void SetUp()
    {
        _pair = new PackedRingPair(Size);
        _evil = new PackedHostileDevice(_pair.Ring);
    }

    [TearDown]
    public void TearDown()
    {
        Assert.That(_pair.Region.GuardsIntact, Is.True, "guard bytes around the region");
        _pair.Dispose();
    }

    private PackedQueueDriver Driver => _pair.Driver;

    /// <summary>Submits a blk-like indirect request (16 readable, 4096 + 1 writable) and publishes it.</summary>
    private ushort Submit(int slot)
    {
        int id = _pair.AddIndirect(slot, _pair.Buffers(slot, (16, false), (4096, true), (1, true)));
        Assert.That(id, Is.GreaterThanOrEqualTo(0));
        Driver.PublishAndCheckKick();
        return (ushort)id;
    }

    /// <summary>
    /// Asserts the driver is broken with <paramref name="error"/> and a message naming <paramref name="parts"/>, then
    /// puts a well-formed used descriptor where the driver looks next and checks that every later call refuses
    /// without touching shared memory or the driver's counts.
    /// </summary>
    private void AssertLatched(VirtqueueError error, params string[] parts)
    {
        int free = Driver.FreeDescriptors, inFlight = Driver.InFlight;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Driver.IsBroken, Is.True);
            Assert.That(Driver.Error, Is.EqualTo(error));
            foreach (var part in parts) Assert.That(Driver.ErrorMessage, Does.Contain(part));
        }
        _pair.Ring.WriteDescriptor(Driver.LastUsedPosition, 0, 0, 0, PackedRingBytes.UsedBits(Driver.UsedWrapCounter));
        var snapshot = _pair.Region.Snapshot();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Driver.TryPopUsed(out ushort id, out uint len), Is.False, "TryPopUsed after break");
            Assert.That((id, len), Is.EqualTo(((ushort)0, 0u)));
            Assert.That(Driver.AddIndirect(_pair.SlotGuest(Size - 1), 1, 0), Is.EqualTo(-1), "AddIndirect after break");
            Assert.That(Driver.AddChain(_pair.Buffers(Size - 1, (16, false), (1, true))), Is.EqualTo(-1), "AddChain after break");
            Assert.That(Driver.PublishAndCheckKick(), Is.False, "PublishAndCheckKick after break");
            Assert.That(Driver.EnableInterruptsAndRecheck(), Is.False);
            Driver.DisableInterrupts();
            Assert.That(_pair.Region.Snapshot().AsSpan().SequenceEqual(snapshot), Is.True, "nothing written after break");
            Assert.That(Driver.FreeDescriptors, Is.EqualTo(free));
            Assert.That(Driver.InFlight, Is.EqualTo(inFlight));
            Assert.That(Driver.Error, Is.EqualTo(error), "the first error stays");
        }
    }

    // ---------------- ids and lengths ----------------

    [TestCase(8u)]
    [TestCase(9u)]
    [TestCase(0x8000u)]
    [TestCase(0xFFFFu)]
    public void UsedIdOutOfRange(uint badId)
    {
        Submit(0);
        _evil.Complete(badId, 1);
        Assert.That(Driver.TryPopUsed(out _, out _), Is.False);
        AssertLatched(VirtqueueError.UsedIdOutOfRange, $"used id {badId}", "ring position 0", "8-entry");
    }

    [Test]
    public void UsedIdNeverMadeAvailable()
    {
        Submit(0);
        _evil.Complete(5, 1);
        Assert.That(Driver.TryPopUsed(out _, out _), Is.False);
        AssertLatched(VirtqueueError.UsedIdNotHead, "used id 5", "not a buffer in flight");
    }

    [Test]
    public void UsedIdAddedButNotYetPublished_IsRefused()
    {
        // Unlike the split driver, the packed driver can tell: completing an unpublished buffer would let the driver
        // free ring positions whose head flags it has yet to write.
        ushort a = Submit(0);
        int b = _pair.AddIndirect(1, _pair.Buffers(1, (16, false), (1, true)));
        Assert.That(b, Is.Not.EqualTo(a));
        _evil.Complete((uint)b, 1);
        Assert.That(Driver.TryPopUsed(out _, out _), Is.False);
        AssertLatched(VirtqueueError.UsedIdNotHead, $"used id {b}", "not yet made available");
    }

    [Test]
    public void UsedWithNothingPublished()
    {
        _evil.Complete(0, 0);
        Assert.That(Driver.HasPendingUsed, Is.True);
        Assert.That(Driver.TryPopUsed(out _, out _), Is.False);
        AssertLatched(VirtqueueError.UsedIdNotHead, "used id 0");
    }

    [Test]
    public void UsedIdCompletedTwice()
    {
        ushort a = Submit(0);
        Submit(1);
        _evil.Complete(a, Writable);
        Assert.That(Driver.TryPopUsed(out ushort id, out uint len), Is.True);
        Assert.That((id, len), Is.EqualTo((a, Writable)));
        _evil.Complete(a, 1);      // again, at the next position, while another request keeps something published
        Assert.That(Driver.TryPopUsed(out _, out _), Is.False);
        AssertLatched(VirtqueueError.UsedIdNotHead, $"used id {a}", "ring position 1", "completed twice");
    }

    [Test]
    public void UsedLengthLargerThanTheWritableBytes()
    {
        ushort a = Submit(0);
        ushort b = Submit(1);
        _evil.Complete(a, Writable);
        Assert.That(Driver.TryPopUsed(out _, out uint len), Is.True);
        Assert.That(len, Is.EqualTo(Writable), "exactly the writable size is fine");
        _evil.Complete(b, Writable + 1);
        Assert.That(Driver.TryPopUsed(out _, out _), Is.False);
        AssertLatched(VirtqueueError.UsedLengthTooLarge, $"used length {Writable + 1}", $"id {b}", $"{Writable} device-writable");
    }

    [Test]
    public void UsedLengthOnAReadOnlyRequest_MustBeZero()
    {
        int a = Driver.AddChain(_pair.Buffers(0, (16, false), (512, false)));
        Driver.PublishAndCheckKick();
        _evil.Complete((uint)a, 1, skip: 2);
        Assert.That(Driver.TryPopUsed(out _, out _), Is.False);
        AssertLatched(VirtqueueError.UsedLengthTooLarge, "used length 1", "0 device-writable");
    }

    // ---------------- wrap bits ----------------

    [TestCase((ushort)0, "AVAIL=0 USED=0")]        // used, but with the other lap's wrap counter
    [TestCase(U, "AVAIL=0 USED=1")]                // bits inverted
    [TestCase((ushort)(U | 2), "AVAIL=0 USED=1")]
    public void PublishedPositionWithImpossibleBits_WrapCounterInvalid(ushort flags, string bits)
    {
        ushort a = Submit(0);
        _evil.Complete(a, 1, flags: flags);
        Assert.That(Driver.TryPopUsed(out _, out _), Is.False);
        AssertLatched(VirtqueueError.WrapCounterInvalid, "ring position 0", bits, "wrap counter is 1");
    }

    [Test]
    public void InTheSecondLap_TheFirstLapsUsedBitsAreImpossibleWherePublished()
    {
        for (int i = 0; i < Size; i++)
        {
            ushort id = Submit(i);
            _evil.Complete(id, 1);
            Assert.That(Driver.TryPopUsed(out _, out _), Is.True, Driver.ErrorMessage);
        }
        Assert.That(Driver.UsedWrapCounter, Is.False, "a whole lap consumed");
        ushort a = Submit(0);
        _evil.Complete(a, 1, flags: A | U);    // lap-1 used bits where lap 2's are due
        Assert.That(Driver.TryPopUsed(out _, out _), Is.False);
        AssertLatched(VirtqueueError.WrapCounterInvalid, "AVAIL=1 USED=1", "wrap counter is 0");
    }

    [Test]
    public void WhereNothingIsPublished_ThePreviousLapsBitsProveNothing()
    {
        // Not detectable: with nothing published at a position it still holds whatever the previous lap left there,
        // including the available bits of a chain's middle descriptor (AVAIL = !wrap, USED = wrap).
        Submit(0);
        _evil.Complete(0, 1);
        Assert.That(Driver.TryPopUsed(out _, out _), Is.True);
        foreach (ushort flags in new ushort[] { 0, U, A })
        {
            _pair.Ring.SetFlags(1, flags);
            Assert.That(Driver.TryPopUsed(out _, out _), Is.False);
            Assert.That(Driver.IsBroken, Is.False, Driver.ErrorMessage);
        }
    }

    [Test]
    public void AnAvailableDescriptorNotYetUsed_IsJustNotUsedYet()
    {
        Submit(0);
        Assert.That(_pair.Ring.Flags(0), Is.EqualTo(A | 4));
        Assert.That(Driver.TryPopUsed(out _, out _), Is.False);
        Assert.That(Driver.IsBroken, Is.False);
    }

    // ---------------- sequencing ----------------

    [Test]
    public void AnErrorAfterValidCompletions_StopsAtTheBadEntry()
    {
        ushort a = Submit(0), b = Submit(1), c = Submit(2);
        _evil.Complete(a, 1);
        _evil.Complete(7, 1);      // never made available
        _evil.Complete(c, 1);
        Assert.That(Driver.TryPopUsed(out ushort id, out _), Is.True);
        Assert.That(id, Is.EqualTo(a));
        Assert.That(Driver.TryPopUsed(out _, out _), Is.False);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Driver.LastUsedPosition, Is.EqualTo((ushort)1), "the bad entry is not consumed");
            Assert.That(Driver.InFlight, Is.EqualTo(2), $"{b} and {c} stay in flight");
        }
        AssertLatched(VirtqueueError.UsedIdNotHead, "used id 7");
    }

    [Test]
    public void MarkBroken_LatchesAndTheFirstErrorWins()
    {
        Submit(0);
        Driver.MarkBroken(VirtqueueError.WrapCounterInvalid, "transport lost");
        Driver.MarkBroken(VirtqueueError.UsedIdOutOfRange, "second");
        Assert.That(Driver.ErrorMessage, Is.EqualTo("transport lost"));
        AssertLatched(VirtqueueError.WrapCounterInvalid);
    }

    [Test]
    public void ADeviceScribblingOverSkippedDescriptors_CannotMisleadTheDriver()
    {
        // The driver skips by its own chain count; what the device writes in the skipped positions is never read.
        int a = Driver.AddChain(_pair.Buffers(0, (16, false), (100, true), (1, true)));   // positions 0..2
        int b = Driver.AddChain(_pair.Buffers(1, (16, false), (1, true)));                // positions 3..4
        Driver.PublishAndCheckKick();
        Assert.That(_pair.Device.TryPopAvail(_pair.Chain), Is.True);
        Assert.That(_pair.Device.TryPopAvail(_pair.Chain), Is.True);
        foreach (int p in new[] { 1, 2, 4 }) _pair.Ring.WriteDescriptor(p, 0xDEAD_BEEF, 0xFFFF_FFFF, 0xFFFF, A | U);
        _pair.Device.PushUsed((ushort)a, 101);
        _pair.Device.PushUsed((ushort)b, 1);
        _pair.Device.PublishUsed();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Driver.TryPopUsed(out ushort first, out uint firstLen), Is.True, Driver.ErrorMessage);
            Assert.That((first, firstLen), Is.EqualTo(((ushort)a, 101u)));
            Assert.That(Driver.TryPopUsed(out ushort second, out _), Is.True, Driver.ErrorMessage);
            Assert.That(second, Is.EqualTo((ushort)b));
            Assert.That(Driver.TryPopUsed(out _, out _), Is.False);
            Assert.That(Driver.FreeDescriptors, Is.EqualTo(Size));
            Assert.That(Driver.IsBroken, Is.False);
        }
    }
}
