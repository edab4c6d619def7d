namespace Orion.Pmd.Engine.Requests;

/// <summary>How a request ended. The first three values are the virtio-blk status byte; the rest are the engine's.</summary>
public enum IoStatus : byte
{
    /// <summary>The device completed the request.</summary>
    Ok = 0,
    /// <summary>The device reported an I/O error (out of range, misaligned, media error, write to a read-only device).</summary>
    IoError = 1,
    /// <summary>The device does not support the request type.</summary>
    Unsupported = 2,
    /// <summary>The queue latched broken (the device wrote something inconsistent); the request's outcome is unknown.</summary>
    QueueBroken = 0x80,
    /// <summary>
    /// The engine stopped before the request completed: it never reached the device, or the device still held it
    /// when <see cref="EngineOptions.DrainTimeout"/> ran out (the message says which; such a request may or may not
    /// have reached the medium). Either way the device was stopped first and no longer touches its buffers.
    /// </summary>
    Aborted = 0x81,
    /// <summary>The device wrote a status byte outside the specification or no status at all.</summary>
    BadStatus = 0x82,
    /// <summary>
    /// The device went away (a vhost-user back-end died) and did not come back within the reconnect deadline; the
    /// request may or may not have reached the medium.
    /// </summary>
    TransportLost = 0x83,
    /// <summary>The device did not complete the request within <see cref="EngineOptions.RequestTimeout"/>; its queue was reset.</summary>
    TimedOut = 0x84,
    /// <summary>
    /// The caller's <see cref="CancellationToken"/> fired while the request still waited for the ring: it never
    /// reached the device. (A request the device already has cannot be withdrawn and ends with the device's status.)
    /// The awaitable form throws <see cref="OperationCanceledException"/> for it.
    /// </summary>
    Canceled = 0x85,
}

/// <summary>Receives completions of the callback (reactor) form. Called on the reactor thread; must not block.</summary>
public interface IBlockCompletion
{
    /// <summary>A request submitted with <paramref name="tag"/> ended with <paramref name="status"/>.</summary>
    void OnCompleted(long tag, IoStatus status);
}

/// <summary>A request the device (or the engine) failed.</summary>
public sealed class BlockDeviceException : IOException
{
    /// <summary>Creates the exception.</summary>
    public BlockDeviceException(IoStatus status, string message) : base(message) => Status = status;

    /// <summary>How the request ended.</summary>
    public IoStatus Status { get; }
}
