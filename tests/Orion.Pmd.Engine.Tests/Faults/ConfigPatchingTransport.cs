using Orion.Pmd.Device;
using Orion.Pmd.Engine.Transport;
using Orion.Pmd.Linux;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;
using Orion.Pmd.Virtio.Memory;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Engine.Tests.Faults;

/// <summary>
/// The embedded device seen through a transport that rewrites its configuration space (and optionally its features)
/// the way an untrusted device might: from the start, or only after <see cref="AfterResets"/> device resets (a device
/// that comes back from a reset as something else).
/// </summary>
internal sealed class ConfigPatchingTransport(SoftBlkDevice device, Func<BlkConfig, BlkConfig> patch) : IVirtioTransport
{
    private readonly EmbeddedTransport _inner = new(device);

    /// <summary>Device resets after which the patch applies (0: from the start).</summary>
    public int AfterResets { get; init; }

    /// <summary>Features removed from the offer once the patch applies.</summary>
    public VirtioFeatures WithoutFeatures { get; init; }

    /// <summary>While set, reading the device status throws (an escape the queue's poller cannot handle).</summary>
    public bool StatusReadsFail { get; set; }

    /// <summary>While set, a queue reset throws (the device refuses it).</summary>
    public bool QueueResetsFail { get; set; }

    /// <summary>While set, re-enabling a reset queue throws (the device does not take the queue back).</summary>
    public bool QueueEnablesFail { get; set; }

    /// <summary>While set, a device reset throws before the device let go of anything.</summary>
    public bool DeviceResetsFail { get; set; }

    /// <summary>While set, the manual device does no work: requests stay in flight.</summary>
    public bool DeviceStalled { get; set; }

    private int _resets;
    private bool Patching => _resets >= AfterResets;

    public static PmdEngine Start(Func<BlkConfig, BlkConfig> patch, int afterResets = 0, VirtioFeatures without = 0, int queues = 1,
                                  SoftBlkDeviceOptions? deviceOptions = null, Microsoft.Extensions.Logging.ILoggerFactory? logs = null,
                                  Func<EngineOptions, EngineOptions>? tweak = null)
    {
        var device = new SoftBlkDevice(new Orion.Pmd.Device.Backends.MemoryBackend(16 << 20),
            deviceOptions ?? new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Manual, NumQueues = queues });
        var transport = new ConfigPatchingTransport(device, patch) { AfterResets = afterResets, WithoutFeatures = without };
        var options = new EngineOptions
        {
            Device = "mem:16M",
            Queues = queues,
            QueueSize = 64,
            Threading = EngineThreading.Manual,
            BufferMemoryBytes = 16L << 20,
            LoggerFactory = logs,
        };
        return PmdEngine.StartOn(transport, tweak is null ? options : tweak(options));
    }

    public string Description => _inner.Description;
    public DeviceStatus GetStatus() => StatusReadsFail ? throw new InvalidOperationException("test: the status read failed") : _inner.GetStatus();
    public void SetStatus(DeviceStatus status) => _inner.SetStatus(status);
    public VirtioFeatures GetDeviceFeatures() => _inner.GetDeviceFeatures() & ~(Patching ? WithoutFeatures : 0);
    public void SetDriverFeatures(VirtioFeatures features) => _inner.SetDriverFeatures(features);
    public int ConfigSize => _inner.ConfigSize;

    public int ReadConfig(int offset, Span<byte> destination)
    {
        var raw = new byte[Math.Max(_inner.ConfigSize, BlkConfig.Size)];
        _inner.ReadConfig(0, raw);
        if (Patching) patch(BlkConfig.Parse(raw)).WriteTo(raw);
        return ConfigSpace.Read(raw.AsSpan(0, _inner.ConfigSize), offset, destination);
    }

    public void WriteConfig(int offset, ReadOnlySpan<byte> source) => _inner.WriteConfig(offset, source);
    public int MaxQueues => _inner.MaxQueues;
    public int MaxQueueSize => _inner.MaxQueueSize;
    public void SetMemoryTable(ReadOnlySpan<MemoryRegion> regions) => _inner.SetMemoryTable(regions);
    public void SetupQueue(int index, int size, SplitRingAddresses addresses, EventFd? kick, EventFd? call) => _inner.SetupQueue(index, size, addresses, kick, call);
    public void Notify(int index) => _inner.Notify(index);
    public bool QueueResetWaitsForRequests => _inner.QueueResetWaitsForRequests;

    public void ResetQueue(int index)
    {
        if (QueueResetsFail) throw new IOException("test: the device refused the queue reset");
        _inner.ResetQueue(index);
    }
    public void EnableQueue(int index)
    {
        if (QueueEnablesFail) throw new IOException("test: the device did not take the queue back");
        _inner.EnableQueue(index);
    }

    public void ResetDevice()
    {
        if (DeviceResetsFail) throw new IOException("test: the device refused the reset");
        _inner.ResetDevice();
        _resets++;
    }

    public int PollDevice() => DeviceStalled ? 0 : _inner.PollDevice();
    public long DeviceThreadAllocatedBytes => _inner.DeviceThreadAllocatedBytes;
    public void Dispose() => _inner.Dispose();
}
