namespace Orion.Pmd.Reactors;

/// <summary>
/// A parkable poller whose pending work can be in the kernel: I/O it submitted (a file through io_uring) whose
/// completion the kernel will signal on one of the reactor's wake sources. Under <see cref="IdlePolicy.Hybrid"/> a
/// reactor that finds no work parks at once while such a poller waits on the kernel, instead of spinning through the
/// tens of microseconds a disk takes — fio's io_uring engine waits the same way.
/// </summary>
/// <remarks>
/// Why: on a machine with few cores (a 2-vCPU virtual machine), a core that spins while the kernel and the hypervisor
/// do the I/O slows the I/O down: fio's QD1 random read on a virtio disk loses its tail (10-20 ms stalls, 99.99th
/// from about 1 ms to 11 ms) as soon as any vCPU spins. Read on the reactor thread only; must not block or allocate.
/// </remarks>
public interface IKernelWaitPoller : IParkablePoller
{
    /// <summary>
    /// Whether requests are in the kernel now and their completion is certain to signal a wake source of the reactor
    /// (so a park ends when they complete).
    /// </summary>
    bool WaitsOnKernel { get; }
}
