using Orion.Pmd.Virtio.Memory;

namespace Orion.Pmd.Virtio.Tests;

/// <summary>Guest-to-host translation. Host pointers here are never dereferenced: translation is pure arithmetic.</summary>
public unsafe class MemoryRegionTableTests
{
    private const ulong GuestA = 0x1_0000_0000;
    private const ulong LengthA = 0x10000;
    private const nint HostA = 0x7000_0000;
    private const ulong GuestB = 0x2_0000_0000;
    private const ulong LengthB = 0x2000;
    private const nint HostB = 0x5000_0000;

    private static MemoryRegionTable TwoRegions()
    {
        var t = new MemoryRegionTable();
        t.Add(new MemoryRegion(GuestA, LengthA, HostA));
        t.Add(new MemoryRegion(GuestB, LengthB, HostB));
        return t;
    }

    private static (bool Ok, nint Host) Translate(MemoryRegionTable t, ulong guest, ulong length)
    {
        bool ok = t.TryTranslate(guest, length, out byte* host);
        return (ok, (nint)host);
    }

    [Test]
    public void Translate_InsideARegion_AddsTheOffsetToItsHostBase()
    {
        var t = TwoRegions();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Translate(t, GuestA, 1), Is.EqualTo((true, HostA)));
            Assert.That(Translate(t, GuestA + 0x123, 0x100), Is.EqualTo((true, HostA + 0x123)));
            Assert.That(Translate(t, GuestA, LengthA), Is.EqualTo((true, HostA)), "the whole region");
            Assert.That(Translate(t, GuestA + LengthA - 1, 1), Is.EqualTo((true, HostA + (nint)LengthA - 1)), "the last byte");
            Assert.That(Translate(t, GuestB + 0x10, 0x20), Is.EqualTo((true, HostB + 0x10)), "second region");
            Assert.That(Translate(t, GuestA + 5, 0), Is.EqualTo((true, HostA + 5)), "zero length inside");
        }
    }

    [Test]
    public void Translate_OutsideOrStraddling_IsRefused()
    {
        var t = TwoRegions();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Translate(t, GuestA - 1, 1).Ok, Is.False, "just below");
            Assert.That(Translate(t, GuestA - 1, 2).Ok, Is.False, "straddles the start");
            Assert.That(Translate(t, GuestA + LengthA, 1).Ok, Is.False, "just past the end");
            Assert.That(Translate(t, GuestA + LengthA, 0).Ok, Is.False, "zero length must still start inside");
            Assert.That(Translate(t, GuestA + LengthA - 1, 2).Ok, Is.False, "straddles the end");
            Assert.That(Translate(t, GuestA, LengthA + 1).Ok, Is.False, "one byte too long");
            Assert.That(Translate(t, GuestA + LengthA - 0x10, GuestB - GuestA).Ok, Is.False, "spans the gap to the next region");
            Assert.That(Translate(t, 0, 1).Ok, Is.False, "address zero");
            Assert.That(Translate(t, (ulong)HostA, 1).Ok, Is.False, "a host address is not a guest address");
            var refused = Translate(t, GuestA + LengthA, 1);
            Assert.That(refused.Host, Is.EqualTo(nint.Zero), "refusal returns null");
        }
    }

    [Test]
    public void Translate_RangesThatWrapTheAddressSpace_AreRefused()
    {
        var t = TwoRegions();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Translate(t, GuestA + 0x10, ulong.MaxValue).Ok, Is.False, "start + length wraps");
            Assert.That(Translate(t, GuestA + 0x10, ulong.MaxValue - 0x8).Ok, Is.False);
            Assert.That(Translate(t, ulong.MaxValue - 7, 16).Ok, Is.False, "top of the address space wrapping to 8");
            Assert.That(Translate(t, ulong.MaxValue, ulong.MaxValue).Ok, Is.False);
        }
        var top = new MemoryRegionTable();
        top.Add(new MemoryRegion(ulong.MaxValue - 0xFFF, 0xFFF, HostA));     // ends at 2^64 - 1
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Translate(top, ulong.MaxValue - 0x10, 0x10).Ok, Is.True);
            Assert.That(Translate(top, ulong.MaxValue - 0x10, 0x11).Ok, Is.False, "would reach 2^64");
            Assert.That(Translate(top, ulong.MaxValue - 0x10, ulong.MaxValue).Ok, Is.False, "would wrap");
        }
    }

    [Test]
    public void Add_RejectsOverlapsEmptyWrappingAndHostless()
    {
        var t = TwoRegions();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(() => t.Add(new MemoryRegion(GuestA + LengthA - 1, 0x10, 0x1000)), Throws.ArgumentException.With.Message.Contains("overlaps"));
            Assert.That(() => t.Add(new MemoryRegion(GuestA - 0x10, 0x11, 0x1000)), Throws.ArgumentException.With.Message.Contains("overlaps"));
            Assert.That(() => t.Add(new MemoryRegion(GuestA - 0x1000, 0x100000, 0x1000)), Throws.ArgumentException, "contains a region");
            Assert.That(() => t.Add(new MemoryRegion(GuestB + 1, 1, 0x1000)), Throws.ArgumentException, "inside a region");
            Assert.That(() => t.Add(new MemoryRegion(0x9000_0000, 0, 0x1000)), Throws.ArgumentException, "empty");
            Assert.That(() => t.Add(new MemoryRegion(ulong.MaxValue - 0xF, 0x20, 0x1000)), Throws.ArgumentException.With.Message.Contains("wraps"));
            Assert.That(() => t.Add(new MemoryRegion(ulong.MaxValue - 0xF, 0x10, 0x1000)), Throws.ArgumentException, "ends exactly at 2^64");
            Assert.That(() => t.Add(new MemoryRegion(0x9000_0000, 0x10, 0)), Throws.ArgumentException, "no host mapping");
            Assert.That(t.Count, Is.EqualTo(2), "nothing rejected was added");
        }
        t.Add(new MemoryRegion(GuestA + LengthA, 0x10, 0x1000));      // adjacent is fine
        t.Add(new MemoryRegion(GuestA - 0x10, 0x10, 0x2000));
        Assert.That(t.Count, Is.EqualTo(4));
    }

    [Test]
    public void Add_RejectsANinthRegion()
    {
        var t = new MemoryRegionTable();
        for (int i = 0; i < MemoryRegionTable.MaxRegions; i++)
            t.Add(new MemoryRegion(0x1_0000_0000UL * (ulong)(i + 1), 0x1000, 0x10000 * (i + 1)));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(MemoryRegionTable.MaxRegions, Is.EqualTo(8));
            Assert.That(t.Count, Is.EqualTo(8));
            Assert.That(() => t.Add(new MemoryRegion(0x100_0000_0000, 0x1000, 0x1000)), Throws.InvalidOperationException);
            Assert.That(t.Regions.Length, Is.EqualTo(8));
            Assert.That(Translate(t, 0x8_0000_0800, 0x10), Is.EqualTo((true, (nint)(0x80000 + 0x800))), "the eighth region still translates");
        }
    }

    [Test]
    public void Clear_ForgetsEveryRegion()
    {
        var t = TwoRegions();
        t.Clear();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(t.Count, Is.Zero);
            Assert.That(Translate(t, GuestA, 1).Ok, Is.False);
        }
        t.Add(new MemoryRegion(GuestA, 0x10, HostB));
        Assert.That(Translate(t, GuestA, 1), Is.EqualTo((true, HostB)));
    }

    [Test]
    public void TryGetGuestAddress_MapsHostPointersBack()
    {
        var t = TwoRegions();
        static (bool, ulong) Back(MemoryRegionTable t, nint host)
        {
            bool ok = t.TryGetGuestAddress((void*)host, out ulong guest);
            return (ok, guest);
        }
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Back(t, HostA), Is.EqualTo((true, GuestA)));
            Assert.That(Back(t, HostA + 0x1234), Is.EqualTo((true, GuestA + 0x1234)));
            Assert.That(Back(t, HostA + (nint)LengthA - 1), Is.EqualTo((true, GuestA + LengthA - 1)));
            Assert.That(Back(t, HostB + 0x10), Is.EqualTo((true, GuestB + 0x10)));
            Assert.That(Back(t, HostA + (nint)LengthA), Is.EqualTo((false, 0UL)), "one past the end");
            Assert.That(Back(t, HostA - 1), Is.EqualTo((false, 0UL)), "just below");
            Assert.That(Back(t, 0), Is.EqualTo((false, 0UL)));
        }
    }

    [Test]
    public void TranslateAndBack_RoundTripOnARealRegion()
    {
        using var region = new Support.GuardedRegion(64 * 1024);
        var rng = new Random(3);
        for (int i = 0; i < 1000; i++)
        {
            ulong off = (ulong)rng.Next(region.Length);
            Assert.That(region.Table.TryTranslate(region.GuestBase + off, 1, out byte* host), Is.True);
            Assert.That(region.Table.TryGetGuestAddress(host, out ulong back), Is.True);
            Assert.That(back, Is.EqualTo(region.GuestBase + off));
        }
    }
}
