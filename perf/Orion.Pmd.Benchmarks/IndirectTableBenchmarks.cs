using BenchmarkDotNet.Attributes;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Benchmarks;

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
