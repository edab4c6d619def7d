using Orion.Pmd.Virtio.Rings;
using Orion.Pmd.Virtio.Tests.Support;

namespace Orion.Pmd.Virtio.Tests;

/// <summary>
/// The driver against a hostile device that writes raw used-ring bytes: every inconsistency is named, latches the
/// queue broken, and nothing is touched afterwards (Linux <c>BAD_RING</c>, rust-vmm's index checks).
/// </summary>
public unsafe class DriverValidationTests
{
    private const int Size = 8;
    private const uint Writable = 4096 + 1;
    private RingPair _pair = null!;

    [SetUp]
    public void SetUp() => _pair = new RingPair(Size);

    [TearDown]
    public void TearDown()
    {
        Assert.That(_pair.Region.GuardsIntact, Is.True, "guard bytes around the region");
        _pair.Dispose();
    }

    private SplitQueueDriver Driver => _pair.Driver;
    private HostileDevice Evil => _pair.HostileDevice;

    /// <summary>Submits a blk-like indirect request (16 readable, 4096 + 1 writable) and publishes it.</summary>
    private ushort Submit(int slot)
    {
        int id = _pair.AddIndirect(slot, _pair.Buffers(slot, (16, false), (4096, true), (1, true)));
        Assert.That(id, Is.GreaterThanOrEqualTo(0));
        Driver.PublishAndCheckKick();
        return (ushort)id;
    }

    /// <summary>
    /// Asserts the driver is broken with <paramref name="error"/>, its message names <paramref name="parts"/>, and that
    /// every later call refuses without touching shared memory or the driver's counts, even once the device behaves.
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

