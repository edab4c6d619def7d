using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orion.Pmd.Engine.Volumes;
using Orion.Pmd.Virtio;

namespace Orion.Pmd.Engine.Audit;

/// <summary>
/// The stable event ids of the audit log (<see cref="EngineAudit"/>); each event's name is the constant's name.
/// Ids never change meaning; new events take new ids.
/// </summary>
public static class EngineAuditEvents
{
    /// <summary>A device was attached: the engine started on it.</summary>
    public const int DeviceAttached = 1000;
    /// <summary>A device was detached: the engine stopped and let go of it.</summary>
    public const int DeviceDetached = 1001;
    /// <summary>Feature negotiation finished: what the device offered and what the engine accepted.</summary>
    public const int FeaturesNegotiated = 1002;
    /// <summary>The whole device was reset.</summary>
    public const int DeviceReset = 1003;
    /// <summary>A device reset finished: the device serves again, with what became of the requests it held.</summary>
    public const int DeviceRecovered = 1004;
    /// <summary>The engine gave up on the device (a reset failed or resets made no progress): every request fails.</summary>
    public const int DeviceFailed = 1005;
    /// <summary>A queue takes new work again.</summary>
    public const int QueueEnabled = 1010;
    /// <summary>A queue stopped taking new work.</summary>
    public const int QueueDisabled = 1011;
    /// <summary>A queue was reset (VirtIO 1.2 per-queue reset) on the owner's request.</summary>
    public const int QueueReset = 1012;
    /// <summary>The vhost-user back-end went away (crashed or restarted); the engine is reconnecting.</summary>
    public const int BackendDisconnected = 1020;
    /// <summary>The engine reconnected to a restarted vhost-user back-end and resumed its queues.</summary>
    public const int BackendReconnected = 1021;
    /// <summary>The vhost-user back-end did not come back (or came back unusable): the device is lost.</summary>
    public const int BackendLost = 1022;
    /// <summary>A volume (an LBA range of the device) was created.</summary>
    public const int VolumeCreated = 1030;
    /// <summary>A volume was removed.</summary>
    public const int VolumeRemoved = 1031;
    /// <summary>A request was refused for lack of permission (a write to a read-only volume or device) or for leaving its volume.</summary>
    public const int AccessRefused = 1040;
}

/// <summary>
/// The engine's audit log: one structured event per administrative action (attach, detach, negotiation, queue and
/// device resets, queue enable/disable, reconnects, volumes) and per refused request, written through
/// Microsoft.Extensions.Logging under the category <see cref="CategoryName"/> with the ids of
/// <see cref="EngineAuditEvents"/>. The events are source-generated (<c>[LoggerMessage]</c>): with no logger
/// factory, or with the category disabled, a call costs one <c>IsEnabled</c> check and allocates nothing.
/// </summary>
public sealed partial class EngineAudit
{
    /// <summary>The logger category of every audit event.</summary>
    public const string CategoryName = "Orion.Pmd.Engine.Audit";

    private readonly ILogger _log;

    /// <summary>An audit log writing to <paramref name="loggerFactory"/>'s <see cref="CategoryName"/> logger; null logs nothing.</summary>
    public EngineAudit(ILoggerFactory? loggerFactory)
        => _log = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger(CategoryName);

    /// <summary>An audit log that logs nothing.</summary>
    public static EngineAudit None { get; } = new(null);

    /// <summary>Whether any audit event would be written.</summary>
    public bool IsEnabled => _log.IsEnabled(LogLevel.Information);

    /// <summary>The engine started on <paramref name="device"/> through <paramref name="transport"/> (<c>embedded</c> or <c>vhost-user</c>).</summary>
    public void DeviceAttached(string device, string transport, long blocks, int blockSize, int queues)
        => LogDeviceAttached(_log, device, transport, blocks, blockSize, queues);

    /// <summary>The engine stopped and let go of <paramref name="device"/>.</summary>
    public void DeviceDetached(string device, string transport) => LogDeviceDetached(_log, device, transport);

    /// <summary>Feature negotiation with <paramref name="device"/> finished.</summary>
    public void FeaturesNegotiated(string device, VirtioFeatures offered, VirtioFeatures accepted)
        => LogFeaturesNegotiated(_log, device, offered, accepted, offered & ~accepted);

