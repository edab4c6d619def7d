using BenchmarkDotNet.Attributes;
using HdrHistogram;
using Orion.Pmd.Reactors;

namespace Orion.Pmd.Benchmarks;

/// <summary>
/// Recording one latency in the single-writer HdrHistogram every queue (and orion-perf's workload, three or four
/// times per I/O: slat, clat, lat and the latency from the intended start) keeps: 1 ns to 60 s, 3 significant digits.
/// </summary>
[MemoryDiagnoser]
public class HistogramBenchmarks
{
    private const int Values = 4096;
    private LongHistogram _histogram = null!;
    private long[] _values = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _histogram = new LongHistogram(1, 60_000_000_000L, 3);
        // Latencies as a fast device gives them: mostly 1-20 us, a tail into milliseconds.
        var rng = new Random(42);
        _values = Enumerable.Range(0, Values).Select(_ => (long)Math.Exp(rng.NextDouble() * 9 + 6.5)).ToArray();
    }

    /// <summary>One <c>LongHistogram.RecordValue</c>.</summary>
    [Benchmark]
    public void RecordValue()
    {
        _histogram.RecordValue(_values[_next]);
        _next = (_next + 1) & (Values - 1);
    }
}

/// <summary>
/// The cross-thread submission ring (<see cref="MpscRing{T}"/>, one per queue): a batch of enqueues (a caller's
/// claim, with its compare-exchange, and publish) then the reactor's dequeues. Single-threaded, so this is the
/// instructions' cost without cache-line transfer between cores.
/// </summary>
[MemoryDiagnoser]
public class MpscRingBenchmarks
{
    private MpscRing<long> _ring = null!;

    [Params(1, 32)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup() => _ring = new MpscRing<long>(4096);

    /// <summary>Enqueue <see cref="Batch"/> items, then dequeue them; divide by <see cref="Batch"/> for the cost of one pair.</summary>
    [Benchmark]
    public long EnqueueDequeue()
    {
        for (int i = 0; i < Batch; i++) _ring.TryEnqueue(i);
        long sum = 0;
        while (_ring.TryDequeue(out long item)) sum += item;
        return sum;
    }
}
