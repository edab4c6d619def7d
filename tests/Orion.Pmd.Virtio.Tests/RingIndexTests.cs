namespace Orion.Pmd.Virtio.Tests;

/// <summary>Free-running 16-bit index arithmetic and <c>vring_need_event</c>.</summary>
public class RingIndexTests
{
    /// <summary>Linux uapi <c>vring_need_event</c>, written out with C's integer promotions.</summary>
    private static bool LinuxNeedEvent(int eventIdx, int newIdx, int old)
        => (ushort)(newIdx - eventIdx - 1) < (ushort)(newIdx - old);

    /// <summary>The meaning: the index moved from old to new and passed over event, i.e. event ∈ [old, new) mod 2^16.</summary>
    private static bool Crossed(int eventIdx, int newIdx, int old)
        => (ushort)(eventIdx - old) < (ushort)(newIdx - old);

    // (event, new, old, expected)
    [TestCase(0, 1, 0, true)]            // first entry, event at it
    [TestCase(0, 0, 0, false)]           // no movement never needs an event
    [TestCase(5, 5, 0, false)]           // moved to 5: entry 5 not yet published
    [TestCase(4, 5, 0, true)]            // last published entry
    [TestCase(5, 6, 5, true)]
    [TestCase(5, 10, 6, false)]          // event already behind old
    [TestCase(9, 10, 6, true)]
    [TestCase(6, 10, 6, true)]           // exactly old
    [TestCase(65535, 0, 65534, true)]    // crosses the wrap
    [TestCase(65534, 2, 65533, true)]
    [TestCase(0, 2, 65533, true)]
    [TestCase(2, 2, 65533, false)]
    [TestCase(65532, 2, 65533, false)]   // just behind old across the wrap
    [TestCase(65535, 65535, 65535, false)]
    [TestCase(100, 100 + 32768, 100, true)]
    [TestCase(99, 100 + 32768, 100, false)]
    public void NeedEvent_TruthTable(int eventIdx, int newIdx, int old, bool expected)
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(RingIndex.NeedEvent((ushort)eventIdx, (ushort)newIdx, (ushort)old), Is.EqualTo(expected));
            Assert.That(LinuxNeedEvent(eventIdx, newIdx, old), Is.EqualTo(expected), "the table itself agrees with Linux");
        }
    }

    [Test]
    public void NeedEvent_AgreesWithLinuxAndWithItsMeaning_OnRandomAndEdgeTriples()
    {
        var rng = new Random(20240611);
        int[] edges = [0, 1, 2, 255, 256, 32767, 32768, 32769, 65533, 65534, 65535];
        var triples = new List<(int, int, int)>();
        foreach (int e in edges)
            foreach (int n in edges)
                foreach (int o in edges)
                    triples.Add((e, n, o));
        for (int i = 0; i < 200_000; i++)
        {
            int old = rng.Next(65536);
            int moved = rng.Next(0, 1024);
            int ev = rng.Next(3) == 0 ? rng.Next(65536) : old + rng.Next(-64, 1100);
            triples.Add((ev & 0xFFFF, (old + moved) & 0xFFFF, old));
        }

        int mismatches = 0;
        string first = "";
        foreach (var (e, n, o) in triples)
        {
            bool actual = RingIndex.NeedEvent((ushort)e, (ushort)n, (ushort)o);
            if (actual != LinuxNeedEvent(e, n, o) || actual != Crossed(e, n, o))
            {
                if (mismatches++ == 0) first = $"event {e}, new {n}, old {o}: got {actual}";
            }
        }
        Assert.That(mismatches, Is.Zero, first);
    }

    [Test]
    public void NeedEvent_OverAFullSweepOfEvents_FiresExactlyForTheEntriesPublished()
    {
        foreach (int old in new[] { 0, 65530, 65535, 32768 })
        {
            const int batch = 10;
            int fired = 0;
            for (int e = 0; e < 65536; e++)
                if (RingIndex.NeedEvent((ushort)e, (ushort)(old + batch), (ushort)old)) fired++;
            Assert.That(fired, Is.EqualTo(batch), $"old {old}");
        }
    }

    [TestCase(0, 0, 0)]
    [TestCase(0, 5, 5)]
    [TestCase(5, 0, 65531)]
    [TestCase(65530, 4, 10)]
    [TestCase(65535, 0, 1)]
    [TestCase(1, 0, 65535)]
    [TestCase(0, 32768, 32768)]
    public void Distance_IsModulo65536(int from, int to, int expected)
        => Assert.That(RingIndex.Distance((ushort)from, (ushort)to), Is.EqualTo((ushort)expected));

    [TestCase(65535, 1, 0)]
    [TestCase(65530, 10, 4)]
    [TestCase(0, -1, 65535)]
    [TestCase(3, -5, 65534)]
    [TestCase(100, 65536, 100)]
    [TestCase(100, -65536, 100)]
    [TestCase(0, 0, 0)]
    public void Add_WrapsBothWays(int index, int delta, int expected)
        => Assert.That(RingIndex.Add((ushort)index, delta), Is.EqualTo((ushort)expected));

    [Test]
    public void DistanceAndAdd_AreInverse()
    {
        var rng = new Random(7);
        for (int i = 0; i < 10_000; i++)
        {
            ushort a = (ushort)rng.Next(65536);
            int d = rng.Next(65536);
            Assert.That(RingIndex.Distance(a, RingIndex.Add(a, d)), Is.EqualTo((ushort)d));
        }
    }
}
