using Orion.Pmd.Device.Backends;
using Orion.Pmd.Device.Execution;
using Orion.Pmd.Device.Faults;
using Orion.Pmd.Linux;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;
using Orion.Pmd.Virtio.Memory;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Device;

/// <summary>
/// The embedded software virtio-blk device. A driver reaches it only through the operations a transport carries
/// (status, features, config space, memory table, queue setup, notify, reset), never by a shortcut, and the device
/// sees only guest addresses inside the memory it was given: it maps the driver's memfds itself.
/// </summary>
public sealed partial class SoftBlkDevice : IDisposable
{
    private readonly SoftBlkDeviceOptions _options;
    private readonly VirtioFeatures _offered;
    private readonly byte[] _config = new byte[BlkConfig.Size];
    private readonly MemoryRegionTable _memory = new();
    private readonly List<SharedMemory> _mappings = [];
    private readonly QueueSetup?[] _setups;
    private readonly FaultInjector?[] _injectors;       // per queue, kept across device resets (schedules and counters)
    private DeviceQueue[] _queues = [];
    private readonly List<DeviceWorker> _workers = [];
    private int _status;
    private readonly WriteCacheState _writeCache = new();
    private bool _disposed;

    private sealed record QueueSetup(int Size, SplitRingAddresses Addresses, EventFd? Kick, EventFd? Call);

    /// <summary>Creates a device over <paramref name="backend"/> (which it owns and disposes).</summary>
    public SoftBlkDevice(IBlockBackend backend, SoftBlkDeviceOptions? options = null)
    {
        _options = options ?? new SoftBlkDeviceOptions();
        Backend = backend;
        int bs = _options.LogicalBlockSize;
        if (bs < 512 || bs > 65536 || (bs & (bs - 1)) != 0)
            throw new ArgumentException($"logical block size {bs} is not a power of two between 512 and 65536", nameof(options));
        if (backend.Capacity % bs != 0)
            throw new ArgumentException($"capacity {backend.Capacity} is not a multiple of the {bs}-byte block size", nameof(backend));
        if (_options.NumQueues is < 1 or > 256)
            throw new ArgumentException($"{_options.NumQueues} queues requested; 1 to 256 are supported", nameof(options));
        if (_options.SizeMax < (uint)bs || _options.SizeMax > int.MaxValue)
            throw new ArgumentException($"size_max {_options.SizeMax} must be from one {bs}-byte block to {int.MaxValue} bytes", nameof(options));
        if (_options.MaxBatch < 1)
            throw new ArgumentException($"a batch of {_options.MaxBatch} chains would never serve a request; at least 1 is needed", nameof(options));
        _offered = (_options.OfferedFeatures ?? SoftBlkDeviceOptions.SupportedFeatures) & SoftBlkDeviceOptions.SupportedFeatures;
        if (!_options.ReadOnly) _offered &= ~VirtioFeatures.BlkReadOnly;
        else _offered |= VirtioFeatures.BlkReadOnly;
        _setups = new QueueSetup?[_options.NumQueues];
        _injectors = new FaultInjector?[_options.NumQueues];
        Settings = BuildConfig();
        Settings.WriteTo(_config);
        _writeCache.Enabled = _options.WriteCache;
    }

    private BlkConfig BuildConfig() => new()
    {
        Capacity = (ulong)Backend.Capacity / BlkConstants.SectorSize,
        SegMax = _options.SegMax,
        SizeMax = _options.SizeMax,
        BlockSize = (uint)_options.LogicalBlockSize,
        PhysicalBlockExp = 0,
        MinIoSize = 1,
        OptIoSize = 0,
        NumQueues = (ushort)_options.NumQueues,
        MaxDiscardSectors = 1u << 22,
        MaxDiscardSeg = 16,
        DiscardSectorAlignment = (uint)(_options.LogicalBlockSize / BlkConstants.SectorSize),
        MaxWriteZeroesSectors = 1u << 22,
        MaxWriteZeroesSeg = 16,
        WriteZeroesMayUnmap = 1,
        Writeback = (byte)(_options.WriteCache ? 1 : 0),
    };

