using BenchmarkDotNet.Attributes;
using Orion.Pmd.Engine;

namespace Orion.Pmd.Benchmarks;

/// <summary>Renting and returning a zero-copy DMA buffer (what a caller pays per request when it does not keep buffers).</summary>
[MemoryDiagnoser]
public class BufferPoolBenchmarks
{
    private PmdEngine _engine = null!;

    [GlobalSetup]
    public void Setup() => _engine = PmdEngine.Start(new EngineOptions { Device = "null:64M", Threading = EngineThreading.Manual, BufferMemoryBytes = 8 << 20 });

    [GlobalCleanup]
    public void Cleanup() => _engine.Dispose();

    /// <summary>Rent then return a 4 KiB buffer.</summary>
    [Benchmark]
    public int RentReturn4K()
    {
        var b = _engine.Device.Rent(4096);
        int len = b.Length;
        b.Dispose();
        return len;
    }
}
