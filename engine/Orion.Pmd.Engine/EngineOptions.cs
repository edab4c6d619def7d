using Orion.Pmd.Reactors;

namespace Orion.Pmd.Engine;

/// <summary>How the engine runs its reactors and device threads.</summary>
public enum EngineThreading
{
    /// <summary>Real reactor threads (pinned when cores allow) and device threads.</summary>
    Threads,
    /// <summary>No threads: the owner drives everything with <see cref="PmdEngine.PollOnce"/> on one thread (deterministic tests).</summary>
    Manual,
}

/// <summary>The virtqueue layout (VirtIO 1.1 §2.6 and §2.7).</summary>
public enum RingFormat
{
    /// <summary>Split rings: descriptor table, avail ring, used ring. Every VirtIO device supports them.</summary>
    Split,
    /// <summary>Packed rings: one descriptor ring with wrap counters; needs VIRTIO_F_RING_PACKED from the device.</summary>
    Packed,
}

/// <summary>How a queue's reactor waits for completions.</summary>
public enum NotificationMode
{
    /// <summary>Device interrupts off; the reactor busy-polls (the lowest latency; burns its core).</summary>
    Polled,
    /// <summary>Busy-poll while there is work; after <see cref="EngineOptions.AdaptiveIdleBudget"/> idle, enable interrupts, re-check, and sleep.</summary>
    Adaptive,
    /// <summary>Sleep whenever idle: the device signals a call eventfd on completion.</summary>
    Interrupt,
    /// <summary>
    /// <see cref="Adaptive"/>, and also sleep at once while the only work pending is I/O the embedded device has in the
    /// kernel (a <c>file:</c> device through io_uring served on the reactors): the reactor parks until the kernel
    /// completes it, as fio's io_uring engine waits, rather than spinning a core the kernel and the hypervisor need for
    /// the I/O. On devices with nothing in the kernel it is <see cref="Adaptive"/>. Each such reactor runs on a CPU that
    /// takes the disk's completion interrupts, where the kernel can say which (<c>BlockDeviceInterrupts</c>): the wake-up
    /// then needs no interrupt from another CPU (in a virtual machine, a VM exit and the wake of a halted vCPU).
    /// </summary>
    Hybrid,
    /// <summary>
    /// The default: <see cref="Hybrid"/> for an embedded device served on the reactors (a <c>file:</c> device through
    /// io_uring, <see cref="EngineOptions.DeviceOnReactors"/>), <see cref="Polled"/> otherwise (memory, null and
    /// vhost-user devices, whose completions arrive by memory and are best met spinning).
    /// </summary>
    Auto,
}