        // a well-formed completion is now waiting too; it must not be taken
        Evil.Complete(0, 0);
        var snapshot = _pair.Region.Snapshot();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Driver.TryPopUsed(out ushort id, out uint len), Is.False, "TryPopUsed after break");
            Assert.That((id, len), Is.EqualTo(((ushort)0, 0u)));
            Assert.That(Driver.AddIndirect(_pair.SlotGuest(Size - 1), 1, 0), Is.EqualTo(-1), "AddIndirect after break");
            Assert.That(Driver.AddChain(_pair.Buffers(Size - 1, (16, false), (1, true))), Is.EqualTo(-1), "AddChain after break");
            Assert.That(Driver.PublishAndCheckKick(), Is.False, "PublishAndCheckKick after break");
            Assert.That(Driver.TryPopUsed(out _, out _), Is.False);
            Assert.That(_pair.Region.Snapshot().AsSpan().SequenceEqual(snapshot), Is.True, "nothing written after break");
            Assert.That(Driver.FreeDescriptors, Is.EqualTo(free));
            Assert.That(Driver.InFlight, Is.EqualTo(inFlight));
            Assert.That(Driver.Error, Is.EqualTo(error), "the first error stays");
        }
    }

    [TestCase(8u)]
    [TestCase(9u)]
    [TestCase(0xFFFFu)]
    [TestCase(0x1_0000u)]     // would alias id 0 if truncated to 16 bits
    [TestCase(0xFFFF_FFFFu)]
    public void UsedIdOutOfRange(uint badId)
    {
        Submit(0);
        Evil.Complete(badId, 1);
        Assert.That(Driver.TryPopUsed(out _, out _), Is.False);
        AssertLatched(VirtqueueError.UsedIdOutOfRange, $"used id {badId}", "8-entry");
    }

    [Test]
    public void UsedIdNotAHead_NeverMadeAvailable()
    {
        Submit(0);
        Evil.Complete(5, 1);
        Assert.That(Driver.TryPopUsed(out _, out _), Is.False);
        AssertLatched(VirtqueueError.UsedIdNotHead, "used id 5", "not the head");
    }

    [Test]
    public void UsedIdNotAHead_ADescriptorInsideAChain()
    {
        int head = Driver.AddChain(_pair.Buffers(0, (16, false), (512, true), (1, true)));
        Driver.PublishAndCheckKick();
        Assert.That(head, Is.Zero);
        Evil.Complete(1, 1);      // descriptor 1 is the chain's second link
        Assert.That(Driver.TryPopUsed(out _, out _), Is.False);
        AssertLatched(VirtqueueError.UsedIdNotHead, "used id 1");
    }

    [Test]
    public void UsedIdNotAHead_AddedButNeverPublished_IsStillAcceptedAsInFlight()
    {
        // Documented behaviour: the driver tracks heads from the moment they are added (as Linux does); a device that
        // guesses an unpublished head cannot corrupt the driver's bookkeeping.
        int a = Driver.AddChain(_pair.Buffers(0, (16, false), (1, true)));
        Evil.Complete((uint)a, 1);
        Assert.That(Driver.TryPopUsed(out ushort id, out _), Is.True);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(id, Is.EqualTo((ushort)a));
            Assert.That(Driver.FreeDescriptors, Is.EqualTo(Size));
            Assert.That(Driver.InFlight, Is.Zero);
        }
    }

    [Test]
    public void UsedIdCompletedTwice()
    {
        ushort a = Submit(0);
        Submit(1);
        Evil.Complete(a, Writable);
        Assert.That(Driver.TryPopUsed(out ushort id, out uint len), Is.True);
        Assert.That((id, len), Is.EqualTo((a, Writable)));
        Evil.Complete(a, 1);    // again, while another request keeps the in-flight count up
        Assert.That(Driver.TryPopUsed(out _, out _), Is.False);
        AssertLatched(VirtqueueError.UsedIdNotHead, $"used id {a}", "completed twice");
    }

    [Test]
    public void UsedLengthLargerThanTheWritableBytes()
    {
        ushort a = Submit(0);
        ushort b = Submit(1);
        Evil.Complete(a, Writable);       // exactly the writable size is fine
        Assert.That(Driver.TryPopUsed(out _, out uint len), Is.True);
        Assert.That(len, Is.EqualTo(Writable));
        Evil.Complete(b, Writable + 1);
        Assert.That(Driver.TryPopUsed(out _, out _), Is.False);
        AssertLatched(VirtqueueError.UsedLengthTooLarge, $"used length {Writable + 1}", $"id {b}", $"{Writable} device-writable");
    }

    [Test]
    public void UsedLengthOnAReadOnlyRequest_MustBeZero()
    {
        int a = Driver.AddChain(_pair.Buffers(0, (16, false), (512, false)));
        Driver.PublishAndCheckKick();
        Evil.Complete((uint)a, 1);
        Assert.That(Driver.TryPopUsed(out _, out _), Is.False);
        AssertLatched(VirtqueueError.UsedLengthTooLarge, "used length 1", "0 device-writable");
    }

    [TestCase(3)]
    [TestCase(8)]
    [TestCase(9)]
    [TestCase(0x8000)]
    public void UsedIndexRunsAheadOfTheInFlightCount(int advance)
    {
        Submit(0);
        Submit(1);
        Evil.WriteUsedElement(0, 0, 1);
        Evil.WriteUsedElement(1, 1, 1);
        Evil.UsedIdx = (ushort)advance;
        Assert.That(Driver.TryPopUsed(out _, out _), Is.False);
        AssertLatched(VirtqueueError.UsedIndexRunsAhead, $"({advance} entries)", "only 2 requests");
    }

    [Test]
    public void UsedIndexMovingBackwards_RunsAhead()
    {
        Submit(0);
        Evil.Complete(0, 1);
        Assert.That(Driver.TryPopUsed(out _, out _), Is.True);
        Submit(0);
        Evil.UsedIdx = 0;         // back by one = 65535 ahead
        Assert.That(Driver.TryPopUsed(out _, out _), Is.False);
        AssertLatched(VirtqueueError.UsedIndexRunsAhead, "from 1 to 0", "65535 entries");
    }

    [Test]
    public void UsedIndexWithNothingInFlight_RunsAhead()
    {
        Evil.UsedIdx = 1;
        Assert.That(Driver.TryPopUsed(out _, out _), Is.False);
        AssertLatched(VirtqueueError.UsedIndexRunsAhead, "only 0 requests");
    }

    [Test]
    public void AnErrorAfterValidCompletions_StopsAtTheBadEntry()
    {
        ushort a = Submit(0), b = Submit(1), c = Submit(2);
        Evil.Complete(a, 1);
        Evil.Complete(7, 1);      // never made available
        Evil.Complete(c, 1);
        Assert.That(Driver.TryPopUsed(out ushort id, out _), Is.True);
        Assert.That(id, Is.EqualTo(a));
        Assert.That(Driver.TryPopUsed(out _, out _), Is.False);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Driver.LastUsedIndex, Is.EqualTo((ushort)1), "the bad entry is not consumed");
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
    public void ADeviceScribblingOverDescriptors_CannotCorruptTheFreeList()
    {
        var heads = new List<ushort>();
        for (int i = 0; i < 3; i++)
        {
            int h = Driver.AddChain(_pair.Buffers(i, (16, false), (101, true)));
            Assert.That(h, Is.GreaterThanOrEqualTo(0));
            heads.Add((ushort)h);
        }
        Driver.PublishAndCheckKick();
        for (int i = 0; i < heads.Count; i++) Assert.That(_pair.Device.TryPopAvail(_pair.Chain), Is.True);
        // the device rewrites every descriptor: garbage links, flags and lengths
        for (int i = 0; i < Size; i++) _pair.HostileDriver.WriteDescriptor(i, 0xDEAD_BEEF, 0xFFFF_FFFF, (VirtqDescriptorFlags)0xFFFF, (ushort)(Size - 1 - i));
        foreach (var h in heads) Evil.Complete(h, 101);
        for (int i = 0; i < heads.Count; i++) Assert.That(Driver.TryPopUsed(out _, out _), Is.True);
        Assert.That(Driver.FreeDescriptors, Is.EqualTo(Size));

        // the whole table is still available as one chain of distinct descriptors
        var all = new (int, bool)[Size];
        for (int i = 0; i < Size; i++) all[i] = (8, false);
        var segs = _pair.Buffers(5, all);
        int head = Driver.AddChain(segs);
        Driver.PublishAndCheckKick();
        Assert.That(_pair.Device.TryPopAvail(_pair.Chain), Is.True, _pair.Device.ErrorMessage);
        _pair.AssertChain(_pair.Chain, head, segs);
    }
}
