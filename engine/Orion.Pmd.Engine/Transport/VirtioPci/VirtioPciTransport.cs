using Orion.Pmd.Linux;
using Orion.Pmd.Linux.Vfio;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Memory;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Engine.Transport.VirtioPci;

/// <summary>
/// The engine's transport to a modern virtio-blk PCI function through VFIO (<c>virtio-pci:0000:00:03.0</c>), the way a
/// driver inside a virtual machine meets one, as SPDK's virtio-pci mode and libblkio's virtio-blk-vfio-pci do. The
/// engine's memory regions are mapped for the device with VFIO_IOMMU_MAP_DMA at the device addresses the engine
/// already uses (the IOMMU translates them), queues are set up through the common configuration, doorbells are one
/// store into the notification area, and in interrupt and adaptive modes each queue's MSI-X vector signals the
/// queue's call eventfd; in polled mode no vector is wired. Stop resets the device, turns MSI-X off, unmaps the DMA
/// and closes the device, group and container; if the process dies the kernel does the same, and the next open
/// resets the function (VFIO_DEVICE_RESET).
/// </summary>
public sealed class VirtioPciTransport : IVirtioTransport
{
    private readonly VfioPciFunction _pci;
    private readonly VirtioPciFunction _virtio;
    private readonly bool _interrupts;
    private readonly int _vectors;
    private readonly VirtioFeatures _offered;
    private (ulong Iova, ulong Length, nint Host)[] _mapped = [];
    private bool _msixEnabled;
    private bool _disposed;

    private VirtioPciTransport(VfioPciFunction pci, bool interrupts)
    {
        _pci = pci;
        _virtio = new VirtioPciFunction(pci);
        _virtio.Reset();
        _offered = _virtio.GetDeviceFeatures();
        if (!_offered.HasFlag(VirtioFeatures.Version1))
            throw new NotSupportedException($"{pci.Address} does not offer VIRTIO_F_VERSION_1: Orion drives VirtIO 1.x devices only (in QEMU: disable-legacy=on)");
        // Without ACCESS_PLATFORM the device bypasses the IOMMU and takes ring addresses as physical ones: the
        // I/O virtual addresses mapped here would be read as the wrong memory.
        if (!_offered.HasFlag(VirtioFeatures.AccessPlatform))
            throw new NotSupportedException($"{pci.Address} does not offer VIRTIO_F_ACCESS_PLATFORM, so it would bypass the IOMMU that VFIO programs " +
                                            "and DMA to physical addresses; give the device iommu_platform=on (QEMU: -device virtio-blk-pci,...,iommu_platform=on)");
        MaxQueues = _virtio.NumQueues;
        if (MaxQueues < 1 || MaxQueues > 1024)
            throw new NotSupportedException($"{pci.Address} reports {MaxQueues} queues (1 to 1024 make sense)");
        MaxQueueSize = _virtio.MaxQueueSize(0);
        if (MaxQueueSize < 1) throw new NotSupportedException($"{pci.Address} reports queue 0 with size 0 (no queue)");
        _interrupts = interrupts;
        _vectors = interrupts ? pci.Device.IrqVectors(VfioDevice.PciMsixIrq) : 0;
        if (interrupts && _vectors == 0)
            throw new NotSupportedException($"{pci.Address} has no MSI-X vectors VFIO can signal: use the polled mode (Notifications = Polled)");
    }

    /// <summary>
    /// Opens the function at <paramref name="address"/> through VFIO and checks it is a usable modern virtio-blk
    /// device; with <paramref name="interrupts"/> its MSI-X vectors are wired to the queues' call eventfds.
    /// </summary>
    public static VirtioPciTransport Open(string address, bool interrupts)
    {
        var pci = new VfioPciFunction(address);
        try { return new VirtioPciTransport(pci, interrupts); }
        catch
        {
            pci.Dispose();
            throw;
        }
    }

    /// <summary>The PCI address.</summary>
    public string Address => _pci.Address;

    /// <summary>Whether the queues' MSI-X vectors are wired (interrupt, adaptive and hybrid modes).</summary>
    public bool Interrupts => _interrupts;

    /// <summary>Bytes of the engine's memory mapped for the device's DMA now.</summary>
    public ulong DmaMappedBytes => _pci.Device.Container.MappedBytes;

    /// <inheritdoc />
    public string Description => $"virtio-pci {_pci.Address} through VFIO (IOMMU group {_pci.Device.Group})";

    /// <inheritdoc />
    public DeviceStatus GetStatus() => _virtio.GetStatus();

    /// <inheritdoc />
    public void SetStatus(DeviceStatus status) => _virtio.SetStatus(status);

