using System.Diagnostics;
using System.Runtime.CompilerServices;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Device.Tests.Support;

/// <summary>The test driver's request side: building chains, publishing, kicking, and reaping completions.</summary>
internal sealed unsafe partial class MiniDriver
{
    // ------------------------------------------------------------------ requests

    /// <summary>
    /// Adds one virtio-blk request to <paramref name="queue"/> without publishing it: header and
    /// <paramref name="outData"/> device-readable, then <paramref name="inLength"/> device-writable data bytes (pre-filled
    /// with <paramref name="inFill"/>) and the status byte (pre-filled with 0xFF).
    /// </summary>
    /// <param name="indirect">One indirect table (null: when INDIRECT_DESC was negotiated) or a direct chain.</param>
    /// <param name="segmentBytes">Cut data buffers into descriptors of this many bytes (0: one descriptor each).</param>
    public Pending Add(int queue, BlkRequestHeader header, ReadOnlySpan<byte> outData = default, int inLength = 0,
        Framing framing = Framing.Plain, bool? indirect = null, int segmentBytes = 0, byte inFill = 0xEE)
    {
        ulong readable = Allocate(BlkRequestHeader.Size + outData.Length);
        Unsafe.WriteUnaligned(ref Host(readable, BlkRequestHeader.Size)[0], header);
        outData.CopyTo(Host(readable + BlkRequestHeader.Size, outData.Length));
        ulong writable = Allocate(inLength + BlkConstants.StatusBytes);
        Host(writable, inLength).Fill(inFill);
        Host(writable + (ulong)inLength, 1)[0] = Payload.UntouchedStatus;

        var segs = new List<BufferSegment>();
        if (framing.HasFlag(Framing.SplitHeader))
        {
            segs.Add(new BufferSegment(readable, 7, false));
            segs.Add(new BufferSegment(readable + 7, BlkRequestHeader.Size - 7, false));
        }
        else segs.Add(new BufferSegment(readable, BlkRequestHeader.Size, false));
        Cut(segs, readable + BlkRequestHeader.Size, outData.Length, segmentBytes, writable: false, extendLast: 0);
        bool statusWithData = framing.HasFlag(Framing.StatusWithData) && inLength > 0;
        Cut(segs, writable, inLength, segmentBytes, writable: true, extendLast: statusWithData ? 1 : 0);
        if (!statusWithData) segs.Add(new BufferSegment(writable + (ulong)inLength, 1, true));

        int id = AddRaw(queue, [.. segs], indirect);
        var pending = new Pending { Queue = queue, Id = id, InGuest = writable, InLength = inLength };
        _inFlight[queue].Add(id, pending);
        return pending;
    }

    private static void Cut(List<BufferSegment> segs, ulong start, int length, int segmentBytes, bool writable, int extendLast)
    {
        int step = segmentBytes > 0 ? segmentBytes : Math.Max(length, 1);
        for (int off = 0; off < length; off += step)
        {
            int n = Math.Min(step, length - off);
            bool last = off + n >= length;
            segs.Add(new BufferSegment(start + (ulong)off, (uint)(n + (last ? extendLast : 0)), writable));
        }
    }

