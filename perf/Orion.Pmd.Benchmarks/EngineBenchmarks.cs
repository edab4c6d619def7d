using BenchmarkDotNet.Attributes;
using Orion.Pmd.Engine;
using Orion.Pmd.Engine.Memory;
using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Reactors;

namespace Orion.Pmd.Benchmarks;

/// <summary>
/// The whole stack on one thread (manual threading): callback-form submissions through the queue pair, the ring,
/// the embedded device on the null backend, and completions with latency recording. What is left is the software
/// cost per I/O with no cross-core traffic.
/// </summary>
[MemoryDiagnoser]
public class EngineBenchmarks : IBlockCompletion
{
    private PmdEngine _engine = null!;
    private BlockQueue _queue = null!;
    private DmaBuffer[] _buffers = null!;
    private int _completed;

    [Params(1, 32)]
    public int Depth { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _engine = PmdEngine.Start(new EngineOptions { Device = "null:1G", Threading = EngineThreading.Manual, BufferMemoryBytes = 8 << 20 });
        _queue = _engine.Device.GetQueue(0);
        _buffers = Enumerable.Range(0, Depth).Select(_ => _engine.Device.Rent(4096)).ToArray();
        _engine.Reactors[0].AddPoller(new Submitter(this));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var b in _buffers) b.Dispose();
        _engine.Dispose();
    }

    private bool _go;

    private sealed class Submitter(EngineBenchmarks owner) : IPoller
    {
        public int Poll()
        {
            if (!owner._go) return 0;
            owner._go = false;
            for (int i = 0; i < owner.Depth; i++)
                owner._queue.TrySubmitRead(i * 8, owner._buffers[i], 0, 4096, owner, i);
            return owner.Depth;
        }
    }

    /// <summary>Submits <see cref="Depth"/> reads as one batch and polls until all are back.</summary>
    [Benchmark]
    public int Batch()
    {
        _completed = 0;
        _go = true;
        while (_completed < Depth) _engine.PollOnce();
        return _completed;
    }

    /// <inheritdoc />
    public void OnCompleted(long tag, IoStatus status) => _completed++;
}
