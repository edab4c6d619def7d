using System.Buffers.Binary;
using Orion.Pmd.Engine.Transport.VirtioPci;
using C = Orion.Pmd.Engine.Transport.VirtioPci.VirtioPciCommonConfig;

namespace Orion.Pmd.Engine.Tests.VirtioPci;

/// <summary>
/// A software model of a modern virtio-blk PCI function behind <see cref="IPciFunction"/>: a configuration space with
/// a capability list (built by the test, so it can be malformed on purpose) and one 16 KiB memory BAR 0 holding the
/// common configuration (0x0000), ISR (0x1000), device configuration (0x2000) and notification area (0x3000; queue i's
/// doorbell at notify_off i × multiplier). The common configuration behaves as VirtIO 1.2 §4.1.4.3 says, with knobs
/// for slow resets, a configuration that changes while read, and few MSI-X vectors. Accesses wider than 4 bytes to
/// the common configuration fail, as QEMU serves it.
/// </summary>
internal sealed class VirtioPciModel : IPciFunction
{
    public const int BarBytes = 0x4000, CommonAt = 0x0000, IsrAt = 0x1000, DeviceAt = 0x2000, NotifyAt = 0x3000;
    private readonly byte[] _config = new byte[256];
    private int _nextCap = 0x40;
    private readonly byte[] _deviceConfig = new byte[0x40];
    private uint _devFeatureSelect, _drvFeatureSelect;
    private ushort _queueSelect, _configVector = C.NoVector;
    private byte _status;
    private int _resetReadsLeft;

