using System.Diagnostics;
using Orion.Pmd.Linux;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Rings;
using Orion.Pmd.Virtio.VhostUser;

namespace Orion.Pmd.Device.Tests.VhostUser.Support;

/// <summary>
/// A small vhost-user front-end for tests, built from the codec: one memfd region registered with guest addresses
/// (descriptors) unlike its user addresses (ring addresses), both unlike its host address, so a server that mixes the
/// two spaces fails. Rings are the engine's own driver classes over the front-end's mapping. Every wait is bounded.
/// </summary>
internal sealed unsafe partial class TestFrontEnd : IDisposable
{
    public const ulong GuestBase = 0x40_0000_0000;
    public const ulong UserBase = 0x7000_0000_0000;
    public const long RegionBytes = 4 << 20;
    public const long RingStride = 64 << 10;
    public const long DataStart = 1 << 20;
    public const int ReplyTimeoutMs = 5000;

    private readonly byte[] _buffer = new byte[VhostUserHeader.Size + 4096];

    public TestFrontEnd(UnixSocket socket, int queues = 2, MemorySeal seals = SharedMemory.SizeSeals)
    {
        Socket = socket;
        Memory = SharedMemory.Create($"orion-vu-fe-{Guid.NewGuid():N}", RegionBytes, seals);
        Rings = new IDriverQueue?[queues];
        Kicks = new EventFd[queues];
        Calls = new EventFd[queues];
        for (int q = 0; q < queues; q++)
        {
            Kicks[q] = new EventFd();
            Calls[q] = new EventFd();
        }
    }

    public UnixSocket Socket { get; private set; }

    /// <summary>Closes the connection and continues on <paramref name="socket"/> with the same memory and rings (a reconnect).</summary>
    public void ReplaceSocket(UnixSocket socket)
    {
        Socket.Dispose();
        Socket = socket;
    }
    public SharedMemory Memory { get; }
    public IDriverQueue?[] Rings { get; }
    public EventFd[] Kicks { get; }
    public EventFd[] Calls { get; }
    public VirtioFeatures Offered { get; private set; }
    public VirtioFeatures Negotiated { get; private set; }
    public int QueueSize { get; set; } = 64;
    public bool Packed => Negotiated.HasFlag(VirtioFeatures.RingPacked);

    // ------------------------------------------------------------------ messages

    /// <summary>Sends one message (header + payload in one sendmsg, fds attached) with raw flags.</summary>
    public void SendRaw(VhostUserRequest request, ReadOnlySpan<byte> payload, ReadOnlySpan<int> fds = default, uint flags = VhostUserHeader.FlagVersion1, uint? size = null)
    {
        var message = new byte[VhostUserHeader.Size + payload.Length];
        new VhostUserHeader(request, flags, size ?? (uint)payload.Length).Write(message);
        payload.CopyTo(message.AsSpan(VhostUserHeader.Size));
        Socket.Send(message, fds);
    }

    /// <summary>Sends a request without a reply of its own; with <paramref name="needReply"/> waits for the ack and returns it (else 0).</summary>
    public ulong Send(VhostUserRequest request, ReadOnlySpan<byte> payload = default, ReadOnlySpan<int> fds = default, bool needReply = false)
    {
        SendRaw(request, payload, fds, VhostUserHeader.FlagVersion1 | (needReply ? VhostUserHeader.FlagNeedReply : 0));
        if (!needReply) return 0;
        var reply = ReadReply(request);
        Assert.That(VhostUserU64.TryRead(reply, out ulong ack), Is.True, $"ack of {request} has {reply.Length} bytes");
        return ack;
    }

    /// <summary>Sends a request with a reply and returns the reply's payload.</summary>
    public byte[] Call(VhostUserRequest request, ReadOnlySpan<byte> payload = default)
    {
        SendRaw(request, payload);
        return ReadReply(request);
    }

    public ulong CallU64(VhostUserRequest request)
    {
        var reply = Call(request);
        Assert.That(VhostUserU64.TryRead(reply, out ulong v), Is.True, $"{request} reply has {reply.Length} bytes");
        return v;
    }