    /// <inheritdoc />
    public VirtioFeatures GetDeviceFeatures() => _offered;

    /// <inheritdoc />
    /// <remarks>ACCESS_PLATFORM is the transport's own: the device must translate every address through the IOMMU.</remarks>
    public void SetDriverFeatures(VirtioFeatures features) => _virtio.SetDriverFeatures(features | VirtioFeatures.AccessPlatform);

    /// <inheritdoc />
    public int ConfigSize => _virtio.ConfigSize;

    /// <inheritdoc />
    public int ReadConfig(int offset, Span<byte> destination) => _virtio.ReadConfig(offset, destination);

    /// <inheritdoc />
    public void WriteConfig(int offset, ReadOnlySpan<byte> source) => _virtio.WriteConfig(offset, source);

    /// <inheritdoc />
    public int MaxQueues { get; }

    /// <inheritdoc />
    public int MaxQueueSize { get; }

    /// <inheritdoc />
    /// <remarks>
    /// Each region is mapped at I/O virtual address = its guest address, so the rings and buffers the engine lays out
    /// are reached by the device at the addresses the engine writes into them. Setting the same table again (after a
    /// device reset) keeps the mappings.
    /// </remarks>
    public void SetMemoryTable(ReadOnlySpan<MemoryRegion> regions)
    {
        var wanted = new (ulong, ulong, nint)[regions.Length];
        for (int i = 0; i < regions.Length; i++) wanted[i] = (regions[i].GuestAddress, regions[i].Length, regions[i].Host);
        if (wanted.AsSpan().SequenceEqual(_mapped)) return;
        var container = _pci.Device.Container;
        foreach (var (iova, _, _) in _mapped) container.UnmapDma(iova);
        _mapped = [];
        foreach (var (iova, length, host) in wanted) container.MapDma(host, iova, (length + 4095) & ~4095UL);
        _mapped = wanted;
    }

    /// <inheritdoc />
    /// <remarks>
    /// The kick eventfd is not used: the doorbell is a store into the device's notification area. With interrupts,
    /// queue <paramref name="index"/>'s MSI-X vector <paramref name="index"/> signals <paramref name="call"/>.
    /// </remarks>
    public void SetupQueue(int index, int size, SplitRingAddresses addresses, EventFd? kick, EventFd? call)
    {
        ushort vector = VirtioPciCommonConfig.NoVector;
        if (_interrupts && call is not null)
        {
            if (index >= _vectors)
                throw new NotSupportedException($"{_pci.Address} has {_vectors} MSI-X vectors; queue {index} needs one of its own in interrupt mode: use fewer queues or the polled mode");
            if (!_msixEnabled)
            {
                // MSI-X is enabled with all its vectors at once (the kernel cannot grow them later), none wired yet.
                var none = new int[_vectors];
                Array.Fill(none, -1);
                _pci.Device.SetIrqEventFds(VfioDevice.PciMsixIrq, 0, none);
                _msixEnabled = true;
            }
            _pci.Device.SetIrqEventFds(VfioDevice.PciMsixIrq, index, [call.Fd]);
            vector = (ushort)index;
        }
        _virtio.SetupQueue(index, size, addresses, vector);
    }

    /// <inheritdoc />
    public void Notify(int index) => _virtio.Notify(index);

    /// <inheritdoc />
    /// <remarks>The engine does not negotiate VIRTIO_F_RING_RESET, so a queue is recovered by a device reset.</remarks>
    public void ResetQueue(int index) =>
        throw new NotSupportedException($"{Description} resets single queues only with VIRTIO_F_RING_RESET, which the engine does not negotiate: reset the device (PmdEngine.ResetDevice)");

    /// <inheritdoc />
    public bool QueueResetWaitsForRequests => false;

    /// <inheritdoc />
    public void EnableQueue(int index) => ResetQueue(index);

    /// <inheritdoc />
    /// <remarks>
    /// Device status 0, then (bounded) until it reads 0: a VirtIO 1.x device has then let go of every ring and buffer
    /// (QEMU's virtio-blk drains its requests first). The DMA mappings and MSI-X wiring stay for the re-initialization.
    /// </remarks>
    public void ResetDevice() => _virtio.Reset();

    /// <inheritdoc />
    public int PollDevice() => 0;

    /// <inheritdoc />
    public long DeviceThreadAllocatedBytes => 0;

    /// <summary>Resets the device (it stops touching memory), then closes the VFIO device: vectors off, DMA unmapped, group and container closed.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try { _virtio.Reset(); }
        catch (Exception e) when (e is IOException or TimeoutException) { }     // VFIO_DEVICE_RESET on the next open still clears it
        _pci.Dispose();
    }
}
