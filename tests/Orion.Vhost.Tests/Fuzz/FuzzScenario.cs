using System.Buffers.Binary;
using Orion.Pmd.Linux;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.VhostUser;

namespace Orion.Vhost.Tests.Fuzz;

/// <summary>One step of a scenario: what it does, in words (printed for a replay), and the doing.</summary>
internal sealed record FuzzStep(string What, Action<FuzzConnection> Run);

/// <summary>
/// Generates one connection's worth of front-end traffic from a seeded <see cref="Random"/>: usually a QEMU-like
/// handshake whose steps are now and then replaced by a mutated or random message, with extra messages thrown in, then
/// requests in the rings (well-formed and hostile) mixed with more control messages; sometimes pure noise, a stall in
/// the middle of a message, or a silent connection. Everything is decided here, from the seed alone (never from the
/// back-end's answers), so a seed replays the same traffic.
/// </summary>
internal sealed class FuzzScenario(Random rng)
{
    /// <summary>Features a well-behaved front-end accepts (VERSION_1 and bit 30 added); packed chosen per scenario.</summary>
    private const ulong Accepted = (ulong)(VirtioFeatures.Version1 | VirtioFeatures.RingIndirectDesc | VirtioFeatures.RingEventIdx | VirtioFeatures.BlkFlush
                                           | VirtioFeatures.BlkMultiQueue | VirtioFeatures.BlkBlockSize | VirtioFeatures.BlkSegMax) | VhostUserLimits.ProtocolFeaturesBit;

    private static readonly FdKind[] AllKinds = Enum.GetValues<FdKind>();

    /// <summary>How the connection's memfd is sealed (mostly as the engine and QEMU seal it).</summary>
    public MemorySeal Seals { get; private set; } = SharedMemory.SizeSeals;

    /// <summary>Whether this scenario connects and then says nothing (the batch's verifying client must still get in).</summary>
    public bool Silent { get; private set; }

    public List<FuzzStep> Generate()
    {
        var steps = new List<FuzzStep>();
        int kind = rng.Next(100);
        Seals = rng.Next(10) switch { 0 => MemorySeal.None, 1 => MemorySeal.Seal, _ => SharedMemory.SizeSeals };
        if (kind < 2)
        {
            Silent = true;
            steps.Add(new("connect and send nothing", _ => { }));
            return steps;
        }
        if (kind < 12)
        {
            for (int i = rng.Next(1, 12); i > 0; i--) steps.Add(Noise());
            return steps;
        }
        double mutate = rng.NextDouble() * 0.15;
        bool packed = rng.Next(3) == 0;
        int queues = rng.Next(1, 3);
        int size = 16 << rng.Next(5);                      // 16..256
        foreach (var s in Handshake(packed, queues, size)) steps.Add(rng.NextDouble() < mutate ? Mutant() : s);
        for (int i = rng.Next(0, 30); i > 0; i--)
        {
            int r = rng.Next(100);
            if (r < 55) steps.Add(RingTraffic(rng.Next(queues)));
            else if (r < 85) steps.Add(Mutant());
            else if (r < 97) steps.Add(Noise());
            else steps.Add(Shrink());
        }
        if (rng.Next(60) == 0) steps.Add(Stall());
        return steps;
    }

    // ------------------------------------------------------------------ the well-behaved path

