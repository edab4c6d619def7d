using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Rings;
using C = Orion.Pmd.Engine.Transport.VirtioPci.VirtioPciCommonConfig;

namespace Orion.Pmd.Engine.Transport.VirtioPci;

/// <summary>
/// The driver's operations on a modern virtio-pci function through its capabilities (VirtIO 1.2 §4.1.4-§4.1.5):
/// status handshake and reset, 64-bit feature negotiation through the select registers, device configuration read
/// consistently (config_generation), queue set-up through the common configuration, doorbells at
/// <c>notify.offset + queue_notify_off × notify_off_multiplier</c>, MSI-X vectors, per-queue reset. Everything the
/// device returns is checked before use (queue counts and sizes, doorbell offsets inside the notification area).
/// It touches the function only through <see cref="IPciFunction"/>.
/// </summary>
public sealed class VirtioPciFunction
{
    private readonly IPciFunction _pci;
    private readonly VirtioPciCapabilities _caps;
    private long[] _doorbells = [];

    /// <summary>Reads the capabilities of <paramref name="pci"/> (throws <see cref="NotSupportedException"/> with the reason when unusable).</summary>
    public VirtioPciFunction(IPciFunction pci)
    {
        _pci = pci;
        _caps = VirtioPciCapabilities.Read(pci);
    }

    /// <summary>The capabilities found.</summary>
    public VirtioPciCapabilities Capabilities => _caps;

    /// <summary>How long <see cref="Reset"/> and <see cref="ResetQueue"/> wait for the device (VirtIO: it may take a while).</summary>
    public TimeSpan ResetTimeout { get; init; } = TimeSpan.FromSeconds(5);

    private ulong Common(int register, int width) => _pci.ReadBar(_caps.Common.Bar, _caps.Common.Offset + register, width);

    private void Common(int register, int width, ulong value) => _pci.WriteBar(_caps.Common.Bar, _caps.Common.Offset + register, width, value);

    // 64-bit fields as two 32-bit writes, low half first, as Linux does: QEMU serves the common configuration with
    // accesses of at most 4 bytes.
    private void Common64(int register, ulong value)
    {
        Common(register, 4, value & 0xffff_ffff);
        Common(register + 4, 4, value >> 32);
    }

    /// <summary>Reads the device status.</summary>
    public DeviceStatus GetStatus() => (DeviceStatus)Common(C.DeviceStatus, 1);

    /// <summary>Writes the device status; writing 0 is <see cref="Reset"/>.</summary>
    public void SetStatus(DeviceStatus status)
    {
        if (status == DeviceStatus.Reset) Reset();
        else Common(C.DeviceStatus, 1, (byte)status);
    }

    /// <summary>Writes 0 to the status and waits (bounded) until it reads 0: the device has let go of every ring and buffer.</summary>
    public void Reset()
    {
        Common(C.DeviceStatus, 1, 0);
        WaitUntil(() => Common(C.DeviceStatus, 1) == 0, "the device status to read 0 after a reset");
        _doorbells = [];
    }

    /// <summary>The 64 feature bits the device offers (two 32-bit halves through device_feature_select).</summary>
    public VirtioFeatures GetDeviceFeatures()
    {
        Common(C.DeviceFeatureSelect, 4, 0);
        ulong low = Common(C.DeviceFeature, 4);
        Common(C.DeviceFeatureSelect, 4, 1);
        ulong high = Common(C.DeviceFeature, 4);
        return (VirtioFeatures)(low | high << 32);
    }

    /// <summary>Writes the accepted features (two 32-bit halves through driver_feature_select).</summary>
    public void SetDriverFeatures(VirtioFeatures features)
    {
        ulong f = (ulong)features;
        Common(C.DriverFeatureSelect, 4, 0);
        Common(C.DriverFeature, 4, f & 0xffff_ffff);
        Common(C.DriverFeatureSelect, 4, 1);
        Common(C.DriverFeature, 4, f >> 32);
    }

    /// <summary>Number of queues the device serves.</summary>
    public int NumQueues => (int)Common(C.NumQueues, 2);

    /// <summary>Bytes of device configuration (0 without a device configuration capability).</summary>
    public int ConfigSize => _caps.Device is { } d ? (int)Math.Min(d.Length, 4096) : 0;

    /// <summary>
    /// Reads device configuration at <paramref name="offset"/> byte by byte, again while config_generation changed
    /// during the read (VirtIO 1.2 §4.1.4.3.1), at most 16 times; returns the bytes read.
    /// </summary>
    public int ReadConfig(int offset, Span<byte> destination)
    {
        if (_caps.Device is not { } d) return 0;
        int n = (int)Math.Clamp(ConfigSize - (long)offset, 0, destination.Length);
        for (int attempt = 0; attempt < 16; attempt++)
        {
            ulong before = Common(C.ConfigGeneration, 1);
            for (int i = 0; i < n; i++) destination[i] = (byte)_pci.ReadBar(d.Bar, d.Offset + offset + i, 1);
            if (Common(C.ConfigGeneration, 1) == before) return n;
        }
        throw new IOException($"{_pci.Address}: the device configuration kept changing during 16 reads (config_generation)");
    }

