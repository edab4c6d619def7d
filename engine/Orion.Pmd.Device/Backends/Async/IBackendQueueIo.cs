using Orion.Pmd.Device.Execution;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Device.Backends.Async;

/// <summary>
/// A backend that can serve a device queue asynchronously: many requests in flight, completions reaped later and in
/// any order (the file backend through io_uring).
/// </summary>
public interface IAsyncBlockBackend : IBlockBackend
{
    /// <summary>
    /// Opens an asynchronous channel for one device queue with up to <paramref name="depth"/> requests in flight, each
    /// of up to <paramref name="maxSegments"/> buffers; backend failures are counted on <paramref name="executor"/>.
    /// Returns null when this backend serves requests synchronously (the kernel refused io_uring, or it was turned off),
    /// and the device then executes every request on its thread as before.
    /// </summary>
    /// <param name="depth">Most requests in flight.</param>
    /// <param name="maxSegments">Most buffers one request has.</param>
    /// <param name="executor">Counts backend failures.</param>
    /// <param name="memory">
    /// The device's mappings of guest memory (host address and length), registered with the kernel as fixed buffers
    /// where they fit its limits, so single-buffer transfers skip pinning pages per I/O; empty registers nothing.
    /// </param>
    IBackendQueueIo? OpenQueueIo(int depth, int maxSegments, BlkRequestExecutor executor, ReadOnlySpan<(nint Address, nuint Length)> memory = default);

    /// <summary>Which I/O engine serves requests and, for the synchronous one, why (for reports and logs).</summary>
    string IoEngine { get; }

    /// <summary>
    /// Whether a FLUSH it serves also covers the writes of the same queue still in flight when the flush arrived (the
    /// device's promise behind <c>IVirtioTransport.FlushCoversEarlierWrites</c>). False unless the backend says so.
    /// </summary>
    bool FlushCoversEarlierWrites => false;
}

/// <summary>
/// One device queue's asynchronous channel to its backend. Owned by the queue's device thread; after that thread stopped
/// touching it (a pause handshake, or the thread joined) another thread may <see cref="Drain"/> and dispose it.
/// </summary>
/// <remarks>
/// The device thread pops each chain into <see cref="NextChain"/>, asks <see cref="TryStart"/> to send it to the
/// kernel (false: it must be executed synchronously, e.g. a buffer not aligned for O_DIRECT), calls <see cref="Submit"/>
/// once per pass, and <see cref="Reap"/> pushes what finished to the used ring. Guest memory named by a request in
/// flight may be written by the kernel until its completion is reaped, so nothing may unmap that memory, rebuild the
/// ring or let the driver reuse the buffers while <see cref="InFlight"/> is above zero: <see cref="Drain"/> first.
/// </remarks>
public interface IBackendQueueIo : IDisposable
{
    /// <summary>Whether another request can be started now.</summary>
    bool HasFreeSlot { get; }

    /// <summary>The chain object the next request is popped into (valid while <see cref="HasFreeSlot"/>).</summary>
    DescriptorChain NextChain { get; }

    /// <summary>
    /// Starts <paramref name="plan"/> for the chain in <see cref="NextChain"/>. False when this channel cannot carry the
    /// request (unaligned buffers for direct I/O, submission queue full): the caller then executes it synchronously.
    /// </summary>
    bool TryStart(in PlannedIo plan);

    /// <summary>
    /// Whether <see cref="TryStart"/> takes one-range discard and write-zeroes requests too (librbd does them
    /// asynchronously); false (io_uring over a file) leaves them to the synchronous path.
    /// </summary>
    bool CarriesRanges => false;

    /// <summary>Hands what was started (and resubmitted) to the kernel: one system call, none when nothing is due.</summary>
    int Submit();

    /// <summary>
    /// Completes every finished request: status byte, used element in <paramref name="ring"/>; short transfers and
    /// transient errors go back to the kernel for the rest. Returns the requests completed (not yet published).
    /// </summary>
    int Reap(IDeviceQueue ring);

    /// <summary>Requests the kernel may still be working on.</summary>
    int InFlight { get; }

    /// <summary>A file descriptor that polls readable when a completion is ready (to sleep on beside the kick eventfd).</summary>
    int CompletionFd { get; }

