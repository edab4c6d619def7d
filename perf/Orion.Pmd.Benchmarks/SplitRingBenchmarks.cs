using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Orion.Pmd.Virtio.Memory;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Benchmarks;

/// <summary>
/// The ring's own cost, single-threaded: a batch of requests made available as indirect tables, popped and
/// validated by the device side, completed, and reaped with validation by the driver. No threads, no data.
/// </summary>
[MemoryDiagnoser]
public unsafe class SplitRingBenchmarks
{
    private const ulong GuestBase = 0x40_0000_0000UL;
    private byte* _memory;
    private SplitQueueDriver _driver = null!;
    private SplitQueueDevice _device = null!;
    private DescriptorChain _chain = null!;
    private ulong _tableGuest;

    [Params(1, 32)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var layout = SplitRingLayout.Compute(256);
        const int bytes = 1 << 20;
        _memory = (byte*)NativeMemory.AlignedAlloc(bytes, 4096);
        new Span<byte>(_memory, bytes).Clear();
        var table = new MemoryRegionTable();
        table.Add(new MemoryRegion(GuestBase, bytes, (nint)_memory));
        _driver = new SplitQueueDriver(_memory, layout, eventIdx: true, suppressInterrupts: true);
        _device = new SplitQueueDevice(table, new SplitRingAddresses(GuestBase, GuestBase + (ulong)layout.AvailOffset, GuestBase + (ulong)layout.UsedOffset), 256, true, true);
        _device.SuppressKicks();
        _chain = new DescriptorChain(64);
        // One shared 3-entry indirect table: header, 4 KiB data, status.
        _tableGuest = GuestBase + 65536;
        var t = (VirtqDescriptor*)(_memory + 65536);
        t[0] = new VirtqDescriptor(GuestBase + 70000, 16, VirtqDescriptorFlags.Next, 1);
        t[1] = new VirtqDescriptor(GuestBase + 131072, 4096, VirtqDescriptorFlags.Next | VirtqDescriptorFlags.Write, 2);
        t[2] = new VirtqDescriptor(GuestBase + 70100, 1, VirtqDescriptorFlags.Write);
    }

    [GlobalCleanup]
    public void Cleanup() => NativeMemory.AlignedFree(_memory);

    /// <summary>One batch round trip; divide by <see cref="Batch"/> for the per-request cost.</summary>
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
