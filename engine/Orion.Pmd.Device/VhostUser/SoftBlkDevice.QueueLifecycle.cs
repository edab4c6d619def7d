using Orion.Pmd.Device.Execution;
using Orion.Pmd.Linux;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Device;

// The per-queue life cycle a vhost-user back-end needs (libvhost-user semantics): there is no DRIVER_OK, each queue
// starts on its own (SET_VRING_KICK) at a given position and stops on its own (GET_VRING_BASE), reporting where it
// stopped, so a front-end can re-arm it there. Each started queue has its own device thread. The embedded path
// (SetupQueue + DRIVER_OK) is untouched; a device is driven one way or the other, never both.
public sealed partial class SoftBlkDevice
{
    private DeviceWorker?[]? _queueWorkers;

    /// <summary>Whether queue <paramref name="index"/> is being served.</summary>
    public bool IsQueueStarted(int index)
    {
        foreach (var q in Volatile.Read(ref _queues))
            if (q.Index == index) return true;
        return false;
    }

    /// <summary>
    /// Starts serving queue <paramref name="index"/> on its own device thread, without DRIVER_OK: the driver's features
    /// (<see cref="SetDriverFeatures"/>) and the memory table must be set. The ring is attached at
    /// <paramref name="start"/> (a fresh ring when null). <paramref name="mode"/> overrides the device's service mode for
    /// this queue (a vhost-user front-end that sends no kick fd gets a polled queue); in
    /// <see cref="DeviceServiceMode.Manual"/> no thread starts and <see cref="Poll"/> serves the queue.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">No such queue, or a size the format does not allow.</exception>
    /// <exception cref="ArgumentException">A ring area is misaligned or outside registered memory, or the start position is impossible.</exception>
    /// <exception cref="InvalidOperationException">The device runs the embedded way (DRIVER_OK), or the queue is already started.</exception>
    public void StartQueue(int index, int size, SplitRingAddresses addresses, EventFd? kick, EventFd? call,
                           QueuePosition? start = null, DeviceServiceMode? mode = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if ((uint)index >= (uint)_setups.Length)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"the device has {_setups.Length} queues");
        CheckQueueSize(size);
        if (Status.HasFlag(DeviceStatus.DriverOk))
            throw new InvalidOperationException("the device was started with DRIVER_OK; queues cannot also be started one by one");
        if (IsQueueStarted(index))
            throw new InvalidOperationException($"queue {index} is already started; stop it first");
        var serviceMode = mode ?? _options.Mode;
        if (serviceMode == DeviceServiceMode.KickDriven && kick is null || serviceMode == DeviceServiceMode.Adaptive && kick is null)
            throw new ArgumentException($"a {serviceMode} queue sleeps on its kick eventfd; queue {index} has none (poll it instead)", nameof(kick));

        IDeviceQueue ring = CreateRing(size, addresses, start ?? QueuePosition.Fresh);
        var queue = new DeviceQueue(index, ring, new BlkRequestExecutor(Backend, ExecutorSettings()), kick, call, MaxChainSegments, _options.MaxBatch,
                                    memory: HostMemory());
        if (serviceMode == DeviceServiceMode.Manual) ring.SuppressKicks();
        Volatile.Write(ref _queues, [.. _queues, queue]);
        if (serviceMode == DeviceServiceMode.Manual) return;

        _queueWorkers ??= new DeviceWorker?[_setups.Length];
        int? core = _options.Cores is { Count: > 0 } cores ? cores[index % cores.Count] : null;
        var worker = new DeviceWorker($"orion-dev-q{index}", [queue], serviceMode, core, _options.YieldWhenIdle, OnQueueBroken, _options.AdaptiveSleepAfter, _options.AdaptiveSleepWithIoAfter);
        _queueWorkers[index] = worker;
        worker.Start();
    }

    /// <summary>
    /// Stops serving queue <paramref name="index"/> (its thread is joined: afterwards the device touches none of the
    /// queue's memory) and returns where it stopped, which <see cref="StartQueue"/> accepts to resume. Every chain the
    /// device popped has been completed by then. Returns null when the queue was not started.
    /// </summary>
    public QueuePosition? StopQueue(int index)
    {
        DeviceQueue? queue = null;
        foreach (var q in _queues)
            if (q.Index == index) queue = q;
        if (queue is null) return null;
        if (_queueWorkers?[index] is { } worker)
        {
            // Bounded: a thread stuck on a peer's fd must not hang the caller (the vhost-user session, SIGTERM).
            if (!worker.Stop())
                throw new IOException($"the device thread of queue {index} did not stop within {DeviceWorker.StopTimeout.TotalSeconds:0} s");
            _queueWorkers[index] = null;
        }
        else queue.Pause(_options.StopTimeout);     // Manual: a Poll on another thread finishes its pass first
        Volatile.Write(ref _queues, _queues.Where(q => q != queue).ToArray());
        queue.Dispose();                  // nothing in flight in the kernel any more (the stop drained it)
        return queue.Ring switch
        {
            SplitQueueDevice split => QueuePosition.Split(split.NextAvailIndex),
            PackedQueueDevice packed => new QueuePosition(packed.NextAvailPosition, packed.AvailWrapCounter, packed.UsedPosition, packed.UsedWrapCounter),
            _ => throw new InvalidOperationException($"queue {index} has a ring of unknown format"),
        };
    }

    private void CheckQueueSize(int size)
    {
        bool packed = DriverFeatures.HasFlag(VirtioFeatures.RingPacked);
        if (size > _options.MaxQueueSize || !(packed ? PackedRingLayout.IsValidSize(size) : SplitRingLayout.IsValidSize(size)))
            throw new ArgumentOutOfRangeException(nameof(size), size, packed
                ? $"packed queue size must be from 1 to {_options.MaxQueueSize}"
                : $"split queue size must be a power of two up to {_options.MaxQueueSize}");
    }

    /// <summary>
    /// Joins the threads of queues started one by one (part of <see cref="Reset"/>), each within
    /// <paramref name="timeout"/>; returns how many did not stop (they are kept, for a later reset to try again).
    /// </summary>
    private int StopQueueWorkers(TimeSpan timeout)
    {
        if (_queueWorkers is null) return 0;
        int stuck = 0;
        for (int i = 0; i < _queueWorkers.Length; i++)
        {
            if (_queueWorkers[i] is not { } worker) continue;
            if (worker.Stop(timeout)) _queueWorkers[i] = null;
            else stuck++;
        }
        return stuck;
    }
}
