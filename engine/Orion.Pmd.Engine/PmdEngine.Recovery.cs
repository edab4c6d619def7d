using Orion.Pmd.Engine.Recovery;
using Orion.Pmd.Engine.Transport;
using Orion.Pmd.Engine.Transport.VhostUser;
using Orion.Pmd.Linux;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Engine;

/// <summary>
/// The engine's recovery API. Every recovery (a queue's own reset, the owner's queue reset, device resets, vhost-user
/// reconnects, escalation) is run by the <see cref="RecoveryCoordinator"/>, one at a time; this file keeps what the
/// device was initialized with, so that a reset device can be checked and set up again the same.
/// </summary>
public sealed partial class PmdEngine
{
    private NegotiatedFeatures _features;
    private BlkConfig _config;
    private VirtioFeatures _wanted, _required;
    private SplitRingAddresses[] _queueAreas = [];
    private EventFd?[] _queueKicks = [], _queueCalls = [];

    /// <summary>Whole-device resets done so far (explicit and automatic).</summary>
    public int DeviceResets => _recovery.DeviceResets;

    /// <summary>The last device reset: why, how long it took, and what became of the requests it found; null before the first.</summary>
    public string? LastDeviceReset => _recovery.LastDeviceReset;

    /// <summary>Why the engine gave up on the device (a reset failed: it came back different or not at all); null while it serves.</summary>
    public string? DeviceFailure => _recovery.DeviceFailure;

    /// <summary>How many times the engine reconnected to its device after losing it (vhost-user only).</summary>
    public int Reconnects => _recovery.Reconnects;

    /// <summary>The process serving the device when it is another process (a vhost-user back-end); null for the embedded device.</summary>
    public int? DeviceProcessId => (_transport as VhostUserTransport)?.BackEndProcessId;

    /// <summary>Whether the device went away and did not come back within the reconnect deadline.</summary>
    public bool DeviceLost => _recovery.DeviceLost;

    /// <summary>
    /// Resets the whole device and brings it back with the same features, disk and queues. Requests the device had
    /// completed are delivered; every other request in flight is placed once more, oldest first, on fresh rings (never
    /// completed twice); a request that was already placed twice fails with <see cref="Requests.IoStatus.QueueBroken"/>.
    /// Throws <see cref="IOException"/> when the device does not come back the same (features, capacity, block size or
    /// queue count changed): the engine then fails every request with <see cref="Requests.IoStatus.TransportLost"/>.
    /// Any thread but a reactor; in manual threading, the thread that polls.
    /// </summary>
    public void ResetDevice()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _recovery.ResetDevice();
    }

    /// <summary><see cref="ResetDevice"/> on a thread-pool thread; safe to call from a reactor (do not wait on it there).</summary>
    public Task ResetDeviceAsync() => Task.Run(ResetDevice);

    internal void ResetQueue(Queues.QueuePair pair, TimeSpan timeout) => _recovery.ResetQueue(pair, timeout);

    /// <summary>
    /// The initialization sequence again, on the device that was just reset: it must offer the same features, describe
    /// the same disk and serve the same queues, or the reset fails (a different device is not a reset one).
    /// </summary>
    internal void ReinitializeDevice()
    {
        var (features, config) = DeviceInitializer.Initialize(_transport, _wanted, _required);
        if (features.Accepted != _features.Accepted)
            throw new InvalidDataException($"{_transport.Description} came back from the reset with features {features.Accepted.Describe()} " +
                                           $"instead of {_features.Accepted.Describe()}");
        DeviceConfigValidator.Validate(features, config, _transport.Description, _transport.MaxQueueSize);
        if (config.Capacity != _config.Capacity || config.BlockSize != _config.BlockSize)
            throw new InvalidDataException($"{_transport.Description} came back from the reset as a different disk: {config.Capacity} sectors " +
                                           $"of {config.BlockSize} bytes instead of {_config.Capacity} of {_config.BlockSize}");
        int queues = features.Has(VirtioFeatures.BlkMultiQueue) ? config.NumQueues : 1;
        if (queues < Pairs.Length)
            throw new InvalidDataException($"{_transport.Description} came back from the reset with {queues} queue(s); the engine runs {Pairs.Length}");
        _transport.SetMemoryTable(_memory.Table.Regions);
        for (int q = 0; q < Pairs.Length; q++)
            _transport.SetupQueue(q, _options.QueueSize, _queueAreas[q], _queueKicks[q], _queueCalls[q]);
        _transport.SetStatus(DeviceStatus.Acknowledge | DeviceStatus.Driver | DeviceStatus.FeaturesOk | DeviceStatus.DriverOk);
        Device.RestoreWriteCacheMode();
    }
}
