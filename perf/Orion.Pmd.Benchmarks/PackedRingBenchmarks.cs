using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Orion.Pmd.Virtio.Memory;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Benchmarks;

/// <summary>
/// The packed ring's own cost, single-threaded, as <see cref="SplitRingBenchmarks"/> for the split ring: a batch of
/// requests added as indirect tables, popped and validated by the device side, completed, and polled (reaped with
/// validation) by the driver. No threads, no data.
/// </summary>
[MemoryDiagnoser]
public unsafe class PackedRingBenchmarks
{
    private const ulong GuestBase = 0x40_0000_0000UL;
    private byte* _memory;
    private PackedQueueDriver _driver = null!;
    private PackedQueueDevice _device = null!;
    private DescriptorChain _chain = null!;
    private ulong _tableGuest;

    [Params(1, 32)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var layout = PackedRingLayout.Compute(256);
        const int bytes = 1 << 20;
        _memory = (byte*)NativeMemory.AlignedAlloc(bytes, 4096);
        new Span<byte>(_memory, bytes).Clear();
        var table = new MemoryRegionTable();
        table.Add(new MemoryRegion(GuestBase, bytes, (nint)_memory));
        _driver = new PackedQueueDriver(_memory, layout, eventIdx: true, suppressInterrupts: true);
        _device = new PackedQueueDevice(table,
            new SplitRingAddresses(GuestBase + (ulong)layout.DescriptorRingOffset, GuestBase + (ulong)layout.DriverEventOffset, GuestBase + (ulong)layout.DeviceEventOffset),
            256, eventIdx: true, indirect: true);
        _device.SuppressKicks();
        _chain = new DescriptorChain(64);
        // One shared 3-entry packed indirect table: header, 4 KiB data, status.
        _tableGuest = GuestBase + 65536;
        IndirectTable.WritePacked(new Span<byte>(_memory + 65536, 3 * 16),
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

/// <summary>
/// Building one request's indirect table in each format (what <c>QueuePair.Place</c> does per request): a 4 KiB
/// read (header, one data segment, status) and a request of 32 data segments.
/// </summary>
[MemoryDiagnoser]
public class IndirectTableBenchmarks
{
    private BufferSegment[] _segments = null!;
    private byte[] _table = null!;

    /// <summary>Descriptors in the table: header + data segments + status.</summary>
    [Params(3, 34)]
    public int Entries { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _segments = new BufferSegment[Entries];
        _segments[0] = new BufferSegment(0x40_0000_1000UL, 16, false);
        for (int i = 1; i < Entries - 1; i++) _segments[i] = new BufferSegment(0x80_0000_0000UL + (ulong)i * 4096, 4096, true);
        _segments[^1] = new BufferSegment(0x40_0000_1010UL, 1, true);
        _table = new byte[Entries * 16];
    }

    /// <summary>A split-format table: entries linked with NEXT.</summary>
    [Benchmark(Baseline = true)]
    public uint Split() => IndirectTable.WriteSplit(_table, _segments);

    /// <summary>A packed-format table: entries in order, WRITE flags only.</summary>
    [Benchmark]
    public uint Packed() => IndirectTable.WritePacked(_table, _segments);
}