    /// <summary>
    /// Adds a chain of arbitrary buffers (the caller owns their contents and meaning); returns its id. Completion of
    /// such a chain is observed with <see cref="TryPopRaw"/> or, if tracked with <see cref="Track"/>, with Wait.
    /// </summary>
    public int AddRaw(int queue, ReadOnlySpan<BufferSegment> segments, bool? indirect = null)
    {
        var ring = Queues[queue] ?? throw new InvalidOperationException($"test setup: queue {queue} has no ring");
        bool useIndirect = indirect ?? Negotiated.HasFlag(VirtioFeatures.RingIndirectDesc);
        int id;
        if (useIndirect)
        {
            ulong table = Allocate(VirtqDescriptor.Size * segments.Length, VirtqDescriptor.Size);
            uint writableBytes = 0;
            for (int i = 0; i < segments.Length; i++)
            {
                var s = segments[i];
                bool last = i == segments.Length - 1;
                var flags = (s.DeviceWritable ? VirtqDescriptorFlags.Write : 0) | (last ? 0 : VirtqDescriptorFlags.Next);
                Unsafe.WriteUnaligned(ref Host(table + (ulong)(VirtqDescriptor.Size * i), VirtqDescriptor.Size)[0],
                    new VirtqDescriptor(s.GuestAddress, s.Length, flags, last ? (ushort)0 : (ushort)(i + 1)));
                if (s.DeviceWritable) writableBytes += s.Length;
            }
            id = ring.AddIndirect(table, segments.Length, writableBytes);
        }
        else id = ring.AddChain(segments);
        if (id < 0) throw new InvalidOperationException($"test setup: queue {queue} refused the chain ({ring.FreeDescriptors} descriptors free, broken: {ring.IsBroken})");
        return id;
    }

    /// <summary>Tracks a raw chain so Wait completes it; its "data" is [inGuest, +inLength) and its status the byte after.</summary>
    public Pending Track(int queue, int id, ulong inGuest, int inLength)
    {
        var p = new Pending { Queue = queue, Id = id, InGuest = inGuest, InLength = inLength };
        _inFlight[queue].Add(id, p);
        return p;
    }

    /// <summary>Publishes what was added to <paramref name="queue"/>; kicks when the device asked and <paramref name="kick"/> allows. Returns whether it asked.</summary>
    public bool Publish(int queue, bool kick = true)
    {
        bool wanted = Queues[queue]!.PublishAndCheckKick();
        if (wanted && kick) Kick(queue);
        return wanted;
    }

    /// <summary>The doorbell: signals the kick eventfd handed to the device, else the transport's Notify.</summary>
    public void Kick(int queue)
    {
        if (KickFds[queue] is { } fd) fd.Signal();
        else Device.Notify(queue);
    }

    /// <summary>Add + Publish.</summary>
    public Pending Submit(int queue, BlkRequestHeader header, ReadOnlySpan<byte> outData = default, int inLength = 0,
        Framing framing = Framing.Plain, bool? indirect = null, int segmentBytes = 0, byte inFill = 0xEE)
    {
        var p = Add(queue, header, outData, inLength, framing, indirect, segmentBytes, inFill);
        Publish(queue);
        return p;
    }

    /// <summary>Submit on queue 0 and wait.</summary>
    public Completion Execute(BlkRequestHeader header, ReadOnlySpan<byte> outData = default, int inLength = 0,
        Framing framing = Framing.Plain, bool? indirect = null, int segmentBytes = 0, byte inFill = 0xEE)
        => Wait(Submit(0, header, outData, inLength, framing, indirect, segmentBytes, inFill));

    public Completion Read(ulong sector, int length, int queue = 0) => Wait(Submit(queue, new BlkRequestHeader(BlkRequestType.In, sector), inLength: length));

    public Completion Write(ulong sector, ReadOnlySpan<byte> data, int queue = 0) => Wait(Submit(queue, new BlkRequestHeader(BlkRequestType.Out, sector), data));

    // ------------------------------------------------------------------ completions

    /// <summary>Takes every completion the device published on <paramref name="queue"/>; returns how many.</summary>
    public int Reap(int queue)
    {
        var ring = Queues[queue]!;
        int n = 0;
        while (ring.TryPopUsed(out ushort id, out uint length))
        {
            n++;
            if (!_inFlight[queue].Remove(id, out var p))
            {
                _untracked.Add((queue, id, length));
                continue;
            }
            p.Result = new Completion(Host(p.StatusGuest, 1)[0], length, Host(p.InGuest, p.InLength).ToArray());
            p.ReapedAs = ++_reaped;
        }
        return n;
    }