    /// <summary>The configuration this device serves.</summary>
    public BlkConfig Settings { get; }

    /// <summary>The storage behind the device.</summary>
    public IBlockBackend Backend { get; }

    /// <summary>The options it was created with.</summary>
    public SoftBlkDeviceOptions Options => _options;

    /// <summary>Features the device offers.</summary>
    public VirtioFeatures OfferedFeatures => _offered;

    /// <summary>Features the driver wrote.</summary>
    public VirtioFeatures DriverFeatures { get; private set; }

    /// <summary>The device status field.</summary>
    public DeviceStatus Status => (DeviceStatus)Volatile.Read(ref _status);

    /// <summary>Bytes of configuration space served.</summary>
    public int ConfigSize => _config.Length;

    /// <summary>Largest queue size accepted.</summary>
    public int MaxQueueSize => _options.MaxQueueSize;

    /// <summary>Number of request queues.</summary>
    public int NumQueues => _options.NumQueues;

    /// <summary>Reads configuration space; returns the bytes copied (fewer past the end).</summary>
    public int ReadConfig(int offset, Span<byte> destination) => ConfigSpace.Read(_config, offset, destination);

    /// <summary>
    /// Writes configuration space. Only <c>writeback</c> is writable, and only with CONFIG_WCE negotiated (VirtIO 1.2
    /// §5.2.5.1); writes to other fields are ignored, as the driver must not make them.
    /// </summary>
    public void WriteConfig(int offset, ReadOnlySpan<byte> source)
    {
        if (!DriverFeatures.HasFlag(VirtioFeatures.BlkConfigWce)) return;
        int wb = BlkConfig.Offsets.Writeback;
        if (offset <= wb && wb < offset + source.Length)
        {
            byte value = source[wb - offset] != 0 ? (byte)1 : (byte)0;
            _config[wb] = value;
            _writeCache.Enabled = value != 0;
        }
    }

    /// <summary>Whether the device currently runs with a volatile write cache.</summary>
    public bool WriteCacheEnabled => _writeCache.Enabled;

    /// <summary>Writes the driver's accepted features; only valid before FEATURES_OK.</summary>
    public void SetDriverFeatures(VirtioFeatures features)
    {
        if (Status.HasFlag(DeviceStatus.FeaturesOk))
            throw new InvalidOperationException("features cannot change after FEATURES_OK");
        DriverFeatures = features;
    }

