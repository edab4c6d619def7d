using Orion.Pmd.Device;
using Orion.Pmd.Device.Backends;
using Orion.Pmd.Device.Backends.Rbd;

namespace Orion.Pmd.Transport;

/// <summary>
/// The embedded software device between choosing its backend and starting it: the engine first asks what the backend
/// prefers (<see cref="ServesBestOnReactors"/>, <see cref="BlockDevicePath"/>) to plan its cores, then
/// <see cref="Start"/>s the device behind an <see cref="EmbeddedTransport"/>. Owns the backend until then: disposing
/// an instance that was never started closes it.
/// </summary>
public sealed class EmbeddedDevice : IDisposable
{
    private readonly DeviceString _spec;
    private IBlockBackend? _backend;

    private EmbeddedDevice(DeviceString spec, IBlockBackend backend)
    {
        _spec = spec;
        _backend = backend;
    }

    /// <summary>
    /// Opens the backend <paramref name="spec"/> names (for <c>file:</c> this opens, and with <c>,size=</c> creates or
    /// extends, the file). Throws <see cref="ArgumentException"/> for a device that does not live in this process.
    /// </summary>
    public static EmbeddedDevice Prepare(DeviceString spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (!spec.IsEmbedded)
            throw new ArgumentException($"{spec} is not served by the embedded device (it names a device outside this process)", nameof(spec));
        return new EmbeddedDevice(spec, spec.CreateBackend());
    }

    /// <summary>
    /// Serves <paramref name="backend"/> (which this instance then owns) instead of the one <paramref name="spec"/>
    /// names, whose block size, read-only flag, latency and faults still apply: media the device strings cannot
    /// describe, such as a volatile cache that a power loss empties.
    /// </summary>
    public static EmbeddedDevice Prepare(DeviceString spec, IBlockBackend backend)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(backend);
        return new EmbeddedDevice(spec, backend);
    }

    /// <summary>
    /// Whether the backend is best served by the reactors themselves rather than device threads: a file through
    /// io_uring or an RBD image (their requests wait in the kernel or librbd, not on a CPU) with no injected latency
    /// or faults (which busy-wait or need a device thread's pace).
    /// </summary>
    public bool ServesBestOnReactors =>
        Backend is FileBackend { UsesIoUring: true } or RbdBackend && _spec.Faults is null && _spec.Delay == TimeSpan.Zero;

    /// <summary>The path of the file or block device behind the device (whose interrupts a sleeping reactor may follow); null for the other backends.</summary>
    public string? BlockDevicePath => Backend is FileBackend file ? file.Path : null;

    private IBlockBackend Backend => _backend ?? throw new ObjectDisposedException(nameof(EmbeddedDevice), "the device was started or disposed");

    /// <summary>Starts the device with <paramref name="settings"/>; the returned transport owns it (and the backend).</summary>
    public EmbeddedTransport Start(EmbeddedDeviceSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var backend = Backend;
        var options = new SoftBlkDeviceOptions
        {
            LogicalBlockSize = _spec.BlockSize,
            ReadOnly = _spec.ReadOnly,
            NumQueues = settings.Queues,
            MaxQueueSize = settings.MaxQueueSize,
            OfferedFeatures = settings.OfferedFeatures,
            Mode = settings.Mode switch
            {
                EmbeddedDeviceMode.KickDriven => DeviceServiceMode.KickDriven,
                EmbeddedDeviceMode.Adaptive => DeviceServiceMode.Adaptive,
                EmbeddedDeviceMode.Manual => DeviceServiceMode.Manual,
                _ => DeviceServiceMode.Polled,
            },
            AdaptiveSleepAfter = settings.AdaptiveSleepAfter,
            Threads = settings.Threads,
            Cores = settings.Cores,
            YieldWhenIdle = settings.YieldWhenIdle,
            InjectedLatency = _spec.Delay,
            Faults = _spec.Faults,
            WriteCache = _spec.WriteCache,
        };
        _backend = null;
        SoftBlkDevice device;
        try { device = new SoftBlkDevice(backend, options); }
        catch { backend.Dispose(); throw; }
        return new EmbeddedTransport(device);
    }

    /// <summary>Closes the backend if the device was never started.</summary>
    public void Dispose()
    {
        _backend?.Dispose();
        _backend = null;
    }
}
