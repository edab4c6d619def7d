using Orion.Pmd.Linux;

namespace Orion.Pmd.Reactors;

/// <summary>
/// A kernel-wait poller that can host the reactor's sleep inside the kernel: it hands over what it has prepared and
/// waits in one system call until one of its requests completes or the reactor's wake eventfd polls readable — as fio's
/// io_uring engine waits in <c>io_uring_enter(GETEVENTS)</c>. Compared with poll(2) on the completion eventfd it spares
/// every completion the eventfd's signal and the reactor a read of it per wake-up, and the submission and the wait
/// become one call.
/// </summary>
/// <remarks>
/// The reactor lets a host sleep for it only when the host is the one poller waiting on the kernel and the reactor's
/// wake sources are at most the host's own <see cref="CompletionSignal"/> (which the host's completions would signal
/// anyway); otherwise it calls <see cref="SubmitDeferred"/> and sleeps in poll(2). All members run on the reactor
/// thread, between <see cref="IParkablePoller.PrepareToPark"/> and <see cref="IParkablePoller.Unparked"/>.
/// </remarks>
public interface IKernelSleepHost : IKernelWaitPoller
{
    /// <summary>The eventfd the kernel signals for this poller's completions (a wake source of the reactor), or null.</summary>
    EventFd? CompletionSignal { get; }

    /// <summary>
    /// Hands over what this poller deferred and sleeps until one of its requests completes, <paramref name="wakeFd"/>
    /// polls readable, or <paramref name="timeoutMs"/> (-1: no bound) passes. False when it cannot host the sleep
    /// now (nothing was waited for; the reactor sleeps in poll(2) instead). <paramref name="wakeFdReady"/> says that
    /// <paramref name="wakeFd"/> was found readable (the reactor resets it).
    /// </summary>
    bool SleepInKernel(EventFd wakeFd, int timeoutMs, out bool wakeFdReady);

    /// <summary>
    /// Hands over to the kernel what this poller deferred for a sleep inside it, and defers nothing more until the next
    /// <see cref="SleepInKernel"/>: the reactor sleeps elsewhere (poll(2)) or was switched to busy polling and will not
    /// sleep at all.
    /// </summary>
    void SubmitDeferred();
}
