using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Orion.Pmd.Device.Backends;
using Orion.Pmd.Device.Tests.Support;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Device.Tests;

/// <summary>What a hostile driver writes into queue 0.</summary>
public enum Hostility
{
    BufferOutsideMemory,
    BufferStraddlesTheRegionEnd,
    IndirectTableOutsideMemory,
    IndirectTableOfBadLength,
    NestedIndirect,
    IndirectWithoutNegotiation,
    ReadableAfterWritable,
    HeadOutOfRange,
    AvailIndexRunsAhead,
    ChainLoop,
    TooManySegments,
}

/// <summary>
/// A driver that writes nonsense into one queue: the device latches that queue broken with a named error, flags
/// DEVICE_NEEDS_RESET, raises QueueBroken, stops serving it, touches nothing, and keeps serving the other queue.
/// </summary>
public class HostileDriverTests
{
    private static readonly BlkRequestHeader Read0 = new(BlkRequestType.In, 0);

    private static MiniDriver Start(DeviceServiceMode mode = DeviceServiceMode.Manual, VirtioFeatures? accept = null)
        => MiniDriver.Start(new MemoryBackend(1 << 20),
            new SoftBlkDeviceOptions { Mode = mode, NumQueues = 2, YieldWhenIdle = true },
            new MiniDriverOptions { Accept = accept ?? (VirtioFeatures)ulong.MaxValue, QueueSize = 16 });

    private static unsafe byte* Ring(MiniDriver d, int queue) => d.Memory.Pointer + d.RingOffset(queue);

    /// <summary>Writes descriptor <paramref name="index"/> of queue 0's table directly.</summary>
    private static unsafe void WriteDescriptor(MiniDriver d, int index, ulong address, uint length, VirtqDescriptorFlags flags, ushort next = 0)
        => Unsafe.WriteUnaligned(Ring(d, 0) + d.Layout.DescriptorTableOffset + VirtqDescriptor.Size * index, new VirtqDescriptor(address, length, flags, next));

    /// <summary>Puts <paramref name="head"/> in avail slot 0 of queue 0 and moves avail idx to <paramref name="idx"/>, bypassing the driver.</summary>
    private static unsafe void PublishRaw(MiniDriver d, ushort head, ushort idx = 1)
    {
        byte* avail = Ring(d, 0) + d.Layout.AvailOffset;
        BinaryPrimitives.WriteUInt16LittleEndian(new Span<byte>(avail + SplitRingLayout.AvailRing, 2), head);
        Volatile.Write(ref Unsafe.AsRef<ushort>(avail + SplitRingLayout.AvailIdx), idx);
    }

    private static ulong Header(MiniDriver d)
    {
        ulong h = d.Allocate(16);
        Unsafe.WriteUnaligned(ref d.Host(h, 16)[0], Read0);
        return h;
    }

    /// <summary>Makes queue 0 hostile; returns the error the device must name.</summary>
    private static VirtqueueError Misbehave(MiniDriver d, Hostility how)
    {
        ulong header = Header(d);
        ulong status = d.Allocate(1);
        ulong regionEnd = d.GuestBase + (ulong)d.Memory.Length;
        var q = d.Queues[0]!;
        switch (how)
        {
            case Hostility.BufferOutsideMemory:
                d.AddRaw(0, [new BufferSegment(header, 16, false), new BufferSegment(0x1000, 512, true), new BufferSegment(status, 1, true)], indirect: false);
                d.Publish(0);
                return VirtqueueError.AddressOutOfRange;
            case Hostility.BufferStraddlesTheRegionEnd:
                d.AddRaw(0, [new BufferSegment(header, 16, false), new BufferSegment(regionEnd - 256, 512, true), new BufferSegment(status, 1, true)]);
                d.Publish(0);
                return VirtqueueError.AddressOutOfRange;
            case Hostility.IndirectTableOutsideMemory:
                q.AddIndirect(regionEnd + 0x10000, 3, 513);
                d.Publish(0);
                return VirtqueueError.AddressOutOfRange;
            case Hostility.IndirectTableOfBadLength:
                WriteDescriptor(d, 0, d.Allocate(64, 16), 20, VirtqDescriptorFlags.Indirect);
                PublishRaw(d, 0);
                return VirtqueueError.IndirectTableInvalid;
            case Hostility.NestedIndirect:
            {
                ulong inner = d.Allocate(32, 16);
                ulong outer = d.Allocate(16, 16);
                Unsafe.WriteUnaligned(ref d.Host(outer, 16)[0], new VirtqDescriptor(inner, 32, VirtqDescriptorFlags.Indirect));
                q.AddIndirect(outer, 1, 0);
                d.Publish(0);
                return VirtqueueError.NestedIndirect;
            }
            case Hostility.IndirectWithoutNegotiation:
                d.AddRaw(0, [new BufferSegment(header, 16, false), new BufferSegment(status, 1, true)], indirect: true);
                d.Publish(0);
                return VirtqueueError.IndirectNotAllowed;
            case Hostility.ReadableAfterWritable:
                d.AddRaw(0, [new BufferSegment(status, 1, true), new BufferSegment(header, 16, false)]);
                d.Publish(0);
                return VirtqueueError.ReadableAfterWritable;
            case Hostility.HeadOutOfRange:
                PublishRaw(d, head: 16);                     // the queue has 16 entries
                return VirtqueueError.DescriptorIndexOutOfRange;
            case Hostility.AvailIndexRunsAhead:
                PublishRaw(d, head: 0, idx: 17);             // 17 new entries in a 16-entry ring
                return VirtqueueError.AvailIndexRunsAhead;
            case Hostility.ChainLoop:
                WriteDescriptor(d, 0, header, 16, VirtqDescriptorFlags.Next, next: 1);
                WriteDescriptor(d, 1, header, 16, VirtqDescriptorFlags.Next, next: 0);
                PublishRaw(d, 0);
                return VirtqueueError.DescriptorChainLoop;
            case Hostility.TooManySegments:
            {
                // More buffers than the device takes in one chain (max(seg_max + 2, max queue size) = 1024 here).
                ulong data = d.Allocate(2000);
                var segs = new List<BufferSegment> { new(header, 16, false) };
                for (int i = 0; i < 2000; i++) segs.Add(new BufferSegment(data + (ulong)i, 1, true));
                d.AddRaw(0, [.. segs], indirect: true);
                d.Publish(0);
                return VirtqueueError.ChainTooLong;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(how));
        }
    }

