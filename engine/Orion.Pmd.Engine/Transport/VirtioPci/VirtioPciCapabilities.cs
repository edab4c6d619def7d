using System.Buffers.Binary;

namespace Orion.Pmd.Engine.Transport.VirtioPci;

/// <summary>Where one VirtIO structure lives: a BAR, an offset in it and a length (VirtIO 1.2 §4.1.4, <c>virtio_pci_cap</c>).</summary>
/// <param name="Bar">The BAR index, 0-5.</param>
/// <param name="Offset">Offset of the structure in the BAR.</param>
/// <param name="Length">Length of the structure.</param>
public readonly record struct VirtioPciRegion(int Bar, long Offset, long Length);

/// <summary>
/// The VirtIO 1.x vendor-specific capabilities of a PCI function, found by walking its capability list (VirtIO 1.2
/// §4.1.4): common configuration, notifications (with <c>notify_off_multiplier</c>), ISR status and device
/// configuration. The walk trusts nothing: the list is bounded, every pointer must lie in the standard configuration
/// space and be 4-byte aligned, every structure must lie inside a memory BAR; the first capability of each type wins,
/// as the specification asks of drivers.
/// </summary>
public sealed class VirtioPciCapabilities
{
    /// <summary>PCI vendor id of VirtIO devices.</summary>
    public const ushort VirtioVendor = 0x1af4;

    /// <summary>The modern (VirtIO 1.0+) virtio-blk device id: 0x1040 + device type 2.</summary>
    public const ushort ModernBlockDevice = 0x1042;

    /// <summary>The transitional virtio-blk device id.</summary>
    public const ushort TransitionalBlockDevice = 0x1001;

    private const int CapabilityPointer = 0x34, StatusRegister = 0x06, StatusCapabilitiesList = 1 << 4;
    private const byte VendorSpecific = 0x09;
    private const int CommonCfg = 1, NotifyCfg = 2, IsrCfg = 3, DeviceCfg = 4;

    private VirtioPciCapabilities(VirtioPciRegion common, VirtioPciRegion notify, uint multiplier, VirtioPciRegion isr, VirtioPciRegion? device)
    {
        Common = common;
        Notify = notify;
        NotifyOffMultiplier = multiplier;
        Isr = isr;
        Device = device;
    }

    /// <summary>The common configuration structure.</summary>
    public VirtioPciRegion Common { get; }

    /// <summary>The notification area.</summary>
    public VirtioPciRegion Notify { get; }

    /// <summary>Bytes between the doorbells of consecutive <c>queue_notify_off</c> values (0: one doorbell for all queues).</summary>
    public uint NotifyOffMultiplier { get; }

    /// <summary>The ISR status byte.</summary>
    public VirtioPciRegion Isr { get; }

    /// <summary>The device-specific configuration (virtio-blk's <c>virtio_blk_config</c>), when the device has one.</summary>
    public VirtioPciRegion? Device { get; }