    public VirtioPciModel(ushort vendor = 0x1af4, ushort device = 0x1042, int queues = 2, int maxQueueSize = 256)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(_config, vendor);
        BinaryPrimitives.WriteUInt16LittleEndian(_config.AsSpan(2), device);
        Queues = Enumerable.Range(0, queues).Select(i => new Queue { MaxSize = (ushort)maxQueueSize, Size = (ushort)maxQueueSize, NotifyOff = (ushort)i }).ToArray();
    }

    public sealed class Queue
    {
        public ushort MaxSize, Size, MsixVector = C.NoVector, Enable, NotifyOff, ResetReadsLeft;
        public ulong Desc, Driver, Device;
        public bool Resetting;
    }

    public string Address => "0000:00:03.0";
    public Queue[] Queues { get; }
    public ulong DeviceFeatures { get; set; } = 1UL << 32 | 1UL << 9;
    public ulong DriverFeatures { get; private set; }
    public byte Status => _status;
    public List<(long Offset, int Width, ulong Value)> Doorbells { get; } = [];
    /// <summary>Reads of device_status that still show the old status after a reset is written (int.MaxValue: never resets).</summary>
    public int ResetDelayReads { get; set; }
    /// <summary>Reads of the device configuration that bump config_generation (a configuration changing underneath).</summary>
    public int GenerationBumps { get; set; }
    public byte Generation { get; private set; }
    /// <summary>MSI-X vectors the function has; a vector at or above it reads back as NO_VECTOR.</summary>
    public int MsixVectors { get; set; } = 3;
    public int Resets { get; private set; }
    public Span<byte> DeviceConfig => _deviceConfig;

    /// <summary>Adds the four VirtIO capabilities (common, notify with <paramref name="multiplier"/>, ISR, device) and sets the capability-list bit.</summary>
    public VirtioPciModel WithStandardCapabilities(uint multiplier = 4)
    {
        AddCap(1, 0, CommonAt, 0x40);
        AddCap(2, 0, NotifyAt, 0x1000, multiplier);
        AddCap(3, 0, IsrAt, 1);
        AddCap(4, 0, DeviceAt, (uint)_deviceConfig.Length);
        return this;
    }

    /// <summary>Appends a capability to the list: a VirtIO one (type, bar, offset, length), or another id with <paramref name="id"/>.</summary>
    public VirtioPciModel AddCap(int type, int bar, uint offset, uint length, uint? multiplier = null, byte id = 0x09)
    {
        int at = _nextCap;
        int len = multiplier is null ? 16 : 20;
        _config[at] = id;
        _config[at + 1] = 0;
        _config[at + 2] = (byte)len;
        _config[at + 3] = (byte)type;
        _config[at + 4] = (byte)bar;
        BinaryPrimitives.WriteUInt32LittleEndian(_config.AsSpan(at + 8), offset);
        BinaryPrimitives.WriteUInt32LittleEndian(_config.AsSpan(at + 12), length);
        if (multiplier is { } m) BinaryPrimitives.WriteUInt32LittleEndian(_config.AsSpan(at + 16), m);
        if (at == 0x40) _config[0x34] = 0x40;
        else _config[LastCap(_config[0x34]) + 1] = (byte)at;
        _nextCap += 24;
        _config[6] |= 1 << 4;
        return this;
    }

    private int LastCap(int p)
    {
        while (_config[p + 1] != 0) p = _config[p + 1];
        return p;
    }

    /// <summary>Raw access to configuration space, for malformed lists.</summary>
    public byte[] RawConfig => _config;

    public void ReadConfig(int offset, Span<byte> destination)
    {
        if (offset < 0 || offset + destination.Length > _config.Length) throw new ArgumentOutOfRangeException(nameof(offset));
        _config.AsSpan(offset, destination.Length).CopyTo(destination);
    }

    public long BarLength(int bar) => bar == 0 ? BarBytes : 0;

    public ulong ReadBar(int bar, long offset, int width)
    {
        Check(bar, offset, width);
        if (offset >= DeviceAt && offset < DeviceAt + _deviceConfig.Length)
        {
            if (GenerationBumps > 0) { GenerationBumps--; Generation++; }
            return _deviceConfig[offset - DeviceAt];
        }
        if (offset == IsrAt) return 0;
        if (offset >= CommonAt + 0x40) throw new InvalidOperationException($"read of BAR 0 at 0x{offset:x}, which the model does not serve");
        var q = _queueSelect < Queues.Length ? Queues[_queueSelect] : null;
        switch ((int)offset)
        {
            case C.DeviceFeature: return _devFeatureSelect switch { 0 => DeviceFeatures & 0xffff_ffff, 1 => DeviceFeatures >> 32, _ => 0 };
            case C.DeviceFeatureSelect: return _devFeatureSelect;
            case C.DriverFeatureSelect: return _drvFeatureSelect;
            case C.ConfigMsixVector: return _configVector;
            case C.NumQueues: return (ulong)Queues.Length;
            case C.DeviceStatus:
                if (_resetReadsLeft > 0) { if (_resetReadsLeft != int.MaxValue) _resetReadsLeft--; return 0x0f; }
                return _status;
            case C.ConfigGeneration: return Generation;
            case C.QueueSelect: return _queueSelect;
            case C.QueueSize: return q is null ? 0UL : (q.MaxSize == 0 ? 0UL : q.Size);
            case C.QueueMsixVector: return q?.MsixVector ?? C.NoVector;
            case C.QueueEnable: return q?.Enable ?? 0;
            case C.QueueNotifyOff: return q?.NotifyOff ?? 0;
            case C.QueueReset:
                if (q is null) return 0;
                if (q.Resetting && q.ResetReadsLeft-- == 0) q.Resetting = false;
                return q.Resetting ? 1UL : 0UL;
            default: throw new InvalidOperationException($"read of common configuration register 0x{offset:x} (width {width})");
        }
    }

    public void WriteBar(int bar, long offset, int width, ulong value)
    {
        Check(bar, offset, width);
        if (offset >= NotifyAt && offset < NotifyAt + 0x1000) { Doorbells.Add((offset, width, value)); return; }
        if (offset >= DeviceAt && offset < DeviceAt + _deviceConfig.Length) { _deviceConfig[offset - DeviceAt] = (byte)value; return; }
        var q = _queueSelect < Queues.Length ? Queues[_queueSelect] : null;
        switch ((int)offset)
        {
            case C.DeviceFeatureSelect: _devFeatureSelect = (uint)value; break;
            case C.DriverFeatureSelect: _drvFeatureSelect = (uint)value; break;
            case C.DriverFeature:
                DriverFeatures = _drvFeatureSelect == 0 ? DriverFeatures & ~0xffff_ffffUL | value : DriverFeatures & 0xffff_ffffUL | value << 32;
                break;
            case C.ConfigMsixVector: _configVector = value < (ulong)MsixVectors ? (ushort)value : C.NoVector; break;
            case C.DeviceStatus:
                if (value == 0)
                {
                    Resets++;
                    _status = 0;
                    _resetReadsLeft = ResetDelayReads;
                    foreach (var each in Queues) { each.Enable = 0; each.Size = each.MaxSize; each.MsixVector = C.NoVector; }
                }
                else _status = (byte)value;
                break;
            case C.QueueSelect: _queueSelect = (ushort)value; break;
            case C.QueueSize: Need(q).Size = (ushort)value; break;
            case C.QueueMsixVector: Need(q).MsixVector = value < (ulong)MsixVectors ? (ushort)value : C.NoVector; break;
            case C.QueueEnable: Need(q).Enable = (ushort)value; break;
            case C.QueueDesc: Need(q).Desc = Need(q).Desc & ~0xffff_ffffUL | value; break;
            case C.QueueDesc + 4: Need(q).Desc = Need(q).Desc & 0xffff_ffffUL | value << 32; break;
            case C.QueueDriver: Need(q).Driver = Need(q).Driver & ~0xffff_ffffUL | value; break;
            case C.QueueDriver + 4: Need(q).Driver = Need(q).Driver & 0xffff_ffffUL | value << 32; break;
            case C.QueueDevice: Need(q).Device = Need(q).Device & ~0xffff_ffffUL | value; break;
            case C.QueueDevice + 4: Need(q).Device = Need(q).Device & 0xffff_ffffUL | value << 32; break;
            case C.QueueReset when value == 1:
                Need(q).Resetting = true;
                q!.ResetReadsLeft = 2;
                q.Enable = 0;
                break;
            default: throw new InvalidOperationException($"write of common configuration register 0x{offset:x} (width {width})");
        }
    }

    private static Queue Need(Queue? q) => q ?? throw new InvalidOperationException("a queue register written with queue_select past num_queues");

    private static void Check(int bar, long offset, int width)
    {
        if (bar != 0 || offset < 0 || offset + width > BarBytes) throw new ArgumentOutOfRangeException(nameof(offset), $"BAR {bar} at 0x{offset:x}");
        if (width is not (1 or 2 or 4)) throw new InvalidOperationException($"a {width}-byte access at 0x{offset:x}: the model (as QEMU) serves accesses of 1, 2 or 4 bytes");
    }
}
