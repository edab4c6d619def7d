using Orion.Pmd.Device.Backends;
using Orion.Pmd.Device.Tests.Support;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Device.Tests;

/// <summary>The device's data path allocates nothing per request once warm (the architecture's steady-state promise).</summary>
public class AllocationTests
{
    public enum Kind { Read, Write, Flush, GetId, Discard, WriteZeroes, Unsupported, OutOfRange }

    private static Pending Add(MiniDriver d, Kind kind, int i, byte[] data) => kind switch
    {
        Kind.Read => d.Add(0, new BlkRequestHeader(BlkRequestType.In, (ulong)i * 8), inLength: 4096, segmentBytes: 1024),
        Kind.Write => d.Add(0, new BlkRequestHeader(BlkRequestType.Out, (ulong)i * 8), data, framing: Framing.SplitHeader),
        Kind.Flush => d.Add(0, new BlkRequestHeader(BlkRequestType.Flush, 0)),
        Kind.GetId => d.Add(0, new BlkRequestHeader(BlkRequestType.GetId, 0), inLength: 20),
        Kind.Discard => d.Add(0, new BlkRequestHeader(BlkRequestType.Discard, 0), Payload.Ranges(new BlkDiscardWriteZeroes((ulong)i * 8, 8))),
        Kind.WriteZeroes => d.Add(0, new BlkRequestHeader(BlkRequestType.WriteZeroes, 0), Payload.Ranges(new BlkDiscardWriteZeroes((ulong)i * 8, 8))),
        Kind.Unsupported => d.Add(0, new BlkRequestHeader((BlkRequestType)99, 0), inLength: 20),
        _ => d.Add(0, new BlkRequestHeader(BlkRequestType.In, ulong.MaxValue), inLength: 512),
    };

    /// <summary>
    /// Measured on the test thread around <see cref="SoftBlkDevice.Poll"/> alone, from the first calls on: code that has
    /// not been optimized yet must not allocate either (Enum.HasFlag boxes its operands in unoptimized code).
    /// </summary>
    [Test]
    public void Poll_AllocatesNothingPerRequest([Values] Kind kind)
    {
        using var d = MiniDriver.Start(new MemoryBackend(1 << 20), options: new MiniDriverOptions { QueueSize = 128 });
        var data = Payload.Pattern(4096);
        long allocated = 0;
        for (int round = 0; round < 12; round++)
        {
            for (int i = 0; i < 16; i++) Add(d, kind, i, data);
            d.Publish(0);
            long before = GC.GetAllocatedBytesForCurrentThread();
            int served = d.Device.Poll();
            long after = GC.GetAllocatedBytesForCurrentThread();
            Assert.That(served, Is.EqualTo(16));
            if (round >= 2) allocated += after - before;     // the first rounds may load types
            d.Reap(0);
        }
        Assert.That(allocated, Is.Zero, $"bytes allocated by Poll over 160 {kind} requests");
    }

    [TestCase(DeviceServiceMode.Polled)]
    [TestCase(DeviceServiceMode.KickDriven)]
    public void TheDeviceThread_AllocatesNothingPerRequest_AfterWarmUp(DeviceServiceMode mode)
    {
        using var d = MiniDriver.Start(new MemoryBackend(1 << 20),
            new SoftBlkDeviceOptions { Mode = mode, YieldWhenIdle = true },
            new MiniDriverOptions { KickEventFds = true, QueueSize = 128 });
        var data = Payload.Pattern(4096);
        void Burst()
        {
            var pending = new List<Pending>();
            for (int i = 0; i < 32; i++)
            {
                pending.Add(d.Add(0, new BlkRequestHeader(BlkRequestType.Out, (ulong)i * 8), data));
                pending.Add(d.Add(0, new BlkRequestHeader(BlkRequestType.In, (ulong)i * 8), inLength: 4096, framing: Framing.StatusWithData));
                pending.Add(d.Add(0, new BlkRequestHeader(BlkRequestType.Flush, 0)));
                pending.Add(d.Add(0, new BlkRequestHeader(BlkRequestType.WriteZeroes, 0), Payload.Ranges(new BlkDiscardWriteZeroes((ulong)i * 8, 8))));
            }
            d.Publish(0);
            Assert.That(d.WaitAll(pending).Select(c => c.BlkStatus), Is.All.EqualTo(BlkStatus.Ok));
        }

        for (int i = 0; i < 3; i++) Burst();
        long before = d.SettledDeviceThreadAllocatedBytes();
        for (int i = 0; i < 10; i++) Burst();
        long after = d.SettledDeviceThreadAllocatedBytes();
        Assert.That(after - before, Is.Zero, "bytes allocated on the device thread over 1280 requests");
    }

}
