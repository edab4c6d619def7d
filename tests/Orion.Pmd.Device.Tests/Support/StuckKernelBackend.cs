using System.Diagnostics;
using Orion.Pmd.Device.Backends;
using Orion.Pmd.Device.Backends.Async;
using Orion.Pmd.Device.Execution;
using Orion.Pmd.Linux;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Device.Tests.Support;

/// <summary>
/// A test seam for I/O stuck below the file system: an asynchronous backend whose reads go "to the kernel" and neither
/// complete nor end when cancelled (a disk that stopped answering, in uninterruptible sleep), until the test
/// <see cref="Release"/>s them. Its drain keeps the channel's contract: wait, cancel, wait the grace, report false.
/// Everything else is served by an in-memory backend.
/// </summary>
internal sealed class StuckKernelBackend(long capacity) : IAsyncBlockBackend
{
    private readonly MemoryBackend _data = new(capacity);
    private readonly List<StuckQueueIo> _queues = [];

    /// <summary>Cancellations the drains asked for.</summary>
    public int CancelsAsked => _queues.Sum(q => q.CancelsAsked);

    /// <summary>The kernel gives up at last: every stuck request ends (with an I/O error) at the next reap or drain.</summary>
    public void Release()
    {
        foreach (var q in _queues) q.Released = true;
    }

    public long Capacity => _data.Capacity;
    public string Description => "stuck-kernel (test)";
    public string IoEngine => "stuck-kernel (test)";
    public void Read(long offset, Span<byte> destination) => _data.Read(offset, destination);
    public void Write(long offset, ReadOnlySpan<byte> source) => _data.Write(offset, source);
    public void Flush() { }
    public void Discard(long offset, long length) => _data.Discard(offset, length);
    public void WriteZeroes(long offset, long length) => _data.WriteZeroes(offset, length);
    public void Dispose() => _data.Dispose();

    public IBackendQueueIo? OpenQueueIo(int depth, int maxSegments, BlkRequestExecutor executor, ReadOnlySpan<(nint Address, nuint Length)> memory = default)
    {
        var q = new StuckQueueIo(maxSegments);
        _queues.Add(q);
        return q;
    }

    private sealed class StuckQueueIo(int maxSegments) : IBackendQueueIo
    {
        private readonly List<ushort> _inKernel = [];
        private readonly EventFd _completions = new();
        private volatile bool _released;

        public bool Released { get => _released; set => _released = value; }
        public int CancelsAsked { get; private set; }
        public bool Disposed { get; private set; }

        public bool HasFreeSlot => true;
        public DescriptorChain NextChain { get; } = new(maxSegments);

        public bool TryStart(in PlannedIo plan)
        {
            if (plan.Kind != PlannedIoKind.Read) return false;          // only reads get stuck; the rest is served at once
            _inKernel.Add(NextChain.Head);
            return true;
        }

        public int Submit() => 0;

        public int Reap(IDeviceQueue ring)
        {
            if (!Released || _inKernel.Count == 0) return 0;
            int n = _inKernel.Count;
            foreach (var head in _inKernel) ring.PushUsed(head, 0);     // no status byte: the driver sees a bad completion
            _inKernel.Clear();
            return n;
        }

        public int InFlight => _inKernel.Count;
        public int CompletionFd => _completions.Fd;
        public bool HasCompletions => Released && _inKernel.Count > 0;
        public void SignalCompletionsTo(EventFd eventFd) { }
        public QueueIoCounters Counters => new(_inKernel.Count, 0, 0, CancelsAsked);

        public bool Drain(IDeviceQueue? ring, TimeSpan cancelAfter, TimeSpan grace)
        {
            var clock = Stopwatch.StartNew();
            while (_inKernel.Count > 0 && !Released && clock.Elapsed < cancelAfter) Thread.Sleep(5);
            if (_inKernel.Count > 0 && !Released) CancelsAsked++;         // the kernel is asked; it does not oblige
            clock.Restart();
            while (_inKernel.Count > 0 && !Released && clock.Elapsed < grace) Thread.Sleep(5);
            if (!Released) return _inKernel.Count == 0;
            _inKernel.Clear();                                           // ended: dropped (the ring is being reset)
            return true;
        }

        public void Dispose()
        {
            if (_inKernel.Count > 0) throw new InvalidOperationException("disposed with requests still in the kernel: their memory would be freed under it");
            Disposed = true;
            _completions.Dispose();
        }
    }
}
