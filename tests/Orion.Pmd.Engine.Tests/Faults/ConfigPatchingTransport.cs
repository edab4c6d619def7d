using Orion.Pmd.Device;
using Orion.Pmd.Testing;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Engine.Tests.Faults;

/// <summary>
/// The embedded device seen through a transport that rewrites its configuration space (and optionally its features)
/// the way an untrusted device might: from the start, or only after <see cref="AfterResets"/> device resets (a device
/// that comes back from a reset as something else). The other misbehaviours (refused resets, a stalled device, ...)
/// come from the shared <see cref="ThreadlessTransport"/>.
/// </summary>
internal sealed class ConfigPatchingTransport(SoftBlkDevice device, Func<BlkConfig, BlkConfig> patch) : ThreadlessTransport(device)
{
    /// <summary>Device resets after which the patch applies (0: from the start).</summary>
    public int AfterResets { get; init; }

    /// <summary>Features removed from the offer once the patch applies.</summary>
    public VirtioFeatures WithoutFeatures { get; init; }

    private bool Patching => Resets >= AfterResets;

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

    public override VirtioFeatures GetDeviceFeatures() => base.GetDeviceFeatures() & ~(Patching ? WithoutFeatures : 0);

    public override int ReadConfig(int offset, Span<byte> destination)
    {
        var raw = new byte[Math.Max(Inner.ConfigSize, BlkConfig.Size)];
        Inner.ReadConfig(0, raw);
        if (Patching) patch(BlkConfig.Parse(raw)).WriteTo(raw);
        return ConfigSpace.Read(raw.AsSpan(0, Inner.ConfigSize), offset, destination);
    }
}