    [Test]
    public void ABrokenQueue_IsLatched_Flagged_Reported_AndNoLongerServed_WhileTheOtherQueueWorks(
        [Values] Hostility how)
    {
        using var d = Start(accept: how == Hostility.IndirectWithoutNegotiation ? ~VirtioFeatures.RingIndirectDesc : null);
        var before = ((MemoryBackend)d.Device.Backend).Peek(0, 1 << 20).ToArray();
        var expected = Misbehave(d, how);

        Assert.That(d.Device.Poll(), Is.Zero, "the hostile chain is not executed");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(d.Device.Status.HasFlag(DeviceStatus.DeviceNeedsReset), Is.True);
            Assert.That(d.Device.Status.HasFlag(DeviceStatus.DriverOk), Is.True, "the other bits stay");
            Assert.That(d.BrokenEvents.Select(e => (e.Queue, e.Error)), Is.EqualTo(new[] { (0, expected) }), "raised once, with the named error");
            Assert.That(d.BrokenEvents.Single().Message, Is.Not.Empty);
            Assert.That(d.Device.QueueError(0), Does.StartWith(expected.ToString()));
            Assert.That(d.Device.QueueError(1), Is.Null);
            Assert.That(d.Queues[0]!.HasPendingUsed, Is.False, "no used entry for the hostile chain");
            Assert.That(((MemoryBackend)d.Device.Backend).Peek(0, 1 << 20).SequenceEqual(before), Is.True);
        }

        var onBroken = d.Submit(0, Read0, inLength: 512);
        var onHealthy = d.Submit(1, Read0, inLength: 512);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(d.Wait(onHealthy).BlkStatus, Is.EqualTo(BlkStatus.Ok), "queue 1 keeps working");
            Assert.That(d.TryWait(onBroken, TimeSpan.Zero), Is.False, "queue 0 is no longer served");
            Assert.That(d.Host(onBroken.StatusGuest, 1)[0], Is.EqualTo(Payload.UntouchedStatus));
            Assert.That(d.BrokenEvents, Has.Count.EqualTo(1), "reported once, not on every poll");
        }
    }

    [Test]
    public void RequestsAheadOfTheBadChainInTheSameBatch_StillComplete()
    {
        using var d = Start();
        var good = d.Add(0, Read0, inLength: 512);
        d.AddRaw(0, [new BufferSegment(Header(d), 16, false), new BufferSegment(0x1000, 1, true)]);
        d.Publish(0);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(d.Device.Poll(), Is.EqualTo(1));
            Assert.That(d.Wait(good).BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(d.Device.Status.HasFlag(DeviceStatus.DeviceNeedsReset), Is.True);
            Assert.That(d.Device.GetQueueStats(0).Requests, Is.EqualTo(1));
        }
    }

    [Test]
    public void NeedsReset_SurvivesStatusWrites_AndAResetRecovers()
    {
        using var d = Start();
        Misbehave(d, Hostility.BufferOutsideMemory);
        d.Device.Poll();
        d.DriverOk();                                           // rewriting the status does not clear the flag
        Assert.That(d.Device.Status.HasFlag(DeviceStatus.DeviceNeedsReset), Is.True);

        d.Initialize();                                         // reset and start over
        using (Assert.EnterMultipleScope())
        {
            Assert.That(d.Device.Status.HasFlag(DeviceStatus.DeviceNeedsReset), Is.False);
            Assert.That(d.Read(0, 512, queue: 0).BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(d.Device.QueueError(0), Is.Null);
        }
    }

    [Test]
    public void OnADeviceThread_TheBrokenQueueIsReported_AndTheOtherQueueKeepsWorking()
    {
        using var d = Start(DeviceServiceMode.Polled);
        Assert.That(d.Read(0, 512, queue: 0).BlkStatus, Is.EqualTo(BlkStatus.Ok), "queue 0 works before");
        d.AddRaw(0, [new BufferSegment(Header(d), 16, false), new BufferSegment(ulong.MaxValue - 4, 8, true)]);
        d.Publish(0);
        Assert.That(MiniDriver.Eventually(() => !d.BrokenEvents.IsEmpty), Is.True, "QueueBroken raised on the device thread");
        var onBroken = d.Submit(0, Read0, inLength: 512);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(d.BrokenEvents.Single().Error, Is.EqualTo(VirtqueueError.AddressOutOfRange));
            Assert.That(d.Device.Status.HasFlag(DeviceStatus.DeviceNeedsReset), Is.True);
            Assert.That(d.Read(8, 4096, queue: 1).BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(d.TryWait(onBroken, TimeSpan.FromMilliseconds(50)), Is.False);
        }
    }
}
