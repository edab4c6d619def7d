using Orion.Pmd.Device;
using Orion.Pmd.Linux;
using Orion.Pmd.Reactors;

namespace Orion.Pmd.Transport;

/// <summary>
/// Serves one queue of the embedded device on the reactor that drives it, after the reactor's own queue poller: the
/// reactor places requests in the ring, then this poller pops them, hands them to the backend (a file through
/// io_uring) and publishes what the kernel finished, so one thread per queue does what SPDK's reactor does with its
/// io_uring bdev, and no second core spins for the device. Parks only when neither the ring nor the backend has work;
/// the backend signals the queue's call eventfd (a wake source of the reactor) when a request completes (io_uring: on
/// every completion; librbd: on the first one after <see cref="PrepareToPark"/> armed it), which is also why
/// it <see cref="WaitsOnKernel"/> while requests are in the kernel (<see cref="IdlePolicy.Hybrid"/> sleeps then).
/// </summary>
/// <remarks>
/// It also hosts the reactor's sleep (<see cref="IKernelSleepHost"/>): with only this queue's requests in the kernel the
/// reactor sleeps inside the queue's io_uring, the submission and the wait one system call, woken by the completion
/// itself rather than by the call eventfd's signal and a read of it.
/// </remarks>
internal sealed class InlineDevicePoller(SoftBlkDevice device, int queue, EventFd? completionSignal) : IKernelSleepHost
{
    /// <inheritdoc />
    public int Poll() => device.PollQueue(queue);

    /// <inheritdoc />
    /// <remarks>Arms the backend's wake-up (librbd signals the call eventfd only while the reactor sleeps).</remarks>
    public bool PrepareToPark() => device.PrepareQueueToPark(queue);

    /// <inheritdoc />
    public void Unparked() => device.QueueUnparked(queue);

    /// <inheritdoc />
    public bool WaitsOnKernel => device.QueueInFlightIo(queue) > 0;

    /// <inheritdoc />
    public EventFd? CompletionSignal => completionSignal;

    /// <inheritdoc />
    public bool SleepInKernel(EventFd wakeFd, int timeoutMs, out bool wakeFdReady) => device.SleepOnQueue(queue, wakeFd.Fd, timeoutMs, out wakeFdReady);

    /// <inheritdoc />
    public void SubmitDeferred() => device.SubmitQueue(queue);
}
