namespace Orion.Pmd.Reactors;

/// <summary>What a reactor thread does after an iteration that found no work.</summary>
public enum IdlePolicy
{
    /// <summary>Loop again at once: lowest latency, one core at 100 %. For pinned production reactors.</summary>
    BusyPoll,

    /// <summary>
    /// Give the core away: <see cref="Thread.Yield"/> first, then Sleep(0) and finally Sleep(1) as the idle
    /// streak grows. For unpinned reactors and tests on machines with fewer cores than spinning threads. While a poller
    /// waits on the kernel (<see cref="IKernelWaitPoller"/>) it parks instead, until the completion wakes it: a Sleep(1)
    /// would add up to a millisecond to a disk I/O of tens of microseconds.
    /// </summary>
    Yield,

    /// <summary>
    /// Busy-poll while there is work; once idle for <see cref="ReactorOptions.ParkAfter"/>, sleep in poll(2) on
    /// the reactor's wake eventfd and its wake sources until a message, <see cref="Reactor.Wake"/> or a wake
    /// source arrives (or <see cref="ReactorOptions.MaxPark"/> passes). Near-zero CPU when idle, at the price of
    /// a wake-up (a few to tens of microseconds) on the first request after a quiet spell. A ParkAfter of zero
    /// parks at the first idle iteration: SPDK's and Seastar's "interrupt mode".
    /// </summary>
    Park,

    /// <summary>
    /// <see cref="Park"/> (busy-poll while there is work, park after <see cref="ReactorOptions.ParkAfter"/> of idling),
    /// except that an idle iteration which finds a poller waiting on the kernel (<see cref="IKernelWaitPoller.WaitsOnKernel"/>:
    /// file I/O submitted through io_uring) parks at once, until the kernel signals the completion (or a message or
    /// <see cref="Reactor.Wake"/> arrives). Requests to memory are still served by spinning; a disk's 20+ µs are slept
    /// through instead of spun through, leaving the core to the kernel and the hypervisor that do the I/O. An infinite
    /// ParkAfter never parks for idling alone.
    /// </summary>
    Hybrid,
}