    /// <summary>The whole device was reset; <paramref name="reason"/> says why (engine stop, recovery, ...).</summary>
    public void DeviceReset(string device, string reason) => LogDeviceReset(_log, device, reason);

    /// <summary>
    /// A device reset finished (reset number <paramref name="resets"/>): <paramref name="delivered"/> completions the
    /// device had published were delivered, <paramref name="resubmitted"/> requests placed again, <paramref name="failed"/> failed.
    /// </summary>
    public void DeviceRecovered(string device, int resets, TimeSpan elapsed, long delivered, long resubmitted, long failed)
        => LogDeviceRecovered(_log, device, resets, elapsed.TotalMilliseconds, delivered, resubmitted, failed);

    /// <summary>The engine gave up on <paramref name="device"/>; <paramref name="detail"/> says why.</summary>
    public void DeviceFailed(string device, string detail) => LogDeviceFailed(_log, device, detail);

    /// <summary>Queue <paramref name="queue"/> takes new work again.</summary>
    public void QueueEnabled(string device, int queue) => LogQueueEnabled(_log, device, queue);

    /// <summary>Queue <paramref name="queue"/> stopped taking new work.</summary>
    public void QueueDisabled(string device, int queue) => LogQueueDisabled(_log, device, queue);

    /// <summary>Queue <paramref name="queue"/> was reset on the owner's request.</summary>
    public void QueueReset(string device, int queue) => LogQueueReset(_log, device, queue);

    /// <summary>The vhost-user back-end behind <paramref name="device"/> went away; the engine is reconnecting.</summary>
    public void BackendDisconnected(string device) => LogBackendDisconnected(_log, device);

    /// <summary>The engine reconnected to the back-end behind <paramref name="device"/> (reconnect number <paramref name="reconnects"/>).</summary>
    public void BackendReconnected(string device, int reconnects, TimeSpan outage)
        => LogBackendReconnected(_log, device, reconnects, outage.TotalMilliseconds);

    /// <summary>The back-end behind <paramref name="device"/> is lost; <paramref name="detail"/> says why.</summary>
    public void BackendLost(string device, string detail) => LogBackendLost(_log, device, detail);

    /// <summary>A volume was created.</summary>
    public void VolumeCreated(string device, string volume, long firstLba, long blocks, VolumeAccess access)
        => LogVolumeCreated(_log, device, volume, firstLba, blocks, access);

    /// <summary>A volume was removed.</summary>
    public void VolumeRemoved(string device, string volume, long firstLba, long blocks)
        => LogVolumeRemoved(_log, device, volume, firstLba, blocks);

    /// <summary>
    /// A request was refused before it reached the device. <paramref name="volume"/> is the volume's name (or the
    /// device's description for the device itself), <paramref name="lba"/> and <paramref name="blocks"/> the range the
    /// caller asked for, relative to the volume, and <paramref name="reason"/> why it was refused.
    /// </summary>
    public void AccessRefused(string device, string volume, string operation, long lba, long blocks, string reason)
        => LogAccessRefused(_log, device, volume, operation, lba, blocks, reason);

    [LoggerMessage(EventId = EngineAuditEvents.DeviceAttached, EventName = nameof(EngineAuditEvents.DeviceAttached), Level = LogLevel.Information,
        Message = "device {Device} attached through {Transport}: {Blocks} blocks of {BlockSize} bytes, {Queues} queue(s)")]
    private static partial void LogDeviceAttached(ILogger logger, string device, string transport, long blocks, int blockSize, int queues);

    [LoggerMessage(EventId = EngineAuditEvents.DeviceDetached, EventName = nameof(EngineAuditEvents.DeviceDetached), Level = LogLevel.Information,
        Message = "device {Device} detached ({Transport})")]
    private static partial void LogDeviceDetached(ILogger logger, string device, string transport);

    [LoggerMessage(EventId = EngineAuditEvents.FeaturesNegotiated, EventName = nameof(EngineAuditEvents.FeaturesNegotiated), Level = LogLevel.Information,
        Message = "device {Device} negotiated features: offered {Offered}, accepted {Accepted}, declined {Declined}")]
    private static partial void LogFeaturesNegotiated(ILogger logger, string device, VirtioFeatures offered, VirtioFeatures accepted, VirtioFeatures declined);

