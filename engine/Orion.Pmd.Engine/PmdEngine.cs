using System.Diagnostics;
using Orion.Pmd.Engine.Memory;
using Orion.Pmd.Engine.Monitoring;
using Orion.Pmd.Engine.Queues;
using Orion.Pmd.Engine.Recovery;
using Orion.Pmd.Engine.Transport;
using Orion.Pmd.Engine.Transport.VhostUser;
using Orion.Pmd.Engine.Transport.VirtioPci;
using Orion.Pmd.Engine.Audit;
using Orion.Pmd.Reactors;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Engine;

/// <summary>
/// A running engine: one device, its queues, one reactor per queue, the DMA memory and the performance monitor.
/// Start it with <see cref="Start"/>; dispose it to stop in order (refuse new work, drain, join threads, reset the
/// device, then unmap memory).
/// </summary>
public sealed unsafe partial class PmdEngine : IDisposable
{
    private readonly IVirtioTransport _transport;
    private readonly DmaMemory _memory;
    private readonly Reactor[] _reactors;
    private readonly EngineOptions _options;
    private bool _running;
    private readonly List<Linux.EventFd> _eventFds = [];

    private Linux.EventFd Track(Linux.EventFd fd)
    {
        _eventFds.Add(fd);
        return fd;
    }
    private bool _disposed;

    internal QueuePair[] Pairs { get; }
    private readonly RecoveryCoordinator _recovery = null!;
    internal bool ReactorsRunning => _running;

    /// <summary>The block device API.</summary>
    public BlockDevice Device { get; }
    /// <summary>The reactors, one per queue.</summary>
    public IReadOnlyList<Reactor> Reactors => _reactors;
    /// <summary>The performance monitor.</summary>
    public PerformanceMonitor Monitor { get; }
    /// <summary>The transport to the device (tests look behind it; the public API names no transport or device type).</summary>
    internal IVirtioTransport Transport => _transport;
    /// <summary>Whether threads are pinned to cores.</summary>
    public bool Pinned { get; }
    /// <summary>The audit log of administrative actions (attach, negotiation, resets, reconnects, detach).</summary>
    internal EngineAudit AuditLog { get; }

    /// <summary>The options it started with.</summary>
    public EngineOptions Options => _options;

    /// <summary>
    /// Starts an engine on the device <see cref="EngineOptions.Device"/> names (the embedded device, a vhost-user back-end, ...). Throws with a clear
    /// message when an option is invalid or the device cannot serve what was asked.
    /// </summary>
    public static PmdEngine Start(EngineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();                     // every wrong option named at once, before anything starts
        var opened = TransportFactory.Open(DeviceString.Parse(options.Device), options);
        return new PmdEngine(opened.Transport, opened.Options, opened.Plan);
    }

