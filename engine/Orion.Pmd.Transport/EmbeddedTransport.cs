using Orion.Pmd.Device;
using Orion.Pmd.Linux;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Memory;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Transport;

/// <summary>
/// Transport to the in-process software device. It only forwards the operations of the seam: the device gets the
/// memfds and guest addresses, as an external back-end would, and doorbells go through the kick eventfd when the
/// device sleeps on one.
/// </summary>
public sealed class EmbeddedTransport : IVirtioTransport, IInProcessDevice
{
    private readonly SoftBlkDevice _device;
    private EventFd?[] _kicks;

    /// <summary>Wraps <paramref name="device"/>, which the transport owns (<see cref="EmbeddedDevice.Start"/> builds one).</summary>
    public EmbeddedTransport(SoftBlkDevice device)
    {
        _device = device;
        _kicks = new EventFd?[device.NumQueues];
    }

    /// <summary>The device behind the transport (tests inspect it; the driver never does).</summary>
    internal SoftBlkDevice Device => _device;

    /// <summary>
    /// Whether the device runs no threads of its own (manual mode): then either the owner polls it
    /// (<see cref="PollDevice"/>) or each reactor serves its queue's device side (<see cref="CreateQueuePoller"/>).
    /// </summary>
    public bool HasNoThreads => _device.Options.Mode == DeviceServiceMode.Manual;

    /// <summary>
    /// A poller that serves queue <paramref name="queue"/>'s device side on the reactor that drives the queue (a device
    /// with <see cref="HasNoThreads"/> under real reactor threads); <paramref name="completionSignal"/> is the queue's
    /// call eventfd, which the kernel's completions signal.
    /// </summary>
    public Orion.Pmd.Reactors.IKernelSleepHost CreateQueuePoller(int queue, EventFd? completionSignal) => new InlineDevicePoller(_device, queue, completionSignal);

    /// <summary>
    /// The I/O engine a <c>file:</c> device fell back to when io_uring was refused (the backend's description of it),
    /// for the engine's warning; null when it uses io_uring or is not a file.
    /// </summary>
    public string? SynchronousFileIoEngine => _device.Backend is Orion.Pmd.Device.Backends.FileBackend { IoUringRefusal: not null } file ? file.IoEngine : null;

    /// <inheritdoc />
    public string Description => _device.IoEngine is { } io
        ? $"embedded {_device.Backend.Description} through {io}"
        : $"embedded {_device.Backend.Description}";
    /// <inheritdoc />
    public DeviceStatus GetStatus() => _device.Status;
    /// <inheritdoc />
    public void SetStatus(DeviceStatus status) => _device.SetStatus(status);
    /// <inheritdoc />
    public VirtioFeatures GetDeviceFeatures() => _device.OfferedFeatures;
    /// <inheritdoc />
    public void SetDriverFeatures(VirtioFeatures features) => _device.SetDriverFeatures(features);
    /// <inheritdoc />
    public int ConfigSize => _device.ConfigSize;
    /// <inheritdoc />
    public int ReadConfig(int offset, Span<byte> destination) => _device.ReadConfig(offset, destination);
    /// <inheritdoc />
    public void WriteConfig(int offset, ReadOnlySpan<byte> source) => _device.WriteConfig(offset, source);
    /// <inheritdoc />
    public int MaxQueues => _device.NumQueues;
    /// <inheritdoc />
    public int MaxQueueSize => _device.MaxQueueSize;
    /// <inheritdoc />
    public void SetMemoryTable(ReadOnlySpan<MemoryRegion> regions) => _device.SetMemoryTable(regions);

    /// <inheritdoc />
    public void SetupQueue(int index, int size, SplitRingAddresses addresses, EventFd? kick, EventFd? call)
    {
        _device.SetupQueue(index, size, addresses, kick, call);
        _kicks[index] = kick;
    }

    /// <inheritdoc />
    public void Notify(int index)
    {
        var kick = _kicks[index];
        if (kick is not null) kick.Signal();
        else _device.Notify(index);
    }

    /// <inheritdoc />
    public void ResetQueue(int index) => _device.ResetQueue(index);

    /// <inheritdoc />
    public bool QueueResetWaitsForRequests => true;     // the device drains its backend before it forgets the ring

    /// <inheritdoc />
    public bool FlushCoversEarlierWrites => _device.FlushCoversEarlierWrites;   // in-order execution, or the backend's own promise

    /// <inheritdoc />
    public void EnableQueue(int index) => _device.EnableQueue(index);

    /// <inheritdoc />
    public void ResetDevice() => _device.SetStatus(DeviceStatus.Reset);    // joins the device threads, unmaps its view of memory

    /// <inheritdoc />
    public int PollDevice() => _device.Poll();

    /// <inheritdoc />
    public long DeviceThreadAllocatedBytes => _device.DeviceThreadAllocatedBytes;

    /// <inheritdoc />
    public void Dispose()
    {
        _device.Dispose();
        _kicks = [];
    }
}