    /// <summary>
    /// Writes the status field. Writing 0 resets the device. FEATURES_OK is refused (left clear, as the spec has
    /// the driver re-read it) when the driver accepted a feature that was not offered or did not accept VERSION_1.
    /// DRIVER_OK starts serving the queues that were set up.
    /// </summary>
    public void SetStatus(DeviceStatus status)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (status == DeviceStatus.Reset)
        {
            Reset();
            return;
        }
        var old = Status;
        if (status.HasFlag(DeviceStatus.FeaturesOk) && !old.HasFlag(DeviceStatus.FeaturesOk))
        {
            bool subset = (DriverFeatures & ~_offered) == 0;
            if (!subset || !DriverFeatures.HasFlag(VirtioFeatures.Version1)) status &= ~DeviceStatus.FeaturesOk;
            else if (!DriverFeatures.HasFlag(VirtioFeatures.BlkFlush))
            {
                // A driver without FLUSH cannot empty a volatile cache and takes the device for write-through
                // (VirtIO 1.2 §5.2.5.1): make every write durable before it completes.
                _writeCache.Enabled = false;
                _config[BlkConfig.Offsets.Writeback] = 0;
            }
        }
        if (status.HasFlag(DeviceStatus.DriverOk) && !old.HasFlag(DeviceStatus.DriverOk))
        {
            if (!status.HasFlag(DeviceStatus.FeaturesOk))
                throw new InvalidOperationException("DRIVER_OK written before features were accepted (FEATURES_OK)");
            Volatile.Write(ref _status, (int)status);
            try
            {
                Start();
            }
            catch
            {
                // A queue that cannot be served (bad ring addresses) leaves the device not running, and says so.
                Volatile.Write(ref _status, (int)(old | DeviceStatus.DeviceNeedsReset));
                _queues = [];
                throw;
            }
            return;
        }
        Volatile.Write(ref _status, (int)(status | (old & DeviceStatus.DeviceNeedsReset)));
    }

    /// <summary>
    /// Takes the driver's memory table: each region's memfd is duplicated and mapped by the device itself, so that
    /// the device reaches guest memory only through its own translation table.
    /// </summary>
    public void SetMemoryTable(ReadOnlySpan<MemoryRegion> regions)
    {
        if (Status.HasFlag(DeviceStatus.DriverOk))
            throw new InvalidOperationException("the memory table cannot change while the device is running");
        // Started rings hold pointers into the current mappings: unmapping under them would be a use-after-unmap.
        if (_queues.Length > 0)
            throw new InvalidOperationException($"the memory table cannot change while queue {_queues[0].Index} is started; stop the queues first");
        UnmapMemory();
        foreach (var r in regions)
        {
            if (r.Fd < 0) throw new ArgumentException($"region at guest 0x{r.GuestAddress:x} has no file descriptor to map", nameof(regions));
            var map = SharedMemory.Map(FileDescriptor.Duplicate(r.Fd), (long)r.Length + r.FdOffset, ownsFd: true);
            _mappings.Add(map);
            unsafe { _memory.Add(new MemoryRegion(r.GuestAddress, r.Length, (nint)(map.Pointer + r.FdOffset))); }
        }
    }

    /// <summary>Sets up queue <paramref name="index"/>: size, ring addresses (guest), and optional kick and call eventfds.</summary>
    public void SetupQueue(int index, int size, SplitRingAddresses addresses, EventFd? kick = null, EventFd? call = null)
    {
        if ((uint)index >= (uint)_setups.Length)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"the device has {_setups.Length} queues");
        CheckQueueSize(size);
        if (Status.HasFlag(DeviceStatus.DriverOk))
            throw new InvalidOperationException("queues are set up before DRIVER_OK");
        _setups[index] = new QueueSetup(size, addresses, kick, call);
    }

    /// <summary>The driver's doorbell for queue <paramref name="index"/>.</summary>
    public void Notify(int index)
    {
        // _queues holds only the queues that were set up, so a queue's position is not its index: look it up.
        foreach (var q in _queues)
        {
            if (q.Index != index) continue;
            if (q.Kick is not null) q.Kick.Signal();
            else q.CountKick();
            return;
        }
    }

    private void Start()
    {
        var settings = ExecutorSettings();
        int maxSegments = MaxChainSegments;
        var queues = new List<DeviceQueue>();
        for (int i = 0; i < _setups.Length; i++)
        {
            if (_setups[i] is not { } s) continue;
            IDeviceQueue ring = CreateRing(s.Size, s.Addresses, QueuePosition.Fresh);
            if (_options.Faults is { } plan) _injectors[i] ??= new FaultInjector(plan, i, ring is PackedQueueDevice);
            queues.Add(new DeviceQueue(i, ring, new BlkRequestExecutor(Backend, settings), s.Kick, s.Call, maxSegments, _options.MaxBatch, _injectors[i],
                                       serveInline: _options.Mode == DeviceServiceMode.Manual, memory: HostMemory())
            {
                IoCancelAfter = _options.IoCancelAfter,
                IoCancelGrace = _options.IoCancelGrace,
            });
        }
        Volatile.Write(ref _queues, [.. queues]);
        if (_options.Mode == DeviceServiceMode.Manual)
        {
            foreach (var q in _queues) q.Ring.SuppressKicks();
            return;
        }
        bool oneQueueEach = _options.Mode is DeviceServiceMode.KickDriven or DeviceServiceMode.Adaptive;
        int threads = oneQueueEach ? _queues.Length : Math.Clamp(_options.Threads, 1, Math.Max(1, _queues.Length));
        for (int t = 0; t < threads; t++)
        {
            var mine = _queues.Where((_, i) => i % threads == t).ToArray();
            if (mine.Length == 0) continue;
            int? core = _options.Cores is { Count: > 0 } cores ? cores[t % cores.Count] : null;
            var w = new DeviceWorker($"orion-dev-{t}", mine, _options.Mode, core, _options.YieldWhenIdle, OnQueueBroken, _options.AdaptiveSleepAfter, _options.AdaptiveSleepWithIoAfter);
            _workers.Add(w);
            w.Start();
        }
    }

    /// <summary>The device's own mappings of guest memory, for a backend that registers them with the kernel.</summary>
    private (nint Address, nuint Length)[] HostMemory()
    {
        var regions = _memory.Regions;
        var host = new (nint, nuint)[regions.Length];
        for (int i = 0; i < regions.Length; i++) host[i] = (regions[i].Host, (nuint)regions[i].Length);
        return host;
    }

    /// <summary>What every queue's request executor needs to know; built when queues start (features are final then).</summary>
    private BlkDeviceSettings ExecutorSettings() => new()
    {
        LogicalBlockSize = _options.LogicalBlockSize,
        ReadOnly = _options.ReadOnly,
        Negotiated = DriverFeatures,
        Serial = _options.Serial,
        MaxSegmentBytes = _options.SizeMax,
        MaxDiscardSegments = Settings.MaxDiscardSeg,
        MaxDiscardSectors = Settings.MaxDiscardSectors,
        MaxWriteZeroesSegments = Settings.MaxWriteZeroesSeg,
        MaxWriteZeroesSectors = Settings.MaxWriteZeroesSectors,
        WriteCache = _writeCache,
        InjectedLatency = _options.InjectedLatency,
        Faults = _options.Faults,
    };

    /// <summary>Buffers one chain may hold: seg_max plus header and status, at least a queue's worth, at most 4096.</summary>
    private int MaxChainSegments => (int)Math.Min(4096, Math.Max(_options.SegMax + 2, (uint)_options.MaxQueueSize));

    /// <summary>
    /// The device side of a ring in the negotiated format, attached at <paramref name="start"/> (split: the avail index,
    /// the used index being the same; packed: both positions and wrap counters). Throws <see cref="ArgumentException"/>
    /// when an area is misaligned or outside registered memory.
    /// </summary>
    private IDeviceQueue CreateRing(int size, SplitRingAddresses addresses, QueuePosition start)
    {
        bool eventIdx = DriverFeatures.HasFlag(VirtioFeatures.RingEventIdx);
        bool indirect = DriverFeatures.HasFlag(VirtioFeatures.RingIndirectDesc);
        return DriverFeatures.HasFlag(VirtioFeatures.RingPacked)
            ? new PackedQueueDevice(_memory, addresses, size, eventIdx, indirect, start.AvailIndex, start.AvailWrap, start.UsedIndex, start.UsedWrap)
            : new SplitQueueDevice(_memory, addresses, size, eventIdx, indirect, start.AvailIndex);
    }

    private void OnQueueBroken(DeviceQueue q)
    {
        // The driver wrote something inconsistent (or an injected needs-reset fault): flag NEEDS_RESET (VirtIO 1.1
        // §2.1.1) and stop serving the queue.
        int s;
        do s = Volatile.Read(ref _status);
        while (Interlocked.CompareExchange(ref _status, s | (int)DeviceStatus.DeviceNeedsReset, s) != s);
        if (q.Ring.IsBroken) QueueBroken?.Invoke(q.Index, q.Ring.Error, q.Ring.ErrorMessage ?? "");
        else QueueBroken?.Invoke(q.Index, VirtqueueError.None, q.StopReason ?? "");
    }

    /// <summary>
    /// Faults injected on queue <paramref name="index"/> so far (<see cref="SoftBlkDeviceOptions.Faults"/>); all zero when
    /// no plan is set or the queue is not running. Survives queue resets and, on the embedded (DRIVER_OK) path, device resets.
    /// </summary>
    public FaultCounters GetFaultCounters(int index)
    {
        foreach (var q in _queues) if (q.Index == index) return q.FaultCounters;
        return default;
    }

    /// <summary>Faults injected on every running queue, summed.</summary>
    public FaultCounters GetFaultCounters()
    {
        FaultCounters sum = default;
        foreach (var q in _queues) sum += q.FaultCounters;
        return sum;
    }

    /// <summary>
    /// Resets one queue while the device runs (VirtIO 1.2 queue reset, step one): the device stops touching the
    /// queue's rings (a pass in progress finishes first) and forgets their state, including a broken latch. The driver
    /// then re-initializes its side and calls <see cref="EnableQueue"/>. Throws <see cref="TimeoutException"/> when the
    /// pass in progress does not end within <see cref="SoftBlkDeviceOptions.StopTimeout"/> (a backend request hangs).
    /// </summary>
    public void ResetQueue(int index) => RunningQueue(index).Pause(_options.StopTimeout);

    /// <summary>
    /// Serves a reset queue again from index 0 at the addresses it was set up with (VirtIO 1.2 queue reset, step two).
    /// </summary>
    public void EnableQueue(int index)
    {
        var q = RunningQueue(index);
        var s = _setups[index]!;
        IDeviceQueue ring = CreateRing(s.Size, s.Addresses, QueuePosition.Fresh);
        q.ResumeWith(ring, suppressKicks: _options.Mode is DeviceServiceMode.Polled or DeviceServiceMode.Adaptive or DeviceServiceMode.Manual);
        if (!_queues.Any(x => x.Stopped))
        {
            int st;
            do st = Volatile.Read(ref _status);
            while (Interlocked.CompareExchange(ref _status, st & ~(int)DeviceStatus.DeviceNeedsReset, st) != st);
        }
    }

    private DeviceQueue RunningQueue(int index)
        => QueueOrNull(index) ?? throw new ArgumentOutOfRangeException(nameof(index), index, "no such running queue");

    /// <summary>The running queue <paramref name="index"/>, or null (any thread: the array is replaced, never changed).</summary>
    private DeviceQueue? QueueOrNull(int index)
    {
        foreach (var q in Volatile.Read(ref _queues))
            if (q.Index == index) return q;
        return null;
    }

    /// <summary>One pass over <paramref name="q"/> on the calling thread; a ring it finds broken is reported once.</summary>
    private int Serve(DeviceQueue q)
    {
        bool was = q.Stopped;
        int work = q.Process();
        if (q.Stopped && !was) OnQueueBroken(q);
        return work;
    }

    /// <summary>Raised on a device thread when a queue is found broken (index, error, message).</summary>
    public event Action<int, VirtqueueError, string>? QueueBroken;

    /// <summary>Manual mode: serve every queue once on the calling thread; returns the requests completed.</summary>
    public int Poll()
    {
        int work = 0;
        foreach (var q in _queues) work += Serve(q);
        return work;
    }

    /// <summary>
    /// Serves queue <paramref name="index"/> once on the calling thread: a device without threads of its own
    /// (<see cref="DeviceServiceMode.Manual"/>) whose queues each run on their owner's thread, as the engine's reactors
    /// do for a file device (one thread per queue drives both the ring and the io_uring). Returns the work done
    /// (requests completed or started); 0 when the queue is not running.
    /// </summary>
    public int PollQueue(int index) => QueueOrNull(index) is { } q ? Serve(q) : 0;

    /// <summary>
    /// The owner's sleep inside queue <paramref name="index"/>'s io_uring (see <c>IKernelSleepHost</c>): submits what
    /// its passes kept for it and waits until a request completes, <paramref name="wakeFd"/> polls readable or
    /// <paramref name="timeoutMs"/> passes. False when the queue cannot host the sleep (not running, no io_uring).
    /// </summary>
    public bool SleepOnQueue(int index, int wakeFd, int timeoutMs, out bool wakeFdReady)
    {
        wakeFdReady = false;
        return QueueOrNull(index) is { } q && q.SleepInKernel(wakeFd, timeoutMs, out wakeFdReady);
    }

    /// <summary>Hands to the kernel what queue <paramref name="index"/>'s passes kept for a sleep inside its ring.</summary>
    public void SubmitQueue(int index) => QueueOrNull(index)?.SubmitDeferred();

    /// <summary>Whether <see cref="PollQueue"/> would find work on queue <paramref name="index"/> now (before its owner sleeps).</summary>
    public bool QueueHasWork(int index) => QueueOrNull(index)?.HasWork ?? false;

    /// <summary>Requests of queue <paramref name="index"/> its passes started and kept for a sleep inside its ring (not yet handed to the kernel).</summary>
    internal int QueueUnsubmittedIo(int index) => QueueOrNull(index)?.Io?.Unsubmitted ?? 0;

    /// <summary>
    /// Before the owner of queue <paramref name="index"/> (a reactor serving it inline) sleeps: true when a pass would
    /// find no work, and then the backend's next completion signals the queue's call eventfd (the owner's wake source)
    /// until <see cref="QueueUnparked"/>; completions while the owner polls signal nothing.
    /// </summary>
    public bool PrepareQueueToPark(int index) => QueueOrNull(index)?.PrepareToPark() ?? true;

    /// <summary>After the sleep <see cref="PrepareQueueToPark"/> allowed (or refused): completions stop signalling.</summary>
    public void QueueUnparked(int index) => QueueOrNull(index)?.Io?.Woke(false);

    /// <summary>Requests of queue <paramref name="index"/> the backend (the kernel) is working on, read by the thread that serves it.</summary>
    public int QueueInFlightIo(int index) => QueueOrNull(index)?.InFlightIo ?? 0;

    /// <summary>Counters of queue <paramref name="index"/>.</summary>
    public DeviceQueueStats GetQueueStats(int index)
    {
        foreach (var q in _queues) if (q.Index == index) return q.Stats;
        return default;
    }

    /// <summary>Requests of every running queue that the backend is still working on (asynchronous backends; 0 otherwise).</summary>
    public int InFlightBackendRequests
    {
        get
        {
            int n = 0;
            foreach (var q in Volatile.Read(ref _queues)) n += q.InFlightIo;
            return n;
        }
    }

    /// <summary>
    /// The asynchronous channel counters of queue <paramref name="index"/> (requests started, resubmitted, served
    /// synchronously instead, cancelled); null when the queue is not running or its backend serves it synchronously.
    /// </summary>
    public Backends.Async.QueueIoCounters? GetQueueIoCounters(int index) => QueueOrNull(index)?.Io?.Counters;

    /// <summary>
    /// Queue <paramref name="index"/>'s recent backend failures, newest first, with the backend's reason (librbd's errno,
    /// the file's errno); empty when the queue is not running or nothing failed.
    /// </summary>
    public IReadOnlyList<(DateTime TimeUtc, string Message)> RecentBackendErrors(int index) =>
        QueueOrNull(index)?.Executor.RecentBackendErrors ?? [];

    /// <summary>Which I/O engine serves the backend (<c>io_uring</c>, or synchronous and why); null for memory and null backends.</summary>
    public string? IoEngine => (Backend as Backends.Async.IAsyncBlockBackend)?.IoEngine;

    /// <summary>
    /// Whether a FLUSH covers the writes made available before it on its queue even while they are still in flight:
    /// a synchronous backend executes a queue's requests in order; an asynchronous one must say so.
    /// </summary>
    public bool FlushCoversEarlierWrites => Backend is not Backends.Async.IAsyncBlockBackend async || async.FlushCoversEarlierWrites;

    /// <summary>Largest number of bytes any device thread has allocated so far (a zero-allocation check reads this before and after).</summary>
    public long DeviceThreadAllocatedBytes => _workers.Count == 0 ? 0 : _workers.Max(w => w.AllocatedBytes);

    /// <summary>The error of a broken queue, if any (for diagnostics).</summary>
    public string? QueueError(int index)
    {
        foreach (var q in _queues) if (q.Index == index && q.Ring.IsBroken) return $"{q.Ring.Error}: {q.Ring.ErrorMessage}";
        return null;
    }

    /// <summary>
    /// Stops the device threads, forgets queues and memory, and returns to status 0. Throws <see cref="IOException"/>
    /// when a device thread does not stop within <see cref="SoftBlkDeviceOptions.StopTimeout"/> (a backend request
    /// hangs), or a queue's requests stay in the kernel past <see cref="SoftBlkDeviceOptions.IoCancelGrace"/> after
    /// being cancelled: nothing is unmapped then, since they may still write guest memory, and a later reset tries again.
    /// </summary>
    public void Reset()
    {
        _workers.RemoveAll(w => w.Stop(_options.StopTimeout));          // a thread that did not stop stays, for a later reset
        int stuck = _workers.Count + StopQueueWorkers(_options.StopTimeout);
        if (stuck > 0)
            throw new IOException($"the device was not reset: {stuck} device thread(s) did not stop within {_options.StopTimeout.TotalMilliseconds:0} ms " +
                                  "(a backend request hangs); its memory stays mapped until they do");
        // Every thread is joined; requests still in the kernel finish before the memory they name is unmapped. Queues
        // with no thread of their own may be in a pass on their owner's thread (PollQueue): the pause waits it out.
        // A queue whose requests the kernel neither completes nor ends when cancelled keeps everything they may touch:
        // its channel, and the whole guest memory (never unmapped here; the reset fails and a later one looks again).
        List<DeviceQueue>? stuckIo = null;
        foreach (var q in _queues)
        {
            try
            {
                if (_options.Mode == DeviceServiceMode.Manual) q.Pause(_options.StopTimeout);
            }
            catch (IOException) when (q.IoStuck) { }
            if (!q.TryDispose()) (stuckIo ??= []).Add(q);
        }
        if (stuckIo is not null)
        {
            foreach (var q in stuckIo) QueueBroken?.Invoke(q.Index, VirtqueueError.None, q.StopReason ?? "");
            throw new IOException($"the device was not reset: {string.Join("; ", stuckIo.Select(q => q.StopReason))}");
        }
        Volatile.Write(ref _queues, []);
        Array.Clear(_setups);
        UnmapMemory();
        DriverFeatures = VirtioFeatures.None;
        _writeCache.Enabled = _options.WriteCache;
        _config[BlkConfig.Offsets.Writeback] = (byte)(_options.WriteCache ? 1 : 0);
        Volatile.Write(ref _status, 0);
    }

    private void UnmapMemory()
    {
        _memory.Clear();
        foreach (var m in _mappings) m.Dispose();
        _mappings.Clear();
    }

    /// <summary>Resets the device and disposes the backend.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try
        {
            Reset();
        }
        catch (Exception e) when (e is IOException or TimeoutException)
        {
            // A thread is stuck in a backend request: it may still use the backend and write the mapped memory, so
            // both are left as they are (a leak, not a crash). Dispose does not throw.
            return;
        }
        Backend.Dispose();
    }
}