    /// <summary>Reads one reply (bounded); fails the test on timeout, hang-up or a reply to something else.</summary>
    public byte[] ReadReply(VhostUserRequest request)
    {
        if (!Socket.WaitReadable(ReplyTimeoutMs)) Assert.Fail($"no reply to {request} within {ReplyTimeoutMs} ms");
        Span<int> fds = stackalloc int[8];
        var head = _buffer.AsSpan(0, VhostUserHeader.Size);
        if (!Socket.ReceiveExact(head, fds, out int n)) Assert.Fail($"the server hung up instead of answering {request}");
        Assert.That(n, Is.Zero, "replies carry no fds");
        var h = VhostUserHeader.Read(head);
        Assert.That(h.Request, Is.EqualTo(request));
        Assert.That(h.HasValidVersion && h.IsReply, Is.True, $"reply flags 0x{h.Flags:x}");
        var payload = new byte[h.PayloadSize];
        if (payload.Length > 0) Socket.ReceiveExact(payload, fds, out _);
        return payload;
    }

    /// <summary>Whether the server closed the connection within <paramref name="timeoutMs"/>.</summary>
    public bool WaitForHangUp(int timeoutMs = 5000) => Socket.IsHungUp(timeoutMs);

    // ------------------------------------------------------------------ handshake steps

    public const VhostUserProtocolFeatures WantedProtocol = VhostUserProtocolFeatures.Mq | VhostUserProtocolFeatures.ReplyAck | VhostUserProtocolFeatures.Config;

    /// <summary>
    /// QEMU's order up to the memory table: features, protocol features, queue count, owner, SET_FEATURES (acked),
    /// SET_MEM_TABLE (acked). Accepts <c>offered &amp; accept</c> (plus VERSION_1 and protocol features).
    /// </summary>
    public void Handshake(VirtioFeatures accept = (VirtioFeatures)ulong.MaxValue, bool protocolFeatures = true)
    {
        ulong features = CallU64(VhostUserRequest.GetFeatures);
        Assert.That(features & VhostUserLimits.ProtocolFeaturesBit, Is.Not.Zero, "bit 30 offered");
        Offered = (VirtioFeatures)(features & ~VhostUserLimits.ProtocolFeaturesBit);
        if (protocolFeatures)
        {
            var offeredProtocol = (VhostUserProtocolFeatures)CallU64(VhostUserRequest.GetProtocolFeatures);
            SendU64(VhostUserRequest.SetProtocolFeatures, (ulong)(offeredProtocol & WantedProtocol));
            Assert.That(CallU64(VhostUserRequest.GetQueueNum), Is.EqualTo((ulong)Rings.Length));
        }
        Send(VhostUserRequest.SetOwner);
        Negotiated = Offered & accept | VirtioFeatures.Version1;
        Assert.That(SendU64(VhostUserRequest.SetFeatures, (ulong)Negotiated | (protocolFeatures ? VhostUserLimits.ProtocolFeaturesBit : 0), needReply: true), Is.Zero);
        Assert.That(SetMemTable(), Is.Zero, "SET_MEM_TABLE acked");
    }

    public ulong SendU64(VhostUserRequest request, ulong value, bool needReply = false)
    {
        Span<byte> p = stackalloc byte[8];
        VhostUserU64.Write(p, value);
        return Send(request, p, default, needReply);
    }

    /// <summary>The whole memfd as one region (or <paramref name="regions"/>), acked.</summary>
    public ulong SetMemTable(VhostMemoryRegion[]? regions = null, int[]? fds = null)
    {
        regions ??= [new VhostMemoryRegion(GuestBase, (ulong)Memory.Length, UserBase, 0)];
        fds ??= [.. regions.Select(_ => Memory.Fd)];
        var payload = new byte[VhostMemoryTable.SizeFor(regions.Length)];
        VhostMemoryTable.Write(payload, regions);
        return Send(VhostUserRequest.SetMemTable, payload, fds, needReply: true);
    }

    public void SendState(VhostUserRequest request, int queue, uint num, bool needReply = false)
    {
        Span<byte> p = stackalloc byte[VringState.Size];
        new VringState((uint)queue, num).Write(p);
        ulong ack = Send(request, p, default, needReply);
        if (needReply) Assert.That(ack, Is.Zero, $"{request} q{queue}={num} acked");
    }

