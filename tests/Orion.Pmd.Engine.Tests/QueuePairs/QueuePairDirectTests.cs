using System.Runtime.InteropServices;
using Orion.Pmd.Engine.Queues;
using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Linux;
using Orion.Pmd.Reactors;
using Orion.Pmd.Testing;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;
using Orion.Pmd.Virtio.Memory;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Engine.Tests.QueuePairs;

/// <summary>
/// A <see cref="QueuePair"/> built directly, with no engine and no device threads: its ring and request slots in
/// memory of the test's own, the test kit's <see cref="ScriptedDevice"/> as the other side of the ring (both formats),
/// a transport that only counts doorbells and a recovery that only records what it was asked. The queue's hot path
/// (place, reap, complete) and its answer to a hostile completion are seen one step at a time.
/// </summary>
public sealed unsafe class QueuePairDirectTests
{
    private const int Size = 8, MaxSegments = 4, DataBytes = 512;
    private const ulong GuestBase = 0x1_0000_0000;     // far from any host address: a mix-up of the two shows

    [TestCase(false)]
    [TestCase(true)]
    public void AReadIsPlacedCompletedByTheDeviceAndReportedWithItsTag(bool packed)
    {
        using var kit = new Kit(packed);
        var completion = new RecordingCompletion();
        kit.SubmitRead(completion, tag: 7);

        Assert.That(kit.Pair.Poll(), Is.GreaterThan(0), "the poll placed the read");
        Assert.That(kit.Device.TryPop(), Is.True, "the device sees one chain");
        var chain = kit.Device.Last.Segments.ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(chain, Has.Length.EqualTo(3), "header, data, status");
            Assert.That(chain[0].DeviceWritable, Is.False, "the header is the driver's");
            Assert.That(chain[1].Length, Is.EqualTo(DataBytes));
            Assert.That(chain[1].DeviceWritable, Is.True, "a read's data is the device's to write");
        });
        new Span<byte>((void*)chain[1].Host, DataBytes).Fill(0x5A);
        kit.Device.Complete(status: (byte)BlkStatus.Ok);
        Assert.That(completion.Count, Is.Zero, "nothing completes before the queue reaps");

        kit.Pair.Poll();
        Assert.Multiple(() =>
        {
            Assert.That(completion.Done, Is.EqualTo(new[] { (7L, IoStatus.Ok) }));
            Assert.That(kit.Data.ToArray(), Is.All.EqualTo(0x5A), "the device wrote the caller's buffer in place");
            Assert.That(kit.Pair.Counters.Requests, Is.EqualTo(1));
            Assert.That(kit.Pair.Outstanding, Is.Zero);
            Assert.That(kit.Recovery.Reasons, Is.Empty);
        });
    }

    [TestCase(false)]
    [TestCase(true)]
    public void AUsedEntryNamingNoRequestInFlightBreaksTheRingAndFailsTheRequestWithoutRecoveryWhenNoneIsOffered(bool packed)
    {
        using var kit = new Kit(packed);
        var completion = new RecordingCompletion();
        kit.SubmitRead(completion, tag: 9);
        kit.Pair.Poll();
        Assert.That(kit.Device.TryPop(), Is.True);

        kit.Device.CompleteAs(reportedId: Size - 1, length: 1);     // a head the driver never made available
        kit.Pair.Poll();

        Assert.Multiple(() =>
        {
            Assert.That(kit.Pair.Ring.IsBroken, Is.True, "the driver side checks every used id");
            // The read lands in the caller's own buffer, which the device may still write: the failure is decided now
            // but delivered only once the device let go of the ring (docs/embedding.md §4 item 2).
            Assert.That(completion.Done, Is.Empty, "the caller's buffer is not handed back while the device may write it");
            Assert.That(kit.Recovery.Reasons, Is.Empty, "a recovery that does not recover broken rings is not asked to");
        });
        kit.Pair.FailHeldAtStop("the engine stops");                 // the device was reset: nothing can write it now
        Assert.That(completion.Done, Is.EqualTo(new[] { (9L, IoStatus.QueueBroken) }), "then the request fails as decided, never hangs");
    }

    /// <summary>One queue's memory, driver ring, request slots, scripted device and fakes.</summary>
    private sealed class Kit : IDisposable
    {
        private readonly byte* _host;
        private readonly int _bytes;
        private readonly int _dataOffset;
        private readonly Reactor _reactor;

        public Kit(bool packed)
        {
            var rings = new RingFactory(packed, Size, eventIdx: false);
            int stride = RequestSlots.StrideFor(MaxSegments);
            int ringBytes = (rings.TotalBytes + 4095) & ~4095;
            int slotBytes = (Size * stride + 4095) & ~4095;
            _dataOffset = ringBytes + slotBytes;
            _bytes = _dataOffset + 4096;
            _host = (byte*)NativeMemory.AlignedAlloc((nuint)_bytes, 4096);
            new Span<byte>(_host, _bytes).Clear();
            var table = new MemoryRegionTable();
            table.Add(new MemoryRegion(GuestBase, (ulong)_bytes, (nint)_host));

            var (ring, areas) = rings.Create(_host, GuestBase);
            IDeviceQueue deviceRing = packed
                ? new PackedQueueDevice(table, areas, Size, eventIdx: false, indirect: true)
                : new SplitQueueDevice(table, areas, Size, eventIdx: false, indirect: true);
            Device = new ScriptedDevice(deviceRing);
            _reactor = new Reactor(new ReactorOptions { Id = 0, Name = "queue-pair-test" });      // never started: the test polls
            var slots = new RequestSlots(_host + ringBytes, GuestBase + (ulong)ringBytes, Size, stride);
            var options = new QueuePairOptions
            {
                Index = 0,
                Indirect = true,
                MaxSegments = MaxSegments,
                SubmissionCapacity = 16,
                LocalRequests = 16,
                FreshRing = () => throw new AssertionException("no test here rebuilds the ring"),
                Recovery = Recovery,
            };
            Pair = new QueuePair(options, _reactor, ring, slots, Transport, Recovery);
        }

        public QueuePair Pair { get; }
        public ScriptedDevice Device { get; }
        public DoorbellTransport Transport { get; } = new();
        public RecordingRecovery Recovery { get; } = new();
        public Span<byte> Data => new(_host + _dataOffset, DataBytes);

        /// <summary>A read of block 0 into the data area, in the callback form, as <c>BlockQueue</c> submits one.</summary>
        public void SubmitRead(IBlockCompletion completion, long tag)
        {
            var r = Pair.RentLocal() ?? throw new AssertionException("the local pool is empty");
            r.Type = BlkRequestType.In;
            r.Sector = 0;
            r.SegmentCount = 1;
            r.SegmentAddress[0] = GuestBase + (ulong)_dataOffset;
            r.SegmentLength[0] = DataBytes;
            r.DataBytes = DataBytes;
            r.Handler = completion;
            r.Tag = tag;
            Pair.SubmitLocal(r);
        }

        public void Dispose()
        {
            _reactor.Dispose();
            NativeMemory.AlignedFree(_host);
        }
    }

    /// <summary>A transport that only counts doorbells: the queue pair needs no other operation on its hot path.</summary>
    private sealed class DoorbellTransport : IVirtioTransport
    {
        public int Doorbells;
        public string Description => "test doorbell transport";
        public void Notify(int index) => Doorbells++;
        public DeviceStatus GetStatus() => DeviceStatus.DriverOk;
        public void SetStatus(DeviceStatus status) => throw Unused();
        public VirtioFeatures GetDeviceFeatures() => throw Unused();
        public void SetDriverFeatures(VirtioFeatures features) => throw Unused();
        public int ConfigSize => 0;
        public int ReadConfig(int offset, Span<byte> destination) => throw Unused();
        public void WriteConfig(int offset, ReadOnlySpan<byte> source) => throw Unused();
        public int MaxQueues => 1;
        public int MaxQueueSize => Size;
        public void SetMemoryTable(ReadOnlySpan<MemoryRegion> regions) => throw Unused();
        public void SetupQueue(int index, int size, SplitRingAddresses addresses, EventFd? kick, EventFd? call) => throw Unused();
        public void ResetQueue(int index) => throw Unused();
        public bool QueueResetWaitsForRequests => true;
        public void EnableQueue(int index) => throw Unused();
        public void ResetDevice() => throw Unused();
        public void Dispose() { }
        private static AssertionException Unused() => new("the queue pair's hot path used a transport operation it should not need");
    }

    /// <summary>A recovery that recovers nothing (a broken ring's requests fail) and records every call.</summary>
    private sealed class RecordingRecovery : IQueueRecovery
    {
        public List<string> Reasons { get; } = [];
        public bool RecoversBrokenRings => false;
        public void Recover(QueuePair pair, IoStatus status, string reason) => Reasons.Add($"{status}: {reason}");
        public void DeviceNeedsReset(QueuePair pair) => Reasons.Add("device needs reset");
        public bool RetryUnserved(QueuePair pair) => false;
    }
}
