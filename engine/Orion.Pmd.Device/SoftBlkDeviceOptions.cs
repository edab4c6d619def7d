using Orion.Pmd.Virtio;

namespace Orion.Pmd.Device;

/// <summary>How the software device's queues are served.</summary>
public enum DeviceServiceMode
{
    /// <summary>Device threads busy-poll the avail rings and tell the driver not to kick (the SPDK vhost target's way).</summary>
    Polled,
    /// <summary>Device threads sleep on the kick eventfd and re-enable notifications before sleeping, so the driver's doorbell logic is exercised.</summary>
    KickDriven,
    /// <summary>
    /// Busy-poll with kicks suppressed while requests flow; after <see cref="SoftBlkDeviceOptions.AdaptiveSleepAfter"/>
    /// without work, re-enable kicks, re-check, and sleep on the kick eventfd until the driver rings.
    /// </summary>
    Adaptive,
    /// <summary>No threads: the owner calls <see cref="SoftBlkDevice.Poll"/> (deterministic tests drive both sides on one thread).</summary>
    Manual,
}

/// <summary>Options of the embedded software virtio-blk device.</summary>
public sealed record SoftBlkDeviceOptions
{
    /// <summary>Logical block size in bytes (power of two, 512 to 65536). Offered as <c>blk_size</c>.</summary>
    public int LogicalBlockSize { get; init; } = 512;
    /// <summary>Offer <c>VIRTIO_BLK_F_RO</c> and refuse writes.</summary>
    public bool ReadOnly { get; init; }
    /// <summary>Request queues served (offered as <c>num_queues</c> with MQ).</summary>
    public int NumQueues { get; init; } = 1;
    /// <summary>Largest queue size the device accepts.</summary>
    public int MaxQueueSize { get; init; } = 1024;
    /// <summary>Most data segments per request, offered as <c>seg_max</c>.</summary>
    public uint SegMax { get; init; } = 254;
    /// <summary>
    /// Longest single buffer (descriptor) in bytes, offered as <c>size_max</c> (1 GiB by default, at most
    /// <see cref="int.MaxValue"/>); a request with a longer one fails with IOERR before any byte is touched.
    /// </summary>
    public uint SizeMax { get; init; } = 1u << 30;
    /// <summary>Serial number returned by GET_ID.</summary>
    public string Serial { get; init; } = "orion-pmd-soft";
    /// <summary>Features offered; the default is everything this device implements. Tests offer subsets.</summary>
    public VirtioFeatures? OfferedFeatures { get; init; }
    /// <summary>How queues are served.</summary>
    public DeviceServiceMode Mode { get; init; } = DeviceServiceMode.Polled;
    /// <summary>Adaptive mode: how long a device thread polls without finding work before it sleeps.</summary>
    public TimeSpan AdaptiveSleepAfter { get; init; } = TimeSpan.FromMicroseconds(50);
    /// <summary>
    /// Adaptive mode, while requests are in the kernel (a file through io_uring): how long a device thread polls
    /// without finding work before it sleeps until the kernel completes one or the driver kicks. Zero (the default)
    /// sleeps at once, as qemu-storage-daemon and fio wait for a disk: on a machine with few cores the kernel and the
    /// hypervisor doing the I/O then get the core the spin would take (orion-vhost against qemu-storage-daemon, QD1
    /// randread on this project's VMs: 1.24x with 0, 0.93x spinning four poll windows; perf/RESULTS.md).
    /// </summary>
    public TimeSpan AdaptiveSleepWithIoAfter { get; init; } = TimeSpan.Zero;
    /// <summary>Device threads; queues are spread over them round-robin. Kick-driven and adaptive modes use one thread per queue.</summary>
    public int Threads { get; init; } = 1;
    /// <summary>Cores to pin device threads to (thread i on Cores[i % Count]); null or empty leaves them unpinned.</summary>
    public IReadOnlyList<int>? Cores { get; init; }
    /// <summary>Yield the core when a polling pass found nothing (for machines with fewer cores than spinning threads).</summary>
    public bool YieldWhenIdle { get; init; }
    /// <summary>
    /// Whether the device starts with a volatile write cache (<c>writeback</c> = 1). With CONFIG_WCE the driver may
    /// switch it; in write-through mode every write is flushed to the backend before it completes.
    /// </summary>
    public bool WriteCache { get; init; } = true;
    /// <summary>
    /// How long a queue reset or a device reset waits for a device thread to finish the pass it is in. A backend request
    /// that hangs (a stuck disk or network file system) keeps the thread there: past this bound the reset fails with a
    /// named error instead of holding its caller (a reactor) without end, and the device keeps the queue unserved and
    /// its memory mapped. 10 s by default.
    /// </summary>
    public TimeSpan StopTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>
    /// How long stopping or resetting a queue waits for the requests it has in the kernel (io_uring) before it asks the
    /// kernel to cancel them. 5 s by default.
    /// </summary>
    public TimeSpan IoCancelAfter { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>
    /// How long it then waits for the cancelled requests to end. One the kernel still holds after this grace (I/O stuck
    /// at a device that neither completes nor cancels it) latches the queue faulted with a named error, and the memory
    /// it may write is quarantined: never unmapped and never handed back, for the life of the process (a leak, not a
    /// corruption); the reset fails and the device's stop finishes. 5 s by default.
    /// </summary>
    public TimeSpan IoCancelGrace { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Most chains a queue pops per pass before publishing used entries.</summary>
    public int MaxBatch { get; init; } = 64;
    /// <summary>
    /// Fault/latency injection for tests and CI gates: the device busy-waits this long on every request before
    /// completing it (a Stopwatch spin on the device thread, no allocation). Requests in one queue are served one after
    /// another, so a queue completes at most one request per delay. Zero (the default) injects nothing. Not a model of
    /// any real device: use it to prove that a benchmark or a regression gate notices a slower device.
    /// </summary>
    public TimeSpan InjectedLatency { get; init; }
    /// <summary>
    /// Fault injection for tests and soak runs (<see cref="Faults.FaultPlan"/>): per queue and request type, at a rate or
    /// on a schedule, IOERR/UNSUPP statuses, latency spikes, dropped completions, stalls, NEEDS_RESET and garbage in the
    /// used ring. Null (the default) injects nothing and costs nothing. Counters: <see cref="SoftBlkDevice.GetFaultCounters(int)"/>.
    /// </summary>
    public Faults.FaultPlan? Faults { get; init; }

    /// <summary>Everything the software device implements.</summary>
    public const VirtioFeatures SupportedFeatures =
        VirtioFeatures.Version1 | VirtioFeatures.RingIndirectDesc | VirtioFeatures.RingEventIdx | VirtioFeatures.RingPacked |
        VirtioFeatures.BlkSegMax | VirtioFeatures.BlkSizeMax | VirtioFeatures.BlkBlockSize | VirtioFeatures.BlkFlush | VirtioFeatures.BlkTopology |
        VirtioFeatures.BlkMultiQueue | VirtioFeatures.BlkDiscard | VirtioFeatures.BlkWriteZeroes | VirtioFeatures.BlkReadOnly |
        VirtioFeatures.BlkConfigWce;
}