    [LoggerMessage(EventId = EngineAuditEvents.DeviceReset, EventName = nameof(EngineAuditEvents.DeviceReset), Level = LogLevel.Information,
        Message = "device {Device} reset: {Reason}")]
    private static partial void LogDeviceReset(ILogger logger, string device, string reason);

    [LoggerMessage(EventId = EngineAuditEvents.DeviceRecovered, EventName = nameof(EngineAuditEvents.DeviceRecovered), Level = LogLevel.Information,
        Message = "device {Device} serves again after reset {Resets} ({ElapsedMs:0.###} ms): {Delivered} completion(s) delivered, {Resubmitted} request(s) placed again, {Failed} failed")]
    private static partial void LogDeviceRecovered(ILogger logger, string device, int resets, double elapsedMs, long delivered, long resubmitted, long failed);

    [LoggerMessage(EventId = EngineAuditEvents.DeviceFailed, EventName = nameof(EngineAuditEvents.DeviceFailed), Level = LogLevel.Error,
        Message = "device {Device} given up: {Detail}")]
    private static partial void LogDeviceFailed(ILogger logger, string device, string detail);

    [LoggerMessage(EventId = EngineAuditEvents.QueueEnabled, EventName = nameof(EngineAuditEvents.QueueEnabled), Level = LogLevel.Information,
        Message = "device {Device} queue {Queue} enabled")]
    private static partial void LogQueueEnabled(ILogger logger, string device, int queue);

    [LoggerMessage(EventId = EngineAuditEvents.QueueDisabled, EventName = nameof(EngineAuditEvents.QueueDisabled), Level = LogLevel.Information,
        Message = "device {Device} queue {Queue} disabled")]
    private static partial void LogQueueDisabled(ILogger logger, string device, int queue);

    [LoggerMessage(EventId = EngineAuditEvents.QueueReset, EventName = nameof(EngineAuditEvents.QueueReset), Level = LogLevel.Information,
        Message = "device {Device} queue {Queue} reset")]
    private static partial void LogQueueReset(ILogger logger, string device, int queue);

    [LoggerMessage(EventId = EngineAuditEvents.BackendDisconnected, EventName = nameof(EngineAuditEvents.BackendDisconnected), Level = LogLevel.Warning,
        Message = "device {Device}: the back-end went away; reconnecting")]
    private static partial void LogBackendDisconnected(ILogger logger, string device);

    [LoggerMessage(EventId = EngineAuditEvents.BackendReconnected, EventName = nameof(EngineAuditEvents.BackendReconnected), Level = LogLevel.Information,
        Message = "device {Device}: reconnected to the back-end (reconnect {Reconnects}, outage {OutageMs:0.#} ms)")]
    private static partial void LogBackendReconnected(ILogger logger, string device, int reconnects, double outageMs);

    [LoggerMessage(EventId = EngineAuditEvents.BackendLost, EventName = nameof(EngineAuditEvents.BackendLost), Level = LogLevel.Error,
        Message = "device {Device} lost: {Detail}")]
    private static partial void LogBackendLost(ILogger logger, string device, string detail);

    [LoggerMessage(EventId = EngineAuditEvents.VolumeCreated, EventName = nameof(EngineAuditEvents.VolumeCreated), Level = LogLevel.Information,
        Message = "device {Device}: volume {Volume} created over {Blocks} blocks from LBA {FirstLba}, {Access}")]
    private static partial void LogVolumeCreated(ILogger logger, string device, string volume, long firstLba, long blocks, VolumeAccess access);

    [LoggerMessage(EventId = EngineAuditEvents.VolumeRemoved, EventName = nameof(EngineAuditEvents.VolumeRemoved), Level = LogLevel.Information,
        Message = "device {Device}: volume {Volume} removed ({Blocks} blocks from LBA {FirstLba})")]
    private static partial void LogVolumeRemoved(ILogger logger, string device, string volume, long firstLba, long blocks);

    [LoggerMessage(EventId = EngineAuditEvents.AccessRefused, EventName = nameof(EngineAuditEvents.AccessRefused), Level = LogLevel.Warning,
        Message = "device {Device}: {Operation} of {Blocks} blocks at LBA {Lba} of {Volume} refused: {Reason}")]
    private static partial void LogAccessRefused(ILogger logger, string device, string volume, string operation, long lba, long blocks, string reason);
}
