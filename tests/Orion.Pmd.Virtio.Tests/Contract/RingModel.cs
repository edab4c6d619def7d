using Orion.Pmd.Virtio.Rings;
using Orion.Pmd.Virtio.Tests.Support;

namespace Orion.Pmd.Virtio.Tests.Contract;

/// <summary>
/// Random interleavings of every driver and device operation on a queue of either format, checked step by step
/// against a simple model of what must be outstanding, visible and completed. Fixed seeds: a failure reproduces.
/// </summary>
internal static unsafe class RingModel
{
    private sealed record Request(int Serial, int Slot, BufferSegment[] Segments, int Descriptors, uint Writable);

    private const int Operations = 6000;
    private const int MaxLength = 300;

    /// <summary>Runs the model on <paramref name="pair"/> (built with 4 KiB slots, one per ring entry).</summary>
    public static void Run(RingHarness pair, int seed, bool indirect)
    {
        int size = pair.Size;
        var rng = new Random(seed);
        var driver = pair.Driver;
        var device = pair.Device;

        var outstanding = new Dictionary<ushort, Request>();          // made available (published or not), not yet completed
        var unpublished = new List<ushort>();
        var published = new Queue<ushort>();                           // visible to the device, in avail order
        var held = new List<(ushort Head, ChainSegment[] Segments)>(); // popped by the device, not yet pushed
        var pushed = new List<(ushort Id, uint Length)>();             // pushed, used idx not yet published
        var visible = new Queue<(ushort Id, uint Length)>();           // published used entries, in used order
        var freeSlots = new Stack<int>(Enumerable.Range(0, pair.SlotCount).Reverse());
        int serial = 0, completed = 0, descriptorsInUse = 0;
        var stats = new int[6];

        void Fail(string what) => Assert.Fail($"seed {seed}, op {serial}: {what}");

        void Check()
        {
            if (driver.IsBroken) Fail($"driver broken: {driver.ErrorMessage}");
            if (device.IsBroken) Fail($"device broken: {device.ErrorMessage}");
            if (driver.FreeDescriptors != size - descriptorsInUse) Fail($"free descriptors {driver.FreeDescriptors}, model {size - descriptorsInUse}");
            if (driver.InFlight != outstanding.Count) Fail($"in flight {driver.InFlight}, model {outstanding.Count}");
            // The device sees exactly what was published: added requests stay invisible until then.
            if (device.HasAvailable != published.Count > 0) Fail($"device sees work: {device.HasAvailable}, published and not popped: {published.Count}");
        }

        void DriverAdd()
        {
            bool useIndirect = indirect && rng.Next(2) == 0;
            int n = rng.Next(1, (useIndirect ? 8 : Math.Min(size, 6)) + 1);
            int readable = rng.Next(0, n + 1);
            var parts = new (int, bool)[n];
            for (int i = 0; i < n; i++) parts[i] = (rng.Next(0, MaxLength), i >= readable);
            if (freeSlots.Count == 0) return;
            var segs = pair.Buffers(freeSlots.Peek(), parts);
            int need = useIndirect ? 1 : n;
            int before = driver.FreeDescriptors;
            int id = useIndirect ? pair.AddIndirect(freeSlots.Peek(), segs) : driver.AddChain(segs);
            if (before < need)
            {
                if (id != -1 || driver.FreeDescriptors != before) Fail($"add of {need} descriptors with {before} free returned {id}");
                return;
            }
            if (id < 0) Fail($"add of {need} descriptors with {before} free refused");
            if (!outstanding.TryAdd((ushort)id, new Request(serial, freeSlots.Pop(), segs, need, RingPair.WritableBytes(segs))))
                Fail($"id {id} handed out while still outstanding");
            byte tag = (byte)(serial * 7 + 1);
            for (int i = 0; i < readable; i++)
                new Span<byte>(pair.HostOf(segs[i].GuestAddress), (int)segs[i].Length).Fill((byte)(tag + i));
            descriptorsInUse += need;
            unpublished.Add((ushort)id);
            stats[0]++;
        }

        void DriverPublish()
        {
            driver.PublishAndCheckKick();
            foreach (var id in unpublished) published.Enqueue(id);
            unpublished.Clear();
            stats[1]++;
        }

        void DevicePop()
        {
            bool got = device.TryPopAvail(pair.Chain);
            if (published.Count == 0)
            {
                if (got) Fail($"device popped head {pair.Chain.Head} that was never published");
                return;
            }
            if (!got) Fail("device found nothing though requests were published");
            ushort head = published.Dequeue();
            var req = outstanding[head];
            var chain = pair.Chain;
            if (chain.Head != head) Fail($"device popped head {chain.Head}, expected {head}");
            if (chain.Count != req.Segments.Length) Fail($"head {head}: {chain.Count} segments, expected {req.Segments.Length}");
            byte tag = (byte)(req.Serial * 7 + 1);
            for (int i = 0; i < chain.Count; i++)
            {
                var seg = chain.Segments[i];
                var want = req.Segments[i];
                if (seg.Host != (nint)pair.HostOf(want.GuestAddress) || seg.Length != want.Length || seg.DeviceWritable != want.DeviceWritable)
                    Fail($"head {head} segment {i}: got ({seg.Host:x}, {seg.Length}, {seg.DeviceWritable}), expected guest 0x{want.GuestAddress:x} ({want.Length}, {want.DeviceWritable})");
                if (!seg.DeviceWritable && new ReadOnlySpan<byte>((void*)seg.Host, (int)seg.Length).ContainsAnyExcept((byte)(tag + i)))
                    Fail($"head {head} segment {i}: device reads other bytes than the driver wrote");
            }
            if (chain.WritableBytes != req.Writable) Fail($"head {head}: writable {chain.WritableBytes}, expected {req.Writable}");
            held.Add((head, chain.Segments.ToArray()));
            stats[2]++;
        }

        void DeviceComplete()
        {
            if (held.Count == 0) return;
            int k = rng.Next(held.Count);
            var (head, segs) = held[k];
            held.RemoveAt(k);
            uint writable = 0;
            foreach (var s in segs) if (s.DeviceWritable) writable += s.Length;
            uint len = (uint)rng.Next(0, (int)writable + 1);
            byte tag = (byte)~(outstanding[head].Serial * 7 + 1);
            uint left = len;
            foreach (var s in segs)
            {
                if (!s.DeviceWritable) continue;
                int n = (int)Math.Min(left, s.Length);
                new Span<byte>((void*)s.Host, n).Fill(tag);
                left -= (uint)n;
            }
            device.PushUsed(head, len);
            pushed.Add((head, len));
            stats[3]++;
        }

        void DevicePublishUsed()
        {
            device.PublishUsed();
            foreach (var p in pushed) visible.Enqueue(p);
            pushed.Clear();
            stats[4]++;
        }

        void DriverPop()
        {
            bool got = driver.TryPopUsed(out ushort id, out uint len);
            if (visible.Count == 0)
            {
                if (got) Fail($"driver took a completion for {id} that was never published");
                return;
            }
            if (!got) Fail($"driver found no completion though {visible.Count} were published");
            var (wantId, wantLen) = visible.Dequeue();
            if (id != wantId || len != wantLen) Fail($"completion ({id}, {len}), expected ({wantId}, {wantLen})");
            if (!outstanding.Remove(id, out var req)) Fail($"id {id} completed but not outstanding");
            byte tag = (byte)~(req!.Serial * 7 + 1);
            uint left = len;
            foreach (var s in req.Segments)
            {
                if (!s.DeviceWritable) continue;
                int n = (int)Math.Min(left, s.Length);
                if (new ReadOnlySpan<byte>(pair.HostOf(s.GuestAddress), n).ContainsAnyExcept(tag))
                    Fail($"id {id}: the driver does not see what the device wrote");
                left -= (uint)n;
            }
            freeSlots.Push(req.Slot);
            descriptorsInUse -= req.Descriptors;
            completed++;
            stats[5]++;
        }

        var ops = new (int Weight, Action Op)[]
        {
            (30, DriverAdd), (8, DriverPublish), (22, DevicePop), (20, DeviceComplete), (8, DevicePublishUsed), (22, DriverPop),
        };
        int totalWeight = ops.Sum(o => o.Weight);
        for (serial = 0; serial < Operations; serial++)
        {
            int r = rng.Next(totalWeight);
            foreach (var (w, op) in ops)
            {
                if (r < w)
                {
                    op();
                    break;
                }
                r -= w;
            }
            Check();
        }

        // Drain: everything added is completed exactly once.
        DriverPublish();
        while (published.Count > 0) DevicePop();
        while (held.Count > 0) DeviceComplete();
        DevicePublishUsed();
        while (visible.Count > 0) DriverPop();
        Check();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(outstanding, Is.Empty, "nothing lost");
            Assert.That(completed, Is.EqualTo(stats[0]), "every request completed once");
            Assert.That(driver.FreeDescriptors, Is.EqualTo(size));
            Assert.That(driver.InFlight, Is.Zero);
            Assert.That(driver.TryPopUsed(out _, out _), Is.False);
            Assert.That(device.TryPopAvail(pair.Chain), Is.False);
            Assert.That(stats, Is.All.GreaterThan(50), $"every operation ran often: {string.Join(", ", stats)}");
            Assert.That(pair.Region.GuardsIntact, Is.True);
        }
    }
}
