using System.Diagnostics;
using System.Runtime.CompilerServices;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Device.Tests.VhostUser.Support;

/// <summary>What the device answered to one request.</summary>
internal sealed record VuCompletion(byte Status, uint UsedLength, byte[] Data)
{
    public BlkStatus BlkStatus => (BlkStatus)Status;
}

// Requests: built in the front-end's region, one at a time per call, completed by polling the used ring (interrupts stay
// suppressed); the kick eventfd is written only when the device asked for kicks.
internal sealed unsafe partial class TestFrontEnd
{
    private long _cursor = DataStart;

    /// <summary>Kicks sent so far (the device suppresses them in polled mode).</summary>
    public int KicksSent { get; private set; }

    /// <summary>Guest addresses of bump-allocated request memory in the data area (wrapping).</summary>
    public ulong Allocate(int bytes, int alignment = 64)
    {
        long at = (_cursor + alignment - 1) & ~(long)(alignment - 1);
        if (at + bytes > Memory.Length) at = DataStart;
        _cursor = at + Math.Max(bytes, 1);
        return GuestBase + (ulong)at;
    }

    public Span<byte> Host(ulong guest, int length) => Memory.GetSpan((long)(guest - GuestBase), length);

    /// <summary>
    /// Adds one request (header, <paramref name="outData"/> readable; <paramref name="inLength"/> writable bytes and the
    /// status byte) and publishes it; returns its id and where its writable bytes are.
    /// </summary>
    public (int Id, ulong In, int InLength) Submit(int queue, BlkRequestHeader header, ReadOnlySpan<byte> outData = default, int inLength = 0, bool? indirect = null)
    {
        if (Rings[queue] is null) throw new InvalidOperationException($"test setup: queue {queue} was not started");
        ulong readable = Allocate(BlkRequestHeader.Size + outData.Length);
        Unsafe.WriteUnaligned(ref Host(readable, BlkRequestHeader.Size)[0], header);
        outData.CopyTo(Host(readable + BlkRequestHeader.Size, outData.Length));
        ulong writable = Allocate(inLength + 1);
        Host(writable, inLength).Fill(0xEE);
        Host(writable + (ulong)inLength, 1)[0] = 0xFF;
        var segs = new List<BufferSegment> { new(readable, BlkRequestHeader.Size, false) };
        if (outData.Length > 0) segs.Add(new BufferSegment(readable + BlkRequestHeader.Size, (uint)outData.Length, false));
        if (inLength > 0) segs.Add(new BufferSegment(writable, (uint)inLength, true));
        segs.Add(new BufferSegment(writable + (ulong)inLength, 1, true));
        int id = AddRaw(queue, [.. segs], indirect ?? Negotiated.HasFlag(VirtioFeatures.RingIndirectDesc));
        Publish(queue);
        return (id, writable, inLength);
    }

    /// <summary>Adds an arbitrary chain (the caller answers for its contents) without publishing; returns its id.</summary>
    public int AddRaw(int queue, ReadOnlySpan<BufferSegment> segs, bool indirect)
    {
        var ring = Rings[queue]!;
        int id;
        if (indirect)
        {
            ulong table = Allocate(16 * segs.Length, 16);
            uint w = ring.WriteIndirectTable(Host(table, 16 * segs.Length), segs);
            id = ring.AddIndirect(table, segs.Length, w);
        }
        else id = ring.AddChain(segs);
        if (id < 0) throw new InvalidOperationException($"test setup: queue {queue} refused the chain");
        return id;
    }

    public void Publish(int queue)
    {
        if (Rings[queue]!.PublishAndCheckKick())
        {
            Kicks[queue].Signal();
            KicksSent++;
        }
    }

    /// <summary>Polls queue <paramref name="queue"/>'s used ring until <paramref name="id"/> completes (bounded); null on timeout.</summary>
    public (uint Length, bool Done) WaitUsed(int queue, int id, TimeSpan? timeout = null)
    {
        var ring = Rings[queue]!;
        var sw = Stopwatch.StartNew();
        var limit = timeout ?? TimeSpan.FromSeconds(5);
        var spin = new SpinWait();
        while (sw.Elapsed < limit)
        {
            if (ring.TryPopUsed(out ushort got, out uint length))
            {
                if (got == id) return (length, true);
                continue;                            // another chain (the tests keep one in flight per queue)
            }
            if (ring.IsBroken) Assert.Fail($"the front-end's ring {queue} broke: {ring.ErrorMessage}");
            spin.SpinOnce(sleep1Threshold: -1);
        }
        return (0, false);
    }

    public VuCompletion Execute(int queue, BlkRequestHeader header, ReadOnlySpan<byte> outData = default, int inLength = 0, bool? indirect = null)
    {
        var (id, inAddr, inLen) = Submit(queue, header, outData, inLength, indirect);
        var (length, done) = WaitUsed(queue, id);
        if (!done) Assert.Fail($"request {id} ({header.Type}) on queue {queue} did not complete within 5 s");
        return new VuCompletion(Host(inAddr + (ulong)inLen, 1)[0], length, Host(inAddr, inLen).ToArray());
    }

    public VuCompletion Read(ulong sector, int length, int queue = 0, bool? indirect = null) =>
        Execute(queue, new BlkRequestHeader(BlkRequestType.In, sector), inLength: length, indirect: indirect);

    public VuCompletion Write(ulong sector, ReadOnlySpan<byte> data, int queue = 0, bool? indirect = null) =>
        Execute(queue, new BlkRequestHeader(BlkRequestType.Out, sector), data, indirect: indirect);

    public VuCompletion Flush(int queue = 0) => Execute(queue, new BlkRequestHeader(BlkRequestType.Flush, 0));

    public VuCompletion GetId(int queue = 0) => Execute(queue, new BlkRequestHeader(BlkRequestType.GetId, 0), inLength: BlkConstants.IdBytes);

    public static byte[] Pattern(int length, int seed)
    {
        var b = new byte[length];
        for (int i = 0; i < length; i++) b[i] = (byte)(i * 7 + seed * 13 + (i >> 9) | 1);
        return b;
    }
}
