using Orion.Pmd.Engine.Transport;
using Orion.Pmd.Linux;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Memory;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Testing;

/// <summary>
/// A transport that forwards every operation to another one; a test double overrides only what it changes (a
/// patched configuration, a refused reset, a stalled device). Owns and disposes the inner transport. Manual polling
/// (<see cref="IInProcessDevice"/>) goes to the inner transport when it has a side in this process, and does nothing otherwise.
/// </summary>
public class DelegatingTransport(IVirtioTransport inner) : IVirtioTransport, IInProcessDevice
{
    /// <summary>The transport every operation goes to.</summary>
    protected IVirtioTransport Inner => inner;

    /// <inheritdoc />
    public virtual string Description => inner.Description;
    /// <inheritdoc />
    public virtual DeviceStatus GetStatus() => inner.GetStatus();
    /// <inheritdoc />
    public virtual void SetStatus(DeviceStatus status) => inner.SetStatus(status);
    /// <inheritdoc />
    public virtual VirtioFeatures GetDeviceFeatures() => inner.GetDeviceFeatures();
    /// <inheritdoc />
    public virtual void SetDriverFeatures(VirtioFeatures features) => inner.SetDriverFeatures(features);
    /// <inheritdoc />
    public virtual int ConfigSize => inner.ConfigSize;
    /// <inheritdoc />
    public virtual int ReadConfig(int offset, Span<byte> destination) => inner.ReadConfig(offset, destination);
    /// <inheritdoc />
    public virtual void WriteConfig(int offset, ReadOnlySpan<byte> source) => inner.WriteConfig(offset, source);
    /// <inheritdoc />
    public virtual int MaxQueues => inner.MaxQueues;
    /// <inheritdoc />
    public virtual int MaxQueueSize => inner.MaxQueueSize;
    /// <inheritdoc />
    public virtual void SetMemoryTable(ReadOnlySpan<MemoryRegion> regions) => inner.SetMemoryTable(regions);
    /// <inheritdoc />
    public virtual void SetupQueue(int index, int size, SplitRingAddresses addresses, EventFd? kick, EventFd? call)
        => inner.SetupQueue(index, size, addresses, kick, call);
    /// <inheritdoc />
    public virtual void Notify(int index) => inner.Notify(index);
    /// <inheritdoc />
    public virtual void ResetQueue(int index) => inner.ResetQueue(index);
    /// <inheritdoc />
    public virtual bool QueueResetWaitsForRequests => inner.QueueResetWaitsForRequests;
    /// <inheritdoc />
    public virtual void EnableQueue(int index) => inner.EnableQueue(index);
    /// <inheritdoc />
    public virtual void ResetDevice() => inner.ResetDevice();
    /// <inheritdoc />
    public virtual int PollDevice() => (inner as IInProcessDevice)?.PollDevice() ?? 0;
    /// <inheritdoc />
    public virtual long DeviceThreadAllocatedBytes => (inner as IInProcessDevice)?.DeviceThreadAllocatedBytes ?? 0;

    /// <summary>Disposes the inner transport.</summary>
    public void Dispose()
    {
        inner.Dispose();
        GC.SuppressFinalize(this);
    }
}