    /// <summary>Whether <see cref="Reap"/> would find a finished request now (no system call).</summary>
    bool HasCompletions { get; }

    /// <summary>
    /// Called by the owner just before it sleeps on <see cref="CompletionFd"/> (or on the eventfd given to
    /// <see cref="SignalCompletionsTo"/>): from now until <see cref="Woke"/>, the next completion signals it. False when a
    /// completion is already waiting, so the owner must not sleep. A channel whose completions signal whether or not
    /// anyone sleeps (io_uring: the kernel signals every completion) only answers whether one is waiting.
    /// </summary>
    bool PrepareToSleep() => !HasCompletions;

    /// <summary>
    /// Called by the owner after a sleep that <see cref="PrepareToSleep"/> allowed; <paramref name="completionFdReadable"/>:
    /// the sleep found <see cref="CompletionFd"/> readable (the channel then resets it).
    /// </summary>
    void Woke(bool completionFdReadable) { }

    /// <summary>
    /// Has the kernel signal <paramref name="eventFd"/> whenever a request completes, so a thread that sleeps on that
    /// eventfd (a reactor serving the device's queue itself) wakes for completions too.
    /// </summary>
    void SignalCompletionsTo(Orion.Pmd.Linux.EventFd eventFd);

    /// <summary>
    /// Waits until nothing is in flight, cancelling what is left after <paramref name="cancelAfter"/>, and waiting at
    /// most <paramref name="grace"/> more for the cancelled requests. Completions are pushed to <paramref name="ring"/>
    /// (the caller publishes them), or dropped when it is null (a broken ring, or one the driver is rebuilding). True:
    /// the kernel holds no reference to guest memory any more. False: some requests neither completed nor ended when
    /// cancelled (<see cref="InFlight"/> says how many); the kernel may still write the memory they name, so the caller
    /// must keep it mapped, never hand it back and never dispose this channel (which would free what the kernel reads).
    /// </summary>
    bool Drain(IDeviceQueue? ring, TimeSpan cancelAfter, TimeSpan grace);

    /// <summary>Counters: requests started, short transfers resubmitted, requests that fell back to the synchronous path.</summary>
    QueueIoCounters Counters { get; }

    /// <summary>Requests prepared and not yet handed to the kernel (<see cref="Submit"/> hands them over).</summary>
    int Unsubmitted => 0;

    /// <summary>
    /// Hands over what is prepared and sleeps in the kernel until a request completes, <paramref name="wakeFd"/> polls
    /// readable or <paramref name="timeoutMs"/> (-1: no bound) passes — the owner's sleep in one system call. False when
    /// this channel cannot (nothing was waited for). <paramref name="wakeFdReady"/>: <paramref name="wakeFd"/> was
    /// found readable (the caller resets it).
    /// </summary>
    bool SleepInKernel(int wakeFd, int timeoutMs, out bool wakeFdReady)
    {
        wakeFdReady = false;
        return false;
    }
}

/// <summary>An asynchronous channel's counters.</summary>
/// <param name="Started">Requests handed to the kernel.</param>
/// <param name="Resubmitted">Short transfers and transient errors (EAGAIN, EINTR) sent again for the rest.</param>
/// <param name="Fallbacks">Requests the channel could not carry (unaligned for O_DIRECT, submission queue full), served synchronously.</param>
/// <param name="Canceled">Requests cancelled by a drain that ran past its bound.</param>
/// <param name="OrderedFlushes">Flushes sent to wait behind writes still in the kernel (made available before them), so that they cover those too.</param>
/// <param name="LinkedFlushes">Of those, flushes handed to the kernel linked behind their one write in the same submission (IOSQE_IO_LINK), rather than held until it completed.</param>
/// <param name="Wakeups">
/// Completions that signalled the owner's eventfd because it slept (or was about to) — a system call on the
/// completing thread and a wake-up of the owner each; completions reaped by a thread that polls signal nothing
/// (counted by channels whose signals the channel itself sends: librbd's).
/// </param>
public readonly record struct QueueIoCounters(long Started, long Resubmitted, long Fallbacks, long Canceled, long OrderedFlushes = 0, long LinkedFlushes = 0, long Wakeups = 0);