/// <summary>Options to start an engine. Every property has a usable default: <c>new EngineOptions()</c> is a 1 GiB RAM disk on one queue.</summary>
public sealed partial record EngineOptions
{
    /// <summary>
    /// The device: <c>mem:SIZE</c> (RAM disk), <c>null:SIZE</c> (completes without touching data), <c>file:PATH</c>
    /// (an image file, optionally <c>,direct</c>) — all embedded, with optional <c>,bs=4096</c>, <c>,ro</c> — or
    /// <c>vhost-user:SOCKET</c>, an external back-end such as qemu-storage-daemon or orion-vhost.
    /// </summary>
    public string Device { get; init; } = "mem:1G";
    /// <summary>Queues, one reactor each.</summary>
    public int Queues { get; init; } = 1;
    /// <summary>Entries per virtqueue (power of two). 256 by default: enough for iodepth 128 with room to spare.</summary>
    public int QueueSize { get; init; } = 256;
    /// <summary>Most data buffers in one request (sizes every slot's indirect table).</summary>
    public int MaxSegments { get; init; } = 32;
    /// <summary>Bytes of DMA memory for the buffer pool.</summary>
    public long BufferMemoryBytes { get; init; } = 64L << 20;
    /// <summary>Largest single DMA buffer (and so the largest transfer from one buffer).</summary>
    public int MaxBufferBytes { get; init; } = 1 << 20;
    /// <summary>Cores for the reactors (reactor i on ReactorCores[i]); null picks from the allowed set when there are enough cores.</summary>
    public IReadOnlyList<int>? ReactorCores { get; init; }
    /// <summary>Cores for the embedded device's threads; null picks the next allowed cores after the reactors'.</summary>
    public IReadOnlyList<int>? DeviceCores { get; init; }
    /// <summary>Whether to pin threads at all. Off (or too few cores) runs unpinned and yields when idle.</summary>
    public bool Pin { get; init; } = true;
    /// <summary>Reactor idle behaviour when pinned (unpinned reactors always yield).</summary>
    public IdlePolicy IdlePolicy { get; init; } = IdlePolicy.BusyPoll;
    /// <summary>Real threads, or manual polling for tests.</summary>
    public EngineThreading Threading { get; init; } = EngineThreading.Threads;
    /// <summary>How the embedded device serves its queues (ignored in manual threading).</summary>
    public EmbeddedDeviceMode DeviceMode { get; init; } = EmbeddedDeviceMode.Polled;
    /// <summary>Threads of the embedded device (when it does not run on the reactors, <see cref="DeviceOnReactors"/>).</summary>
    public int DeviceThreads { get; init; } = 1;
    /// <summary>
    /// Serve each queue of the embedded device on the reactor that drives it, with no device thread: one thread per
    /// queue does both sides, as SPDK's reactor drives its io_uring bdev. Null (the default) decides by device: on for a
    /// <c>file:</c> device served through io_uring (the kernel does the device's work; a spinning device thread would
    /// only burn a second core), off for <c>mem:</c> and <c>null:</c> (a device thread on its own core copies data in
    /// parallel with the reactor) and for devices with injected faults or latency (they spin on the device's thread).
    /// </summary>
    public bool? DeviceOnReactors { get; init; }
    /// <summary>Ring layout; <see cref="RingFormat.Packed"/> fails clearly on a device that does not offer it.</summary>
    public RingFormat Ring { get; init; } = RingFormat.Split;
    /// <summary>How reactors wait for completions. Adaptive and interrupt also let the embedded device sleep (adaptive device mode).</summary>
    public NotificationMode Notifications { get; init; } = NotificationMode.Auto;
    /// <summary>Adaptive mode: how long a reactor polls without work before it sleeps.</summary>
    public TimeSpan AdaptiveIdleBudget { get; init; } = TimeSpan.FromMicroseconds(50);
    /// <summary>With EVENT_IDX, ask for one interrupt per this many completions while requests are in flight (1 = every completion).</summary>
    public int InterruptCoalescing { get; init; } = 1;
    /// <summary>Use indirect descriptors when the device offers them (one ring slot per request).</summary>
    public bool UseIndirect { get; init; } = true;
    /// <summary>Use EVENT_IDX when the device offers it.</summary>
    public bool UseEventIdx { get; init; } = true;
    /// <summary>Overrides the features the embedded device offers (compatibility tests).</summary>
    public Virtio.VirtioFeatures? DeviceFeatures { get; init; }
    /// <summary>Capacity of each queue's cross-thread submission ring.</summary>
    public int SubmissionRingSize { get; init; } = 4096;
    /// <summary>Timeouts of a <c>vhost-user:</c> device: connecting, replies, and how long to keep reconnecting after the back-end goes away.</summary>
    public Transport.VhostUser.VhostUserOptions VhostUser { get; init; } = new();
    /// <summary>Longest an orderly stop waits for in-flight requests to drain before failing them.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>
    /// Where the audit log (<see cref="Audit.EngineAudit"/>, category <see cref="Audit.EngineAudit.CategoryName"/>) goes:
    /// one structured event per administrative action and per refused request. Null (the default) logs nothing and
    /// costs nothing.
    /// </summary>
    public Microsoft.Extensions.Logging.ILoggerFactory? LoggerFactory { get; init; }
    /// <summary>
    /// Zero every DMA buffer when it returns to the pool, so the next renter (another tenant of the engine) never sees
    /// the previous one's data. Off by default: a returned buffer keeps its bytes until overwritten. Costs a memset
    /// of the buffer's size class per return (bounce buffers included, on the thread that returns them).
    /// </summary>
    public bool ZeroBuffersOnReturn { get; init; }
    /// <summary>
    /// Where the engine's meter (<see cref="PmdEngine.MeterName"/>) comes from: the host's
    /// <see cref="System.Diagnostics.Metrics.IMeterFactory"/> (from dependency injection) so its metrics pipeline
    /// owns it, or null (the default) for a meter of the engine's own, seen by every listener in the process.
    /// </summary>
    public System.Diagnostics.Metrics.IMeterFactory? MeterFactory { get; init; }
    /// <summary>
    /// Test seam: prepares the embedded device from the parsed <see cref="Device"/> string instead of the backend it
    /// names (<c>EmbeddedDevice.Prepare(spec, backend)</c>: the string's size, block size
    /// and options still apply). Lets tests model media the device strings cannot, such as a volatile cache that a
    /// power loss empties.
    /// </summary>
    internal Func<DeviceString, EmbeddedDevice>? EmbeddedDeviceFactory { get; init; }
}