    /// <summary>A QEMU-like handshake that starts <paramref name="queues"/> rings of <paramref name="size"/> (what a well-behaved front-end sends).</summary>
    public static IEnumerable<FuzzStep> Handshake(bool packed, int queues, int size)
    {
        yield return Message("GetFeatures", VhostUserRequest.GetFeatures, [], reply: true);
        yield return Message("GetProtocolFeatures", VhostUserRequest.GetProtocolFeatures, [], reply: true);
        yield return Message("SetProtocolFeatures MQ|REPLY_ACK|CONFIG", VhostUserRequest.SetProtocolFeatures,
            U64((ulong)(VhostUserProtocolFeatures.Mq | VhostUserProtocolFeatures.ReplyAck | VhostUserProtocolFeatures.Config)));
        yield return Message("GetQueueNum", VhostUserRequest.GetQueueNum, [], reply: true);
        yield return Message("SetOwner", VhostUserRequest.SetOwner, []);
        ulong features = Accepted | (packed ? (ulong)VirtioFeatures.RingPacked : 0);
        yield return new($"SetFeatures 0x{features:x} (need reply)", c =>
        {
            c.Packed = packed;
            c.Send((uint)VhostUserRequest.SetFeatures, NeedReply, 8, U64(features), default, true);
        });
        yield return MemTable([new VhostMemoryRegion(FuzzConnection.GuestBase, FuzzConnection.MemoryBytes, FuzzConnection.UserBase, 0)], [FdKind.Memfd], "the whole memfd");
        for (int q = 0; q < queues; q++)
        {
            int queue = q;
            yield return new($"queue {q}: fresh ring of {size}, SetVringNum {size}, SetVringBase fresh", c =>
            {
                var ring = c.Rings[queue];
                ring.Size = size;
                ring.Fresh(c);
                c.Send((uint)VhostUserRequest.SetVringNum, V1, 8, State(queue, (uint)size), default, false);
                c.Send((uint)VhostUserRequest.SetVringBase, V1, 8, State(queue, c.Packed ? PackedVringBase.Fresh : 0), default, false);
            });
            yield return new($"queue {q}: SetVringAddr (its ring's user addresses)", c =>
            {
                var (d, a, u) = c.Rings[queue].UserAddresses(c.Packed);
                c.Send((uint)VhostUserRequest.SetVringAddr, V1, VringAddress.Size, Address(new VringAddress((uint)queue, 0, d, u, a, 0)), default, false);
            });
            yield return Fd(VhostUserRequest.SetVringKick, queue, FdKind.EventFd);
            yield return Fd(VhostUserRequest.SetVringCall, queue, FdKind.EventFd);
            yield return Message($"queue {q}: SetVringEnable 1 (need reply)", VhostUserRequest.SetVringEnable, State(queue, 1), reply: true, flags: NeedReply);
        }
    }

    // ------------------------------------------------------------------ mutants: each request type, wrong in some way

    private FuzzStep Mutant() => rng.Next(14) switch
    {
        0 => MutantFeatures(),
        1 => MutantMemTable(),
        2 => MutantState(VhostUserRequest.SetVringNum, [0, 1, 3, 100, 256, 1024, 32768, 65535, 65536, uint.MaxValue]),
        3 => MutantState(VhostUserRequest.SetVringBase, [0, 1, 0x7fff, 0xffff, 0x10000, 0x8000_8000, uint.MaxValue]),
        4 => MutantAddress(),
        5 => Fd(rng.Next(3) switch { 0 => VhostUserRequest.SetVringKick, 1 => VhostUserRequest.SetVringCall, _ => VhostUserRequest.SetVringErr },
                Queue(), AllKinds[rng.Next(AllKinds.Length)], noFd: rng.Next(8) == 0, extraFds: rng.Next(8) == 0 ? rng.Next(1, 4) : 0),
        6 => MutantState(VhostUserRequest.SetVringEnable, [0, 1, 2, 256, uint.MaxValue]),
        7 => MutantState(VhostUserRequest.GetVringBase, [0, 1, uint.MaxValue], reply: true),
        8 => MutantConfig(),
        9 => Message("ResetOwner", VhostUserRequest.ResetOwner, []),
        10 => Message("SetProtocolFeatures (random)", VhostUserRequest.SetProtocolFeatures, U64(RandomU64())),
        11 => EventFdState(),
        12 => Message("GetFeatures with an 8-byte payload", VhostUserRequest.GetFeatures, U64(0), reply: true),
        _ => Message("SetOwner (again)", VhostUserRequest.SetOwner, []),
    };

    private FuzzStep MutantFeatures()
    {
        ulong f = rng.Next(4) switch
        {
            0 => RandomU64(),
            1 => Accepted & ~(ulong)VirtioFeatures.Version1,
            2 => Accepted | (ulong)VirtioFeatures.RingPacked,
            _ => Accepted,
        };
        bool packed = (f & (ulong)VirtioFeatures.RingPacked) != 0;
        return new($"SetFeatures 0x{f:x}", c =>
        {
            c.Packed = packed;
            c.Send((uint)VhostUserRequest.SetFeatures, NeedReply, 8, U64(f), default, true);
        });
    }