    /// <summary>
    /// Walks the capability list of <paramref name="function"/>. Throws <see cref="NotSupportedException"/> naming what is
    /// wrong: not a VirtIO block device, a legacy-only (transitional without modern capabilities) device, or a missing
    /// or malformed capability.
    /// </summary>
    public static VirtioPciCapabilities Read(IPciFunction function)
    {
        Span<byte> header = stackalloc byte[0x40];
        function.ReadConfig(0, header);
        ushort vendor = BinaryPrimitives.ReadUInt16LittleEndian(header), device = BinaryPrimitives.ReadUInt16LittleEndian(header[2..]);
        if (vendor != VirtioVendor)
            throw new NotSupportedException($"{function.Address} is PCI {vendor:x4}:{device:x4}, not a VirtIO device (vendor 1af4); give a virtio-blk function");
        if (device != ModernBlockDevice && device != TransitionalBlockDevice)
            throw new NotSupportedException($"{function.Address} is VirtIO device {vendor:x4}:{device:x4}, not virtio-blk (1af4:1042, or transitional 1af4:1001)");
        string legacy = device == TransitionalBlockDevice
            ? $"{function.Address} is a legacy-only virtio-blk (1af4:1001 without VirtIO 1.x capabilities); Orion drives modern devices: give QEMU disable-legacy=on (1af4:1042), or use a VirtIO 1.x device"
            : "";
        if ((BinaryPrimitives.ReadUInt16LittleEndian(header[StatusRegister..]) & StatusCapabilitiesList) == 0)
            throw new NotSupportedException(legacy.Length > 0 ? legacy : $"{function.Address} has no PCI capability list, so no VirtIO 1.x structures");

        VirtioPciRegion? common = null, notify = null, isr = null, deviceCfg = null;
        uint multiplier = 0;
        Span<byte> cap = stackalloc byte[20];
        int pointer = header[CapabilityPointer] & ~3;
        for (int seen = 0; pointer != 0; seen++)
        {
            // 48 capabilities fill the 192 bytes after the header: more means a loop.
            if (seen >= 48) throw Malformed(function, "its capability list does not end (a loop)");
            if (pointer < 0x40 || pointer > 0x100 - 4)
                throw Malformed(function, $"a capability pointer 0x{pointer:x2} lies outside the standard configuration space (0x40-0xfc)");
            function.ReadConfig(pointer, cap[..4]);
            int next = cap[1] & ~3;
            if (cap[0] == VendorSpecific)
            {
                int capLength = cap[2];
                if (capLength < 16 || pointer + capLength > 0x100)
                    throw Malformed(function, $"the VirtIO capability at 0x{pointer:x2} has length {capLength} (16 to {0x100 - pointer} fit)");
                function.ReadConfig(pointer, cap[..Math.Min(capLength, cap.Length)]);
                int type = cap[3], bar = cap[4];
                long offset = BinaryPrimitives.ReadUInt32LittleEndian(cap[8..]), length = BinaryPrimitives.ReadUInt32LittleEndian(cap[12..]);
                if (type is >= CommonCfg and <= DeviceCfg)
                {
                    if (bar > 5) throw Malformed(function, $"its VirtIO capability type {type} names BAR {bar} (0-5 exist)");
                    long barLength = function.BarLength(bar);
                    if (barLength == 0 || offset + length > barLength)
                        throw Malformed(function, $"its VirtIO capability type {type} spans [0x{offset:x}, +{length}) of BAR {bar}, which is {barLength} bytes (a memory BAR must hold it)");
                    var region = new VirtioPciRegion(bar, offset, length);
                    switch (type)
                    {
                        case CommonCfg when common is null: common = region; break;
                        case NotifyCfg when notify is null:
                            if (capLength < 20) throw Malformed(function, $"its notification capability is {capLength} bytes; it needs 20 (notify_off_multiplier)");
                            notify = region;
                            multiplier = BinaryPrimitives.ReadUInt32LittleEndian(cap[16..]);
                            break;
                        case IsrCfg when isr is null: isr = region; break;
                        case DeviceCfg when deviceCfg is null: deviceCfg = region; break;
                    }
                }
            }
            pointer = next;
        }
        if (common is null && notify is null && legacy.Length > 0) throw new NotSupportedException(legacy);
        if (common is null) throw Missing(function, "common configuration (type 1)");
        if (notify is null) throw Missing(function, "notification (type 2)");
        if (isr is null) throw Missing(function, "ISR status (type 3)");
        if (common.Value.Length < VirtioPciCommonConfig.Size)
            throw Malformed(function, $"its common configuration is {common.Value.Length} bytes; VirtIO 1.x needs {VirtioPciCommonConfig.Size}");
        return new VirtioPciCapabilities(common.Value, notify.Value, multiplier, isr.Value, deviceCfg);
    }

    private static NotSupportedException Malformed(IPciFunction f, string what) => new($"{f.Address} is not a usable VirtIO 1.x device: {what}");

    private static NotSupportedException Missing(IPciFunction f, string what) =>
        new($"{f.Address} has no VirtIO {what} capability; a VirtIO 1.x PCI device has one of each (a legacy-only device has none: use a modern one)");
}
