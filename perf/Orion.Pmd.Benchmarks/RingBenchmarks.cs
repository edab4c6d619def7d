using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Orion.Pmd.Virtio.Memory;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Benchmarks;

/// <summary>
/// A ring's own cost, single-threaded, in each format: a batch of requests added as indirect tables, popped and
/// validated by the device side, completed, and polled (reaped with validation) by the driver. No threads, no data.
/// Both sides go through <see cref="IDriverQueue"/> and <see cref="IDeviceQueue"/>, as the engine and the device do.
/// </summary>
[MemoryDiagnoser]
public unsafe class RingBenchmarks
{
    private const ulong GuestBase = 0x40_0000_0000UL;
    private const int TableOffset = 65536;
    private byte* _memory;
    private IDriverQueue _driver = null!;
    private IDeviceQueue _device = null!;
    private DescriptorChain _chain = null!;
    private ulong _tableGuest;

    /// <summary>The ring format.</summary>
    [Params("split", "packed")]
    public string Format { get; set; } = "split";

    /// <summary>Requests per published batch.</summary>
    [Params(1, 32)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        const int bytes = 1 << 20;
        _memory = (byte*)NativeMemory.AlignedAlloc(bytes, 4096);
        new Span<byte>(_memory, bytes).Clear();
        var table = new MemoryRegionTable();
        table.Add(new MemoryRegion(GuestBase, bytes, (nint)_memory));
        if (Format == "packed")
        {
            var layout = PackedRingLayout.Compute(256);
            _driver = new PackedQueueDriver(_memory, layout, eventIdx: true, suppressInterrupts: true);
            _device = new PackedQueueDevice(table,
                new SplitRingAddresses(GuestBase + (ulong)layout.DescriptorRingOffset, GuestBase + (ulong)layout.DriverEventOffset, GuestBase + (ulong)layout.DeviceEventOffset),
                256, eventIdx: true, indirect: true);
        }
        else
        {
            var layout = SplitRingLayout.Compute(256);
            _driver = new SplitQueueDriver(_memory, layout, eventIdx: true, suppressInterrupts: true);
            _device = new SplitQueueDevice(table, new SplitRingAddresses(GuestBase, GuestBase + (ulong)layout.AvailOffset, GuestBase + (ulong)layout.UsedOffset), 256, true, true);
        }
        _device.SuppressKicks();
        _chain = new DescriptorChain(64);
        // One shared 3-entry indirect table in the ring's own format: header, 4 KiB data, status.
        _tableGuest = GuestBase + TableOffset;
        _driver.WriteIndirectTable(new Span<byte>(_memory + TableOffset, 3 * 16),
        [
            new BufferSegment(GuestBase + 70000, 16, false),
            new BufferSegment(GuestBase + 131072, 4096, true),
            new BufferSegment(GuestBase + 70100, 1, true),
        ]);
    }

    [GlobalCleanup]
    public void Cleanup() => NativeMemory.AlignedFree(_memory);

    /// <summary>One batch round trip (add, publish, device pop and push, driver poll); divide by <see cref="Batch"/> for the per-request cost.</summary>
    [Benchmark]
    public int RoundTrip()
    {
        for (int i = 0; i < Batch; i++) _driver.AddIndirect(_tableGuest, 3, 4097);
        _driver.PublishAndCheckKick();
        while (_device.TryPopAvail(_chain)) _device.PushUsed(_chain.Head, 4097);
        _device.PublishUsed();
        int n = 0;
        while (_driver.TryPopUsed(out _, out _)) n++;
        return n;
    }
}