    private FuzzStep MutantMemTable()
    {
        const ulong G = FuzzConnection.GuestBase, U = FuzzConnection.UserBase, M = FuzzConnection.MemoryBytes;
        var regions = new List<VhostMemoryRegion>();
        var fds = new List<FdKind>();
        int count = rng.Next(10) == 0 ? rng.Next(0, 10) : rng.Next(1, 4);
        for (int i = 0; i < count; i++)
        {
            regions.Add(rng.Next(12) switch
            {
                0 => new(G, M, U, 0),                                         // overlaps the first
                1 => new(G + M * (ulong)(i + 1), 0, U + M * (ulong)(i + 1), 0),       // zero-sized
                2 => new(G, ulong.MaxValue, U, 0),                            // huge
                3 => new(G + M * (ulong)(i + 1), M, U + M * (ulong)(i + 1), 1),       // unaligned mmap offset
                4 => new(G + M * (ulong)(i + 1), M * 2, U + M * (ulong)(i + 1), 0),   // beyond the fd's size
                5 => new(G + M * (ulong)(i + 1), M, U + M * (ulong)(i + 1), M),       // offset at the end of the fd
                6 => new(ulong.MaxValue - 4095, M, U + M * (ulong)(i + 1), 0),        // wraps
                7 => new(RandomU64(), RandomU64(), RandomU64(), RandomU64()),
                8 => new(G + M * (ulong)(i + 1), 4096, U, 0),                  // user address overlaps
                9 => new(G + M * (ulong)(i + 1), M / 2, U + M * (ulong)(i + 1), (ulong)(M / 2)),
                _ => new(G + M * (ulong)i, M, U + M * (ulong)i, 0),           // fine (the first is the real table)
            });
            fds.Add(rng.Next(4) == 0 ? AllKinds[rng.Next(AllKinds.Length)] : FdKind.Memfd);
        }
        int drop = rng.Next(6) == 0 ? rng.Next(-2, 3) : 0;                    // fewer or more fds than regions
        while (drop > 0 && fds.Count > 0) { fds.RemoveAt(fds.Count - 1); drop--; }
        while (drop < 0) { fds.Add(FdKind.Memfd); drop++; }
        return MemTable([.. regions], [.. fds], $"{count} region(s): {string.Join("; ", regions.Select(r => $"g 0x{r.GuestAddress:x} +0x{r.Size:x} u 0x{r.UserAddress:x} off 0x{r.MmapOffset:x}"))}");
    }

    private FuzzStep MutantState(VhostUserRequest r, uint[] values, bool reply = false)
    {
        uint index = Queue();
        uint num = rng.Next(4) == 0 ? (uint)rng.NextInt64(0, 1L << 32) : values[rng.Next(values.Length)];
        bool setsSize = r == VhostUserRequest.SetVringNum && index < 2 && num is 16 or 32 or 64 or 128 or 256;
        return new($"{r} queue {index} = {num}", c =>
        {
            if (setsSize) c.Rings[index].Size = (int)num;
            c.Send((uint)r, rng.Next(4) == 0 ? NeedReply : V1, VringState.Size, State(index, num), default, reply);
        });
    }

    private FuzzStep MutantAddress()
    {
        uint index = Queue();
        int how = rng.Next(7);
        uint flags = rng.Next(8) == 0 ? (uint)rng.Next(1, 4) : 0;
        long shift = how switch { 1 => 1, 2 => FuzzConnection.MemoryBytes - 64, 3 => -4096, _ => 0 };
        return new($"SetVringAddr queue {index} ({how switch { 0 => "right", 1 => "unaligned", 2 => "at the end of memory", 3 => "before memory", 4 => "guest addresses", 5 => "random", _ => "areas swapped" }}, flags {flags})", c =>
        {
            var (d, a, u) = index < 2 ? c.Rings[index].UserAddresses(c.Packed) : (FuzzConnection.UserBase, FuzzConnection.UserBase + 4096, FuzzConnection.UserBase + 8192);
            VringAddress addr = how switch
            {
                4 => new(index, flags, d - FuzzConnection.UserBase + FuzzConnection.GuestBase, u - FuzzConnection.UserBase + FuzzConnection.GuestBase, a - FuzzConnection.UserBase + FuzzConnection.GuestBase, 0),
                5 => new(index, flags, RandomU64(), RandomU64(), RandomU64(), RandomU64()),
                6 => new(index, flags, u, d, a, 0),
                _ => new(index, flags, (ulong)((long)d + shift), (ulong)((long)u + shift), (ulong)((long)a + shift), 0),
            };
            c.Send((uint)VhostUserRequest.SetVringAddr, V1, VringAddress.Size, Address(addr), default, false);
        });
    }

