using Orion.Pmd.Virtio.Rings;
using Orion.Pmd.Virtio.Tests.Support;

namespace Orion.Pmd.Virtio.Tests;

/// <summary>Free-running indices started just below 65535 and driven across the 16-bit wrap many times.</summary>
public class WrapAroundTests
{
    [TestCase(1, false, (ushort)65530)]
    [TestCase(4, true, (ushort)65530)]
    [TestCase(8, false, (ushort)65535)]
    [TestCase(16, true, (ushort)65534)]
    [TestCase(256, true, (ushort)65530)]
    [TestCase(256, false, (ushort)(65536 - 256))]
    public void ThousandsOfRequests_AcrossTheWrap(int size, bool eventIdx, ushort initial)
    {
        using var pair = new RingPair(size, eventIdx: eventIdx, initialIndex: initial, slots: size, slotBytes: 2048);
        var rng = new Random(size * 31 + initial);
        const int total = 70_000;     // the index crosses 65535 twice
        int submitted = 0, completed = 0;
        var outstanding = new Dictionary<ushort, (int Slot, uint Writable)>();
        var freeSlots = new Stack<int>(Enumerable.Range(0, size));
        var popped = new List<(ushort Head, uint Writable)>();
        bool crossedWrap = false;

        while (completed < total)
        {
            // driver: a random batch, one publish
            int batch = rng.Next(1, size + 1);
            for (int i = 0; i < batch && submitted < total && freeSlots.Count > 0; i++)
            {
                int slot = freeSlots.Peek();
                bool useIndirect = rng.Next(2) == 0;
                int need = useIndirect ? 1 : 2;
                if (pair.Driver.FreeDescriptors < need) break;
                var segs = pair.Buffers(slot, (16, false), (rng.Next(1, 512), true));
                int id = useIndirect ? pair.AddIndirect(slot, segs) : pair.Driver.AddChain(segs);
                if (id < 0) Assert.Fail($"add refused with {pair.Driver.FreeDescriptors} descriptors free");
                freeSlots.Pop();
                outstanding.Add((ushort)id, (slot, RingPair.WritableBytes(segs)));
                submitted++;
            }
            ushort before = pair.Driver.PublishedAvailIndex;
            pair.Driver.PublishAndCheckKick();
            if (pair.Driver.PublishedAvailIndex < before) crossedWrap = true;

            // device: pop everything, complete in reverse order with random lengths
            popped.Clear();
            while (pair.Device.TryPopAvail(pair.Chain)) popped.Add((pair.Chain.Head, (uint)pair.Chain.WritableBytes));
            for (int i = popped.Count - 1; i >= 0; i--)
                pair.Device.PushUsed(popped[i].Head, (uint)rng.Next(0, (int)popped[i].Writable + 1));
            pair.Device.PublishUsed();

            // driver: take every completion
            while (pair.Driver.TryPopUsed(out ushort id, out uint len))
            {
                if (!outstanding.Remove(id, out var o)) Assert.Fail($"completion for id {id} was not outstanding");
                if (len > o.Writable) Assert.Fail($"length {len} > {o.Writable}");
                freeSlots.Push(o.Slot);
                completed++;
            }
            if (pair.Driver.IsBroken || pair.Device.IsBroken)
                Assert.Fail($"broken: driver {pair.Driver.ErrorMessage}, device {pair.Device.ErrorMessage}");
        }

        ushort expectedIdx = (ushort)(initial + total);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(crossedWrap, Is.True);
            Assert.That(outstanding, Is.Empty);
            Assert.That(pair.Driver.FreeDescriptors, Is.EqualTo(size));
            Assert.That(pair.Driver.InFlight, Is.Zero);
            Assert.That(pair.Driver.PublishedAvailIndex, Is.EqualTo(expectedIdx));
            Assert.That(pair.Driver.LastUsedIndex, Is.EqualTo(expectedIdx));
            Assert.That(pair.Device.NextAvailIndex, Is.EqualTo(expectedIdx));
            Assert.That(pair.HostileDevice.AvailIdx, Is.EqualTo(expectedIdx), "avail idx in memory");
            Assert.That(pair.HostileDevice.UsedIdx, Is.EqualTo(expectedIdx), "used idx in memory");
            Assert.That(pair.Region.GuardsIntact, Is.True);
        }
    }

    [Test]
    public void AFullQueue_PublishedInOneBatchRightAtTheWrap()
    {
        const int size = 64;
        using var pair = new RingPair(size, eventIdx: true, initialIndex: 65535 - 10);
        for (int round = 0; round < 5; round++)
        {
            var ids = new HashSet<int>();
            for (int i = 0; i < size; i++)
            {
                int id = pair.AddIndirect(i, pair.Buffers(i, (16, false), (1, true)));
                Assert.That(ids.Add(id), Is.True);
            }
            Assert.That(pair.Driver.AddChain(pair.Buffers(0, (1, true))), Is.EqualTo(-1), "queue full");
            pair.Driver.PublishAndCheckKick();
            Assert.That(pair.ServiceAll(), Is.EqualTo(size));
            int n = 0;
            while (pair.Driver.TryPopUsed(out ushort id, out _))
            {
                Assert.That(ids.Remove(id), Is.True);
                n++;
            }
            using (Assert.EnterMultipleScope())
            {
                Assert.That(n, Is.EqualTo(size));
                Assert.That(pair.Driver.FreeDescriptors, Is.EqualTo(size));
                Assert.That(pair.Driver.IsBroken || pair.Device.IsBroken, Is.False);
            }
        }
        Assert.That(pair.Device.NextAvailIndex, Is.EqualTo(unchecked((ushort)(65535 - 10 + 5 * size))));
    }

    [Test]
    public void DeviceStartingAtTheSameNonZeroIndex_IsAVringBase()
    {
        using var pair = new RingPair(8, initialIndex: 40000);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(pair.Device.NextAvailIndex, Is.EqualTo((ushort)40000));
            Assert.That(pair.HostileDevice.AvailIdx, Is.EqualTo((ushort)40000));
            Assert.That(pair.HostileDevice.UsedIdx, Is.EqualTo((ushort)40000));
            Assert.That(pair.Device.TryPopAvail(pair.Chain), Is.False);
            Assert.That(pair.Driver.TryPopUsed(out _, out _), Is.False);
        }
    }
}
