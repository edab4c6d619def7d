using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Orion.Pmd.Engine.Diagnostics;

/// <summary>
/// The engine's operational log (category <see cref="CategoryName"/>, beside the audit log): conditions an embedder
/// should know about because they cost performance or lose a queue, each written once per engine (a queue's fault
/// once per queue) so that it can never flood a log.
/// Source-generated; with no logger factory a call costs one <c>IsEnabled</c> check.
/// </summary>
internal sealed partial class EngineLog
{
    public const string CategoryName = "Orion.Pmd.Engine";

    private readonly ILogger _log;
    private int _bounceReported;
    private int _callbackFaultReported;

    public EngineLog(ILoggerFactory? loggerFactory) => _log = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger(CategoryName);

    public static EngineLog None { get; } = new(null);

    /// <summary>Pinning was asked for but the reactors run unpinned (too few allowed cores).</summary>
    public void RunningUnpinned(string device, int queues, int deviceThreads, int allowedCores)
        => LogRunningUnpinned(_log, device, queues, deviceThreads, allowedCores);

    /// <summary>The first request from memory the pool did not give out: it was copied through a bounce buffer.</summary>
    public void FirstBounce(string device, string what, int bytes)
    {
        if (Interlocked.Exchange(ref _bounceReported, 1) == 0) LogFirstBounce(_log, device, what, bytes);
    }

    /// <summary>A file device serves requests synchronously because the kernel refused io_uring (said once per engine, at start).</summary>
    public void SynchronousFileIo(string device, string ioEngine) => LogSynchronousFileIo(_log, device, ioEngine);

    /// <summary>The first exception a user's completion callback threw (each is counted; only the first is said).</summary>
    public void CallbackFault(string device, int queue, long tag, Exception error)
    {
        if (Interlocked.Exchange(ref _callbackFaultReported, 1) == 0) LogCallbackFault(_log, error, device, queue, tag, error.Message);
    }

    /// <summary>Something escaped a queue's poller: the queue now fails its requests (said every time; it ends a queue).</summary>
    public void PollerFaulted(string device, int queue, Exception error) => LogPollerFaulted(_log, error, device, queue, error.Message);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Error,
        Message = "{Device}: queue {Queue}: an IBlockCompletion.OnCompleted callback threw for the request with tag {Tag}: {Error}. The exception was caught and the queue went on; QueueCounters.CallbackFaults counts every such exception and BlockQueue.FirstCallbackFault/LastCallbackFault keep them (this is said once).")]
    private static partial void LogCallbackFault(ILogger logger, Exception exception, string device, int queue, long tag, string error);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Error,
        Message = "{Device}: queue {Queue} stopped: its reactor's poller threw: {Error}. Its requests fail with QueueBroken from now on; restart the engine to use the queue again.")]
    private static partial void LogPollerFaulted(ILogger logger, Exception exception, string device, int queue, string error);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning,
        Message = "{Device}: requests are served by {IoEngine}: one request at a time per queue, whatever the queue depth. Allow io_uring (kernel.io_uring_disabled = 0, no seccomp filter on io_uring_setup) for requests in flight in the kernel.")]
    private static partial void LogSynchronousFileIo(ILogger logger, string device, string ioEngine);

    [LoggerMessage(EventId = 2000, Level = LogLevel.Warning,
        Message = "{Device}: reactors run unpinned and yield when idle: {Queues} queue(s) and {DeviceThreads} device thread(s) need that many cores, {AllowedCores} are allowed. Latency will be higher and less steady; give the process more cores or set Pin = false to silence this.")]
    private static partial void LogRunningUnpinned(ILogger logger, string device, int queues, int deviceThreads, int allowedCores);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning,
        Message = "{Device}: a {What} of {Bytes} bytes used memory not rented from BlockDevice.Rent, so it was copied through a bounce buffer. Rent DMA buffers for zero-copy I/O (QueueCounters.Bounces counts every such request; this is said once).")]
    private static partial void LogFirstBounce(ILogger logger, string device, string what, int bytes);
}