    private FuzzStep MutantConfig()
    {
        uint offset = rng.Next(3) == 0 ? (uint)rng.Next() : (uint)rng.Next(0, 64);
        uint size = rng.Next(3) == 0 ? (uint)rng.Next() : (uint)rng.Next(0, 300);
        uint flags = (uint)rng.Next(0, 3);
        bool set = rng.Next(2) == 0;
        int dataBytes = rng.Next(4) == 0 ? rng.Next(0, 260) : (int)Math.Min(size, 256);
        var payload = new byte[12 + dataBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(payload, offset);
        BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(4), size);
        BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(8), flags);
        rng.NextBytes(payload.AsSpan(12));
        var r = set ? VhostUserRequest.SetConfig : VhostUserRequest.GetConfig;
        return Message($"{r} offset {offset} size {size} flags {flags} with {dataBytes} data bytes", r, payload, reply: !set, flags: set && rng.Next(2) == 0 ? NeedReply : V1);
    }

    /// <summary>Eventfd states: a kick fd written to its maximum, or kicked a lot.</summary>
    private FuzzStep EventFdState()
    {
        int q = rng.Next(2);
        bool full = rng.Next(2) == 0;
        return new($"queue {q}'s kick eventfd {(full ? "written to its maximum count" : "kicked 100 times")}", c =>
        {
            try
            {
                if (full) c.Kicks[q].Signal(0xffff_ffff_ffff_fffe);
                else for (int i = 0; i < 100; i++) c.Kicks[q].Signal();
            }
            catch (LinuxException) { }                                       // already full: the write would block
        });
    }

    // ------------------------------------------------------------------ noise, stalls, shrinks

    /// <summary>A random message: any code, any flags, a size that may lie, random bytes, random fds.</summary>
    private FuzzStep Noise()
    {
        uint code = rng.Next(5) == 0 ? (uint)rng.NextInt64(0, 1L << 32) : (uint)rng.Next(0, 45);
        uint flags = rng.Next(4) == 0 ? (uint)rng.Next() : rng.Next(2) == 0 ? V1 : NeedReply;
        int length = rng.Next(6) == 0 ? rng.Next(0, 400) : rng.Next(0, 48);
        uint announced = rng.Next(5) switch { 0 => (uint)rng.NextInt64(0, 1L << 32), 1 => (uint)Math.Max(0, length + rng.Next(-8, 9)), _ => (uint)length };
        var payload = new byte[length];
        rng.NextBytes(payload);
        var kinds = Enumerable.Range(0, rng.Next(4) == 0 ? rng.Next(1, 12) : 0).Select(_ => AllKinds[rng.Next(AllKinds.Length)]).ToArray();
        return new($"noise: code {code} flags 0x{flags:x} announcing {announced} bytes with {length}, fds [{string.Join(",", kinds)}]", c =>
        {
            int[] fds = [.. kinds.Select(c.MakeFd)];
            c.Send(code, flags, announced, payload, fds, false);
            c.AfterSend();
            c.Drain(5);
        });
    }

    private FuzzStep Stall()
    {
        int bytes = rng.Next(1, 12);
        return new($"stall: {bytes} bytes of a header, then nothing (the back-end's message timeout must end it)", c =>
        {
            var h = new byte[VhostUserHeader.Size];
            VhostUserHeader.ForRequest(VhostUserRequest.SetVringNum, 8).Write(h);
            c.SendPartial(h.AsSpan(0, bytes));
            c.Drain(3000);                                                   // the back-end hangs up after its timeout
        });
    }

    private FuzzStep Shrink()
    {
        long to = rng.Next(3) switch { 0 => 0, 1 => 4096, _ => FuzzConnection.MemoryBytes / 2 };
        return new($"shrink the memfd to {to} bytes, then kick both queues", c =>
        {
            c.Shrink(to);
            foreach (var k in c.Kicks) k.Signal();
            c.Drain(20);
        });
    }

    // ------------------------------------------------------------------ requests in the rings

    private FuzzStep RingTraffic(int q)
    {
        int shape = rng.Next(12);
        int count = rng.Next(1, 6);
        ulong seed = RandomU64();
        return new($"queue {q}: {count} request(s) of shape {shape} (seed {seed})", c =>
        {
            var ring = c.Rings[q];
            var r = new Random((int)seed);
            for (int i = 0; i < count; i++) Request(c, ring, shape, r);
            if (c.Ended) return;
            try { c.Kicks[q].Signal(); } catch (LinuxException) { }
            c.Drain(rng.Next(3) == 0 ? 20 : 1);
        });
    }

    /// <summary>One request in <paramref name="ring"/>: a good read/write/flush/get-id, or a hostile chain.</summary>
    private static void Request(FuzzConnection c, FuzzRing ring, int shape, Random r)
    {
        const ulong G = FuzzConnection.GuestBase;
        long data = FuzzConnection.DataStart + r.Next(0, 512) * 1024L;
        ulong header = G + (ulong)data, buffer = header + 64, status = header + 48;
        var h = new byte[16];
        uint type = shape == 5 ? (uint)r.Next() : (uint)(new[] { 0, 1, 4, 8 }[r.Next(4)]);
        BinaryPrimitives.WriteUInt32LittleEndian(h, type);
        BinaryPrimitives.WriteUInt64LittleEndian(h.AsSpan(8), shape == 6 ? (ulong)r.NextInt64() : (ulong)r.Next(0, 1 << 14));
        FuzzRing.Poke(c, data, h);
        uint len = shape switch { 1 => 0, 2 => 0x8000_0000, 3 => uint.MaxValue, _ => 512u * (uint)r.Next(1, 9) };
        ulong addr = shape switch { 4 => G + (ulong)FuzzConnection.MemoryBytes - 256, 7 => ulong.MaxValue - 16, 8 => G - 4096, _ => buffer };
        bool write = type == 0 || type == 8;                                 // IN and GET_ID: the device writes the buffer
        const ushort Next = 1, Write = 2, Indirect = 4;
        int slot = ring.AvailIdx % ring.Size;
        if (c.Packed)
        {
            ushort avail = ring.PackedAvailBits;
            ushort id = shape == 9 ? (ushort)r.Next() : (ushort)slot;
            if (shape == 10)
            {
                // An indirect table of random shape (length not a multiple of 16, zero, huge, or nested flags inside).
                uint tableLen = (uint)new[] { 0, 8, 48, 17, 1 << 20 }[r.Next(5)];
                var table = new byte[48];
                r.NextBytes(table);
                FuzzRing.Poke(c, data + 128, table);
                ring.WriteDescriptor(c, true, slot, G + (ulong)data + 128, tableLen, (ushort)(Indirect | avail), id);
                ring.AdvancePacked(1);
                return;
            }
            ring.WriteDescriptor(c, true, slot, header, 16, (ushort)(Next | avail), id);
            ring.WriteDescriptor(c, true, slot + 1, addr, len, (ushort)((write ? Write : 0) | (shape == 11 ? Next : Next) | avail), id);
            ring.WriteDescriptor(c, true, slot + 2, status, 1, (ushort)(Write | (shape == 11 ? Next : 0) | avail), id);
            ring.AdvancePacked(3);
            return;
        }
        ushort d0 = (ushort)slot, d1 = (ushort)((slot + 1) % ring.Size), d2 = (ushort)((slot + 2) % ring.Size);
        switch (shape)
        {
            case 9:                                                          // a loop: the last descriptor points back at the first
                ring.WriteDescriptor(c, false, d0, header, 16, Next, d1);
                ring.WriteDescriptor(c, false, d1, addr, len, (ushort)(Next | (write ? Write : 0)), d0);
                ring.PublishSplit(c, d0);
                return;
            case 10:                                                         // an indirect table of random shape
            {
                uint tableLen = (uint)new[] { 0, 8, 48, 17, 1 << 20 }[r.Next(5)];
                var table = new byte[48];
                r.NextBytes(table);
                FuzzRing.Poke(c, data + 128, table);
                ring.WriteDescriptor(c, false, d0, G + (ulong)data + 128, tableLen, (ushort)(Indirect | (r.Next(4) == 0 ? Next : 0)), d1);
                ring.PublishSplit(c, d0);
                return;
            }
            case 11:                                                         // avail entries out of range, or the index far ahead
                ring.PublishSplit(c, (ushort)r.Next(ring.Size, 65536), (ushort)(r.Next(3) == 0 ? r.Next(2, 3000) : 1));
                return;
            default:
                ring.WriteDescriptor(c, false, d0, header, 16, Next, shape == 6 ? (ushort)r.Next() : d1);
                ring.WriteDescriptor(c, false, d1, addr, len, (ushort)(Next | (write ? Write : 0)), d2);
                ring.WriteDescriptor(c, false, d2, status, 1, Write, 0);
                ring.PublishSplit(c, d0);
                ring.AvailIdx += 0;
                return;
        }
    }

    // ------------------------------------------------------------------ message helpers

    private const uint V1 = VhostUserHeader.FlagVersion1, NeedReply = VhostUserHeader.FlagVersion1 | VhostUserHeader.FlagNeedReply;

    private uint Queue() => rng.Next(8) == 0 ? (uint)rng.Next(2, 300) : (uint)rng.Next(2);

    private ulong RandomU64() => (ulong)rng.NextInt64() ^ ((ulong)rng.Next() << 33);

    private static FuzzStep Message(string what, VhostUserRequest r, byte[] payload, bool reply = false, uint flags = V1) =>
        new(what, c => c.Send((uint)r, flags, (uint)payload.Length, payload, default, reply || (flags & VhostUserHeader.FlagNeedReply) != 0));

    private static FuzzStep Fd(VhostUserRequest r, int queue, FdKind kind, bool noFd = false, int extraFds = 0) => Fd(r, (uint)queue, kind, noFd, extraFds);

    private static FuzzStep Fd(VhostUserRequest r, uint queue, FdKind kind, bool noFd = false, int extraFds = 0) =>
        new($"{r} queue {queue}: {(noFd ? "no-fd flag" : "")} {kind}{(extraFds > 0 ? $" + {extraFds} more fd(s)" : "")}", c =>
        {
            var p = new byte[8];
            // By hand: an index past 255 spills into the flag bits, which the codec would refuse to write.
            BinaryPrimitives.WriteUInt64LittleEndian(p, queue | (noFd ? VringFile.NoFdFlag : 0));
            var fds = new List<int>();
            if (!noFd || extraFds > 0)
                fds.Add(kind == FdKind.EventFd && r == VhostUserRequest.SetVringKick && queue < 2 ? c.Kicks[queue].Fd : c.MakeFd(kind));
            for (int i = 0; i < extraFds; i++) fds.Add(c.MakeFd(FdKind.EventFd));
            c.Send((uint)r, V1, 8, p, fds.ToArray(), false);
            c.AfterSend();
        });

    private static FuzzStep MemTable(VhostMemoryRegion[] regions, FdKind[] fds, string what) =>
        new($"SetMemTable (need reply): {what}; fds [{string.Join(",", fds)}]", c =>
        {
            var payload = new byte[VhostMemoryTable.SizeFor(regions.Length)];
            // Written by hand: the codec refuses to write more than 8 regions, which a hostile table may well have.
            BinaryPrimitives.WriteUInt32LittleEndian(payload, (uint)regions.Length);
            for (int i = 0; i < regions.Length; i++) regions[i].Write(payload.AsSpan(VhostMemoryTable.HeaderSize + i * VhostMemoryRegion.WireSize));
            int[] sent = [.. fds.Take(UnixSocket.MaxFdsPerMessage).Select(c.MakeFd)];
            c.Send((uint)VhostUserRequest.SetMemTable, NeedReply, (uint)payload.Length, payload, sent, true);
            c.AfterSend();
        });

    private static byte[] U64(ulong v)
    {
        var p = new byte[8];
        VhostUserU64.Write(p, v);
        return p;
    }

    private static byte[] State(uint index, uint num)
    {
        var p = new byte[VringState.Size];
        new VringState(index, num).Write(p);
        return p;
    }

    private static byte[] State(int index, uint num) => State((uint)index, num);

    private static byte[] Address(VringAddress a)
    {
        var p = new byte[VringAddress.Size];
        a.Write(p);
        return p;
    }
}