    private long _reaped;

    private readonly List<(int Queue, ushort Id, uint Length)> _untracked = [];

    /// <summary>Serves the device until a completion of an untracked (raw) chain on <paramref name="queue"/> is reaped, and takes it.</summary>
    public bool TryPopRaw(int queue, out ushort id, out uint length, TimeSpan? timeout = null)
    {
        bool found = PollUntil(() => { Reap(queue); return _untracked.Exists(u => u.Queue == queue); }, timeout ?? _options.Timeout);
        (id, length) = (0, 0);
        if (!found) return false;
        int at = _untracked.FindIndex(u => u.Queue == queue);
        (_, id, length) = _untracked[at];
        _untracked.RemoveAt(at);
        return true;
    }

    /// <summary>Serves the device (Manual: Poll; threads: spin) until <paramref name="p"/> completes; throws if it does not (timeout, or the driver's ring broke).</summary>
    public Completion Wait(Pending p)
    {
        if (!TryWait(p, _options.Timeout))
        {
            var ring = Queues[p.Queue]!;
            throw new TimeoutException(
                $"request {p.Id} on queue {p.Queue} did not complete (driver ring broken: {ring.IsBroken} {ring.ErrorMessage}; device: {Device.QueueError(p.Queue)}; status {Device.Status})");
        }
        return p.Result!;
    }

    /// <summary>Like Wait, but returns false instead of throwing (Manual: a fixed number of polls).</summary>
    public bool TryWait(Pending p, TimeSpan timeout)
        => PollUntil(() => { Reap(p.Queue); return p.IsComplete || Queues[p.Queue]!.IsBroken; }, timeout) && p.IsComplete;

    /// <summary>Waits for every request in <paramref name="pending"/>.</summary>
    public Completion[] WaitAll(IEnumerable<Pending> pending) => [.. pending.Select(Wait)];

    /// <summary>
    /// Manual mode: up to <see cref="ManualPollBudget"/> rounds of Poll (a request that needs more is not coming).
    /// Thread modes: spins, yielding, until <paramref name="timeout"/>.
    /// </summary>
    public bool PollUntil(Func<bool> done, TimeSpan timeout)
    {
        if (done()) return true;
        if (Manual)
        {
            for (int i = 0; i < ManualPollBudget; i++)
            {
                Device.Poll();
                if (done()) return true;
            }
            // Requests in the kernel (an io_uring backend) are coming: keep polling for them, within the timeout.
            var clock = Stopwatch.StartNew();
            while (Device.InFlightBackendRequests > 0 && clock.Elapsed < timeout)
            {
                Device.Poll();
                if (done()) return true;
            }
            return done();
        }
        var sw = Stopwatch.StartNew();
        var spin = new SpinWait();
        while (sw.Elapsed < timeout)
        {
            if (done()) return true;
            spin.SpinOnce(sleep1Threshold: -1);
        }
        return done();
    }

    /// <summary>
    /// The device threads' allocation counter once it has stopped moving: it is read on those threads at the end of
    /// each pass, so a few idle passes must go by before it says everything.
    /// </summary>
    public long SettledDeviceThreadAllocatedBytes()
    {
        Thread.Sleep(20);
        long v = Device.DeviceThreadAllocatedBytes;
        NUnit.Framework.Assert.That(Eventually(() => { long w = Device.DeviceThreadAllocatedBytes; bool same = w == v; v = w; return same; }), NUnit.Framework.Is.True);
        return v;
    }

    /// <summary>Waits (bounded) for a condition the device threads bring about.</summary>
    public static bool Eventually(Func<bool> condition, TimeSpan? timeout = null)
    {
        var sw = Stopwatch.StartNew();
        var limit = timeout ?? TimeSpan.FromSeconds(5);
        while (sw.Elapsed < limit)
        {
            if (condition()) return true;
            Thread.Sleep(1);
        }
        return condition();
    }
}