    public void SendFile(VhostUserRequest request, int queue, EventFd? fd, bool needReply = false)
    {
        Span<byte> p = stackalloc byte[VringFile.Size];
        new VringFile((uint)queue, fd is null).Write(p);
        ulong ack = Send(request, p, fd is null ? default : [fd.Fd], needReply);
        if (needReply) Assert.That(ack, Is.Zero, $"{request} q{queue} acked");
    }

    /// <summary>User addresses of queue <paramref name="queue"/>'s areas (split: desc, avail, used; packed: ring, driver, device).</summary>
    public SplitRingAddresses UserRingAddresses(int queue)
    {
        ulong b = UserBase + (ulong)(RingStride * queue);
        if (Packed)
        {
            var l = PackedRingLayout.Compute(QueueSize);
            return new SplitRingAddresses(b + (ulong)l.DescriptorRingOffset, b + (ulong)l.DriverEventOffset, b + (ulong)l.DeviceEventOffset);
        }
        var s = SplitRingLayout.Compute(QueueSize);
        return new SplitRingAddresses(b + (ulong)s.DescriptorTableOffset, b + (ulong)s.AvailOffset, b + (ulong)s.UsedOffset);
    }

    /// <summary>
    /// Arms queue <paramref name="queue"/>: a fresh zeroed ring unless <paramref name="keepRing"/>, then NUM, BASE, ADDR,
    /// KICK (an fd, or NOFD), CALL, ENABLE (acked).
    /// </summary>
    public void StartQueue(int queue, uint? vringBase = null, bool keepRing = false, bool kickFd = true)
    {
        if (!keepRing || Rings[queue] is null)
        {
            byte* ring = Memory.Pointer + RingStride * queue;
            Rings[queue] = Packed
                ? new PackedQueueDriver(ring, PackedRingLayout.Compute(QueueSize), Negotiated.HasFlag(VirtioFeatures.RingEventIdx), suppressInterrupts: true)
                : new SplitQueueDriver(ring, SplitRingLayout.Compute(QueueSize), Negotiated.HasFlag(VirtioFeatures.RingEventIdx), suppressInterrupts: true);
        }
        SendState(VhostUserRequest.SetVringNum, queue, (uint)QueueSize);
        SendState(VhostUserRequest.SetVringBase, queue, vringBase ?? (Packed ? PackedVringBase.Fresh : 0));
        var a = UserRingAddresses(queue);
        SendAddress(new VringAddress((uint)queue, 0, a.DescriptorTable, a.UsedRing, a.AvailRing, 0));
        SendFile(VhostUserRequest.SetVringKick, queue, kickFd ? Kicks[queue] : null);
        SendFile(VhostUserRequest.SetVringCall, queue, Calls[queue]);
        SendState(VhostUserRequest.SetVringEnable, queue, 1, needReply: true);
    }

    public void SendAddress(VringAddress address)
    {
        Span<byte> p = stackalloc byte[VringAddress.Size];
        address.Write(p);
        Send(VhostUserRequest.SetVringAddr, p);
    }

    /// <summary>ENABLE 0 then GET_VRING_BASE; returns the base.</summary>
    public uint StopQueue(int queue)
    {
        SendState(VhostUserRequest.SetVringEnable, queue, 0);
        Span<byte> p = stackalloc byte[VringState.Size];
        new VringState((uint)queue, 0).Write(p);
        var reply = Call(VhostUserRequest.GetVringBase, p);
        Assert.That(VringState.TryRead(reply, out var s), Is.True);
        Assert.That(s.Index, Is.EqualTo((uint)queue));
        return s.Num;
    }

    /// <summary>Handshake and start every queue.</summary>
    public TestFrontEnd Ready(VirtioFeatures accept = (VirtioFeatures)ulong.MaxValue)
    {
        Handshake(accept);
        for (int q = 0; q < Rings.Length; q++) StartQueue(q);
        return this;
    }

    public static bool Eventually(Func<bool> condition, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (condition()) return true;
            Thread.Sleep(1);
        }
        return condition();
    }

    public void Dispose()
    {
        Socket.Dispose();
        foreach (var k in Kicks) k.Dispose();
        foreach (var c in Calls) c.Dispose();
        Memory.Dispose();
    }
}