    /// <summary>
    /// Starts an engine on a transport built by the caller (tests: a device that reports what a real one would not).
    /// <see cref="EngineOptions.Device"/> only names it; the engine owns and disposes <paramref name="transport"/>.
    /// </summary>
    internal static PmdEngine StartOn(IVirtioTransport transport, EngineOptions options)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return new PmdEngine(transport, options, CorePlan.Make(options, options.Threading == EngineThreading.Manual ? 0 : options.DeviceThreads));
    }

    private PmdEngine(IVirtioTransport transport, EngineOptions options, CorePlan plan)
    {
        _transport = transport;
        _options = options;
        AuditLog = new EngineAudit(options.LoggerFactory);
        _memory = new DmaMemory();
        Pinned = plan.Pinned;
        try
        {
            var wanted = VirtioFeatures.Version1 | VirtioFeatures.BlkSegMax | VirtioFeatures.BlkSizeMax | VirtioFeatures.BlkBlockSize |
                         VirtioFeatures.BlkFlush | VirtioFeatures.BlkTopology | VirtioFeatures.BlkMultiQueue | VirtioFeatures.BlkDiscard |
                         VirtioFeatures.BlkWriteZeroes | VirtioFeatures.BlkReadOnly | VirtioFeatures.BlkConfigWce |
                         (options.UseIndirect ? VirtioFeatures.RingIndirectDesc : 0) | (options.UseEventIdx ? VirtioFeatures.RingEventIdx : 0);
            var required = VirtioFeatures.Version1 | (options.Ring == RingFormat.Packed ? VirtioFeatures.RingPacked : 0);
            var (features, config) = DeviceInitializer.Initialize(transport, wanted, required);
            AuditLog.FeaturesNegotiated(transport.Description, transport.GetDeviceFeatures(), features.Accepted);
            bool packed = features.Has(VirtioFeatures.RingPacked);
            int blockSize = DeviceConfigValidator.Validate(features, config, transport.Description, transport.MaxQueueSize);
            (_features, _config, _wanted, _required) = (features, config, wanted, required);
            int deviceQueues = features.Has(VirtioFeatures.BlkMultiQueue) ? Math.Max((int)config.NumQueues, 1) : 1;
            if (options.Queues > deviceQueues)
                throw new NotSupportedException($"{transport.Description} serves {deviceQueues} queue(s); {options.Queues} were asked for");
            if (options.QueueSize > transport.MaxQueueSize)
                throw new NotSupportedException($"{transport.Description} accepts queues of at most {transport.MaxQueueSize} entries; {options.QueueSize} were asked for");
            int maxSegments = options.MaxSegments;
            if (features.Has(VirtioFeatures.BlkSegMax) && config.SegMax > 0) maxSegments = (int)Math.Min((uint)maxSegments, config.SegMax);
            bool indirect = features.Has(VirtioFeatures.RingIndirectDesc);
            if (!indirect)
            {
                // A direct chain (header, data buffers, payload, status) must fit the ring, or it would wait forever.
                if (options.QueueSize < 4)
                    throw new NotSupportedException($"without INDIRECT_DESC a request needs at least 4 descriptors; a queue of {options.QueueSize} is too small");
                maxSegments = Math.Min(maxSegments, options.QueueSize - 3);
            }
            bool eventIdx = features.Has(VirtioFeatures.RingEventIdx);

            // Memory: region 0 holds every queue's ring and request slots, region 1 the buffer pool.
            var rings = new RingFactory(packed, options.QueueSize, eventIdx);
            int stride = RequestSlots.StrideFor(maxSegments);
            long perQueue = AlignUp(rings.TotalBytes, 4096) + AlignUp((long)options.QueueSize * stride, 4096);
            var control = _memory.AddRegion("orion-rings", perQueue * options.Queues);
            var buffers = _memory.AddRegion("orion-buffers", options.BufferMemoryBytes);
            var pool = new DmaBufferPool(buffers, options.MaxBufferBytes);
            transport.SetMemoryTable(_memory.Table.Regions);

            _recovery = new RecoveryCoordinator(this, transport, options, options.Queues);
            _reactors = new Reactor[options.Queues];
            Pairs = new QueuePair[options.Queues];
            _queueAreas = new SplitRingAddresses[options.Queues];
            _queueKicks = new Linux.EventFd?[options.Queues];
            _queueCalls = new Linux.EventFd?[options.Queues];
            bool sleeps = options.Notifications != NotificationMode.Polled && options.Threading == EngineThreading.Threads;
            var idle = !sleeps ? (plan.Pinned ? options.IdlePolicy : IdlePolicy.Yield)
                : options.Notifications == NotificationMode.Hybrid ? IdlePolicy.Hybrid : IdlePolicy.Park;
            var parkAfter = options.Notifications == NotificationMode.Interrupt ? TimeSpan.Zero : options.AdaptiveIdleBudget;
            for (int q = 0; q < options.Queues; q++)
            {
                control.TryCarve(rings.TotalBytes, 4096, out byte* ringHost, out ulong ringGuest);
                control.TryCarve((long)options.QueueSize * stride, 4096, out byte* slotHost, out ulong slotGuest);
                var (ring, addresses) = rings.Create(ringHost, ringGuest);
                // A kick eventfd only where the device sleeps on one; a polled device asks for no kicks at all.
                bool deviceSleeps = options.DeviceMode is EmbeddedDeviceMode.KickDriven or EmbeddedDeviceMode.Adaptive || sleeps;
                var kick = deviceSleeps && options.Threading == EngineThreading.Threads ? Track(new Linux.EventFd()) : null;
                // Every queue gets a call eventfd with real threads, so its mode can change at run time; a polled
                // queue keeps interrupts off and the device never signals it.
                var call = options.Threading == EngineThreading.Threads ? Track(new Linux.EventFd()) : null;
                transport.SetupQueue(q, options.QueueSize, addresses, kick, call);
                (_queueAreas[q], _queueKicks[q], _queueCalls[q]) = (addresses, kick, call);     // a device reset sets them up again
                _reactors[q] = new Reactor(new ReactorOptions { Id = q, Core = plan.Reactors[q], IdlePolicy = idle, ParkAfter = parkAfter, Name = $"orion-reactor-{q}" });
                if (call is not null) _reactors[q].AddWakeSource(call);
                var slots = new RequestSlots(slotHost, slotGuest, options.QueueSize, stride);
                var (freshHost, freshGuest) = ((nint)ringHost, ringGuest);
                var pairOptions = new QueuePairOptions
                {
                    Index = q,
                    Indirect = indirect,
                    MaxSegments = maxSegments,
                    SubmissionCapacity = options.SubmissionRingSize,
                    LocalRequests = options.QueueSize * 2,
                    InterruptCoalescing = Math.Max(1, options.InterruptCoalescing),
                    RequestTimeoutTicks = options.RequestTimeout > TimeSpan.Zero ? (long)(options.RequestTimeout.TotalSeconds * Stopwatch.Frequency) : 0,
                    FreshRing = () => rings.Create((byte*)freshHost, freshGuest).Ring,     // zeroed, in place
                    CallbackFaulted = (index, tag, e) => Log.CallbackFault(transport.Description, index, tag, e),
                };
                Pairs[q] = new QueuePair(pairOptions, _reactors[q], ring, slots, transport, _recovery);
                var pair = Pairs[q];
                _reactors[q].PollerFaulted += e => OnPollerFaulted(pair, e);
                _reactors[q].AddPoller(Pairs[q]);
                // A device with no threads of its own, under real threads: each reactor serves its queue's device side.
                if (transport is EmbeddedTransport { HasNoThreads: true } inline && options.Threading == EngineThreading.Threads)
                    _reactors[q].AddPoller(inline.CreateQueuePoller(q, call));
            }
            transport.SetStatus(DeviceStatus.Acknowledge | DeviceStatus.Driver | DeviceStatus.FeaturesOk | DeviceStatus.DriverOk);

            // An external device opened with ,ro: the engine refuses writes itself (an embedded one sets RO in its features).
            bool openedReadOnly = transport is VhostUserTransport or VirtioPciTransport && DeviceString.Parse(options.Device).ReadOnly;
            Device = new BlockDevice(Pairs, pool, config, features, blockSize, maxSegments, transport.Description, transport, openedReadOnly) { Engine = this };
            AuditLog.DeviceAttached(transport.Description, KindOf(transport), Device.BlockCount, blockSize, options.Queues);
            Monitor = new PerformanceMonitor(this);
            StartMetrics();
            if (options.Threading == EngineThreading.Threads)
            {
                foreach (var r in _reactors) r.Start();
                _running = true;
            }
            if (transport is VhostUserTransport vhost) _recovery.Supervise(vhost);
        }
        catch
        {
            foreach (var r in _reactors ?? []) r?.Dispose();
            transport.Dispose();
            foreach (var fd in _eventFds) fd.Dispose();
            _memory.Dispose();
            throw;
        }
    }

    /// <summary>
    /// On the reactor: a poller of this queue's reactor threw and was removed. The queue (or its device side) is gone,
    /// so rather than leave its requests hanging, fail them and every later one with QueueBroken; the queue's poller is
    /// put back (if it was the one removed) only to do that.
    /// </summary>
    private void OnPollerFaulted(QueuePair pair, Exception e)
    {
        Log.PollerFaulted(_transport.Description, pair.Index, e);
        pair.FailAfterPollerFault($"queue {pair.Index} stopped: its reactor's poller threw {e.GetType().Name}: {e.Message}");
        pair.Reactor.RemovePoller(pair);
        pair.Reactor.AddPoller(pair);
    }

    private static string KindOf(IVirtioTransport transport) =>
        transport switch { VhostUserTransport => "vhost-user", VirtioPciTransport => "virtio-pci", _ => "embedded" };

    private static long AlignUp(long v, long a) => (v + a - 1) & ~(a - 1);

    /// <summary>Manual threading: one iteration of every reactor and the device, on the calling thread. Returns the work done.</summary>
    public int PollOnce()
    {
        if (_running) throw new InvalidOperationException("PollOnce is for EngineThreading.Manual; this engine runs its own threads");
        int work = 0;
        foreach (var r in _reactors) work += r.RunOnce();
        if (_transport is IInProcessDevice inProcess) work += inProcess.PollDevice();
        foreach (var r in _reactors) work += r.RunOnce();
        _recovery.RunRequestedReset();
        return work;
    }

    /// <summary>Manual threading: polls until <paramref name="condition"/> holds; false if it did not within <paramref name="maxIterations"/>.</summary>
    public bool RunUntil(Func<bool> condition, int maxIterations = 1_000_000)
    {
        for (int i = 0; i < maxIterations; i++)
        {
            if (condition()) return true;
            PollOnce();
        }
        return condition();
    }

    internal void SetNotificationMode(QueuePair pair, NotificationMode mode, TimeSpan? adaptiveBudget)
    {
        if (!_running) throw new InvalidOperationException("notification modes apply to engines with real threads");
        var polled = Pinned ? _options.IdlePolicy : IdlePolicy.Yield;
        switch (mode)
        {
            case NotificationMode.Polled: pair.Reactor.SetIdlePolicy(polled); break;
            case NotificationMode.Adaptive: pair.Reactor.SetIdlePolicy(IdlePolicy.Park, adaptiveBudget ?? _options.AdaptiveIdleBudget); break;
            case NotificationMode.Interrupt: pair.Reactor.SetIdlePolicy(IdlePolicy.Park, TimeSpan.Zero); break;
            case NotificationMode.Hybrid: pair.Reactor.SetIdlePolicy(IdlePolicy.Hybrid, adaptiveBudget ?? _options.AdaptiveIdleBudget); break;
            default: throw new ArgumentOutOfRangeException(nameof(mode), mode, "polled, adaptive, interrupt or hybrid");
        }
    }

    /// <summary>Requests in flight or waiting, over all queues.</summary>
    public int Outstanding => Pairs.Sum(p => p.Outstanding);

    /// <summary>
    /// Orderly stop: refuse new requests, let in-flight ones drain (up to <see cref="EngineOptions.DrainTimeout"/>),
    /// fail what is still waiting, join the reactors, reset the device (joining its threads), fail with
    /// <see cref="Requests.IoStatus.Aborted"/> every request the device still held, and unmap memory last.
    /// </summary>
    /// <remarks>
    /// Every request's task has completed when this returns (its continuation may still be running). Buffers rented
    /// from <see cref="BlockDevice.Rent"/> and not yet returned become unusable: their handles, and any
    /// <see cref="Memory{T}"/> taken from them, throw <see cref="ObjectDisposedException"/>; disposing them is harmless.
    /// A <see cref="Span{T}"/> taken before the stop must not be used after it.
    /// </remarks>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _metrics?.Dispose();
        _recovery.Stop();                               // a recovery under way finishes; none starts any more
        Device.Close();
        var deadline = Stopwatch.GetTimestamp() + (long)(_options.DrainTimeout.TotalSeconds * Stopwatch.Frequency);
        while (Outstanding > 0 && Stopwatch.GetTimestamp() < deadline && !Pairs.All(p => p.Ring.IsBroken || p.Suspended))
        {
            if (_running) Thread.Sleep(1);
            else PollOnce();
        }
        if (_running)
        {
            foreach (var p in Pairs) p.Reactor.Post(static s => ((QueuePair)s!).AbortPending(), p);
            foreach (var r in _reactors) r.Stop();
            _running = false;
        }
        else
        {
            foreach (var p in Pairs) p.AbortPending();
        }
        foreach (var r in _reactors) r.Dispose();
        AuditLog.DeviceReset(_transport.Description, "engine stop");
        Exception? resetFailure = null;
        try
        {
            _transport.SetStatus(DeviceStatus.Reset);  // stops and joins the device threads
        }
        catch (Exception e)
        {
            resetFailure = e;                           // rethrown once every task completed and the memory is unmapped
        }
        _transport.Dispose();
        AuditLog.DeviceDetached(_transport.Description, KindOf(_transport));
        foreach (var fd in _eventFds) fd.Dispose();
        // Every DmaBuffer handle still out, and every Memory<byte> taken from one, refuses access from now on: the
        // memory behind it is about to be unmapped, and touching it would be a SIGSEGV, not an exception.
        Device.Pool.Close();
        // What the ring still holds the device will never complete now (the drain timed out, or the device was broken
        // or disconnected): fail it, or its task would hang forever. Only now: a vhost-user back-end's reset
        // (GET_VRING_BASE, then the hang-up) does not wait for requests it still executes, so their owners get them back
        // only once no buffer can be used any more. The reactors are stopped, so this thread owns the queues.
        string detail = $"engine stopped: the device had not completed the request within the drain timeout " +
                        $"({_options.DrainTimeout.TotalMilliseconds} ms, EngineOptions.DrainTimeout); it may or may not have reached the medium";
        foreach (var p in Pairs) p.FailHeldAtStop(detail);
        _memory.Dispose();                              // nothing can touch the memory any more
        if (resetFailure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(resetFailure);
    }
}