    /// <summary>Writes device configuration at <paramref name="offset"/> (the fields the device documents as writable).</summary>
    public void WriteConfig(int offset, ReadOnlySpan<byte> source)
    {
        if (_caps.Device is not { } d || offset < 0 || offset + source.Length > ConfigSize)
            throw new ArgumentOutOfRangeException(nameof(offset), $"[{offset}, +{source.Length}) is outside the {ConfigSize}-byte device configuration");
        for (int i = 0; i < source.Length; i++) _pci.WriteBar(d.Bar, d.Offset + offset + i, 1, source[i]);
    }

    /// <summary>The largest size of queue <paramref name="index"/> (0: the queue does not exist).</summary>
    public int MaxQueueSize(int index)
    {
        Select(index);
        return (int)Common(C.QueueSize, 2);
    }

    /// <summary>
    /// Sets up queue <paramref name="index"/>: size (≤ the device's maximum; split rings a power of two), ring
    /// addresses (device addresses, i.e. IOVAs), MSI-X vector (<see cref="VirtioPciCommonConfig.NoVector"/> for polled
    /// mode; the device must echo it back), then enables it and computes its doorbell.
    /// </summary>
    public void SetupQueue(int index, int size, SplitRingAddresses addresses, ushort msixVector = C.NoVector)
    {
        int max = MaxQueueSize(index);
        if (max == 0) throw new ArgumentOutOfRangeException(nameof(index), $"{_pci.Address} has no queue {index} (it serves {NumQueues})");
        if (size < 1 || size > max) throw new ArgumentOutOfRangeException(nameof(size), $"queue {index} takes 1 to {max} entries, not {size}");
        Common(C.QueueSize, 2, (ulong)size);
        Common64(C.QueueDesc, addresses.DescriptorTable);
        Common64(C.QueueDriver, addresses.AvailRing);
        Common64(C.QueueDevice, addresses.UsedRing);
        Common(C.QueueMsixVector, 2, msixVector);
        ulong echoed = Common(C.QueueMsixVector, 2);
        if (echoed != msixVector)
            throw new IOException($"{_pci.Address} refused MSI-X vector {msixVector} for queue {index} (reads back {echoed}: out of vectors)");
        long doorbell = Doorbell(index);
        Common(C.QueueEnable, 2, 1);
        if (_doorbells.Length <= index)
        {
            int old = _doorbells.Length;
            Array.Resize(ref _doorbells, index + 1);
            Array.Fill(_doorbells, -1, old, index + 1 - old);
        }
        _doorbells[index] = doorbell;
    }

    /// <summary>Sets the configuration-change MSI-X vector; the device must echo it back.</summary>
    public void SetConfigVector(ushort vector)
    {
        Common(C.ConfigMsixVector, 2, vector);
        if (Common(C.ConfigMsixVector, 2) != vector) throw new IOException($"{_pci.Address} refused MSI-X vector {vector} for configuration changes");
    }

    /// <summary>Rings queue <paramref name="index"/>'s doorbell: a 16-bit write of the queue index (without NOTIF_CONFIG_DATA).</summary>
    public void Notify(int index)
    {
        if ((uint)index >= (uint)_doorbells.Length || _doorbells[index] < 0)
            throw new InvalidOperationException($"queue {index} of {_pci.Address} is not set up");
        _pci.WriteBar(_caps.Notify.Bar, _doorbells[index], 2, (ulong)index);
    }

    /// <summary>
    /// VirtIO 1.2 queue reset (with VIRTIO_F_RING_RESET negotiated): writes 1 to queue_reset and waits (bounded) until the
    /// device presents 0 in both queue_reset and queue_enable (§4.1.4.3.2); the queue is then set up again.
    /// </summary>
    public void ResetQueue(int index)
    {
        Select(index);
        Common(C.QueueReset, 2, 1);
        WaitUntil(() => Common(C.QueueReset, 2) == 0 && Common(C.QueueEnable, 2) == 0, $"queue {index}'s reset to complete (queue_reset and queue_enable reading 0)");
        if (index < _doorbells.Length) _doorbells[index] = -1;
    }

    private long Doorbell(int index)
    {
        ulong notifyOff = Common(C.QueueNotifyOff, 2);
        long offset = (long)notifyOff * _caps.NotifyOffMultiplier;
        if (offset + 2 > _caps.Notify.Length)
            throw new IOException($"{_pci.Address}: queue {index}'s doorbell (notify_off {notifyOff} × {_caps.NotifyOffMultiplier}) lies outside the {_caps.Notify.Length}-byte notification area");
        return _caps.Notify.Offset + offset;
    }

    private void Select(int index)
    {
        if (index < 0 || index > ushort.MaxValue) throw new ArgumentOutOfRangeException(nameof(index));
        Common(C.QueueSelect, 2, (ulong)index);
    }

    private void WaitUntil(Func<bool> done, string what)
    {
        var deadline = Environment.TickCount64 + (long)ResetTimeout.TotalMilliseconds;
        while (!done())
        {
            if (Environment.TickCount64 > deadline) throw new TimeoutException($"{_pci.Address}: waited {ResetTimeout.TotalSeconds:0.#} s for {what}");
            Thread.Sleep(1);
        }
    }
}
