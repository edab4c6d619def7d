using Orion.Pmd.Linux;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Memory;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Transport;

/// <summary>
/// The seam between the driver and any device, in the spirit of SPDK's <c>virtio_dev_ops</c>: the embedded
/// device, vhost-user and virtio-pci all sit behind it. The driver never reaches a device another way. A device that
/// lives in this process and can be polled by hand also implements <see cref="IInProcessDevice"/>; the others need not.
/// </summary>
public interface IVirtioTransport : IDisposable
{
    /// <summary>What the transport is connected to, for reports.</summary>
    string Description { get; }

    /// <summary>Reads the device status field.</summary>
    DeviceStatus GetStatus();

    /// <summary>Writes the device status field (0 resets the device).</summary>
    void SetStatus(DeviceStatus status);

    /// <summary>Reads the features the device offers.</summary>
    VirtioFeatures GetDeviceFeatures();

    /// <summary>Writes the features the driver accepted.</summary>
    void SetDriverFeatures(VirtioFeatures features);

    /// <summary>Bytes of configuration space the device serves.</summary>
    int ConfigSize { get; }

    /// <summary>Reads configuration space at <paramref name="offset"/>; returns the bytes read.</summary>
    int ReadConfig(int offset, Span<byte> destination);

    /// <summary>Writes configuration space at <paramref name="offset"/> (only fields the device documents as writable).</summary>
    void WriteConfig(int offset, ReadOnlySpan<byte> source);

    /// <summary>Number of request queues the device can serve.</summary>
    int MaxQueues { get; }

    /// <summary>Largest queue size the device accepts.</summary>
    int MaxQueueSize { get; }

    /// <summary>Registers the memory the device may touch (every region carries its memfd).</summary>
    void SetMemoryTable(ReadOnlySpan<MemoryRegion> regions);

    /// <summary>Sets up a split queue: size, guest addresses of its parts, and the kick and call eventfds (either may be null).</summary>
    void SetupQueue(int index, int size, SplitRingAddresses addresses, EventFd? kick, EventFd? call);

    /// <summary>
    /// Rings the doorbell of queue <paramref name="index"/>. Called at most once per batch, and only when the
    /// device asked for it; it is the one syscall on the data path.
    /// </summary>
    void Notify(int index);

    /// <summary>VirtIO 1.2 per-queue reset, step one: the device stops using the queue and forgets its ring state.</summary>
    void ResetQueue(int index);

    /// <summary>
    /// Whether <see cref="ResetQueue"/> returns only once the device finished every request it took from the ring, so
    /// the ring and the requests' buffers may be reused at once. True for the embedded device (it drains its backend
    /// first); false for vhost-user, where GET_VRING_BASE does not wait for requests the back-end still executes
    /// (libvhost-user's <c>vu_get_vring_base_exec</c>; qemu-storage-daemon's blk export completes them later with
    /// <c>vu_queue_push</c>, into whatever ring is there): such a queue is recovered by <see cref="ResetDevice"/> instead.
    /// </summary>
    bool QueueResetWaitsForRequests { get; }

    /// <summary>
    /// Whether a FLUSH also covers every write made available before it on the same queue, completed or not — more than
    /// VirtIO promises (§5.2.6.2: only writes completed before the flush was made available). When true the driver may
    /// place a write and the flush that makes it durable together, one round trip instead of two
    /// (the engine's <c>BlockDevice.WriteDurableAsync</c>). The embedded device keeps this promise (it executes a queue's
    /// requests in order, and sends a flush to io_uring drained behind the writes before it); a back-end behind
    /// vhost-user or PCI is not assumed to.
    /// </summary>
    bool FlushCoversEarlierWrites => false;

    /// <summary>Step two, after the driver re-initialized its rings at the same addresses: the device serves the queue again from index 0.</summary>
    void EnableQueue(int index);

    /// <summary>
    /// Resets the whole device (VirtIO device status 0) and returns once it touches none of the driver's rings or
    /// buffers: the embedded device joins its threads (and drains its backend); a vhost-user back-end is reconnected —
    /// the connection dropped and opened again, which returns once the back-end answers the new one, and
    /// qemu-storage-daemon and orion-vhost answer a new connection only after the old one's requests finished and its
    /// memory was unmapped (libvhost-user back-ends offer no RESET_DEVICE, and GET_VRING_BASE does not wait for them).
    /// Completions the device published before stay in the used rings for the driver to reap. The driver then runs
    /// initialization again (status, features, memory table, queues, DRIVER_OK) through the other operations.
    /// </summary>
    void ResetDevice();
}
