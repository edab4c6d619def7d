using System.Buffers.Binary;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;
using Orion.Pmd.Virtio.VhostUser;

namespace Orion.Pmd.Device.VhostUser;

// Device-level requests: virtio and protocol features, config space, owner and reset.
internal sealed partial class VhostUserSession
{
    private ulong _features;                 // as the front-end set them, bit 30 included
    private bool _featuresSet;
    private VhostUserProtocolFeatures _protocol;

    private VhostUserProtocolFeatures OfferedProtocolFeatures => _options.ProtocolFeatures & VhostUserServerOptions.Implemented;

    /// <summary>With VHOST_USER_F_PROTOCOL_FEATURES negotiated, rings start disabled until SET_VRING_ENABLE (vhost-user spec).</summary>
    private bool ProtocolFeaturesNegotiated => (_features & VhostUserLimits.ProtocolFeaturesBit) != 0;

    private bool Packed => ((VirtioFeatures)_features).HasFlag(VirtioFeatures.RingPacked);

    private ulong GetFeatures() => (ulong)_device.OfferedFeatures | VhostUserLimits.ProtocolFeaturesBit;

    private void SetFeatures(ulong features)
    {
        ulong offered = GetFeatures();
        if ((features & ~offered) != 0)
            throw new VhostUserProtocolException(
                $"SetFeatures 0x{features:x} accepts features that were not offered ({((VirtioFeatures)(features & ~offered)).Describe()}); offered: 0x{offered:x}");
        if (!((VirtioFeatures)features).HasFlag(VirtioFeatures.Version1))
            throw new VhostUserProtocolException($"SetFeatures 0x{features:x} lacks VERSION_1 (bit 32): legacy virtio devices are not supported");
        if (_featuresSet && features != _features && AnyRunning())
            throw new VhostUserProtocolException(
                $"SetFeatures 0x{features:x} changes the features (0x{_features:x}) while queues run; stop them with GetVringBase first");
        _device.SetDriverFeatures((VirtioFeatures)(features & ~VhostUserLimits.ProtocolFeaturesBit));
        _features = features;
        _featuresSet = true;
    }

    private void SetProtocolFeatures(ulong features)
    {
        var wanted = (VhostUserProtocolFeatures)features;
        if ((wanted & ~OfferedProtocolFeatures) != 0)
            throw new VhostUserProtocolException(
                $"SetProtocolFeatures 0x{features:x} accepts protocol features that were not offered; offered: 0x{(ulong)OfferedProtocolFeatures:x} ({OfferedProtocolFeatures})");
        _protocol = wanted;
    }

    /// <summary>The negotiated protocol features (for diagnostics).</summary>
    public VhostUserProtocolFeatures ProtocolFeatures => _protocol;

    /// <summary>
    /// GET_CONFIG: up to the requested size from the requested offset (fewer bytes past the end of config space). A size
    /// above 256 gets an empty reply, as from qemu-storage-daemon; the request must carry at least the 12-byte config
    /// header (the data bytes that normally follow it are ignored).
    /// </summary>
    private void GetConfig(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < ConfigPayload.HeaderSize)
            throw new VhostUserProtocolException($"GetConfig takes a config header of {ConfigPayload.HeaderSize} bytes (plus the data size); it came with {payload.Length} bytes");
        uint offset = BinaryPrimitives.ReadUInt32LittleEndian(payload);
        uint size = BinaryPrimitives.ReadUInt32LittleEndian(payload[4..]);
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(payload[8..]);
        if (size > VhostUserLimits.MaxConfigBytes)
        {
            _log.WriteLine($"vhost-user: GetConfig of {size} bytes is larger than the {VhostUserLimits.MaxConfigBytes}-byte limit; answered with an empty reply");
            Reply(VhostUserRequest.GetConfig, default);
            return;
        }
        Span<byte> data = stackalloc byte[(int)size];
        int n = offset >= (uint)_device.ConfigSize ? 0 : _device.ReadConfig((int)offset, data);
        Span<byte> reply = stackalloc byte[ConfigPayload.HeaderSize + n];
        ConfigPayload.Write(reply, offset, flags, data[..n]);
        Reply(VhostUserRequest.GetConfig, reply);
    }

    /// <summary>SET_CONFIG: only the <c>writeback</c> byte is writable, and only with CONFIG_WCE negotiated (VirtIO 1.2 §5.2.5.1).</summary>
    private void SetConfig(ReadOnlySpan<byte> payload)
    {
        if (!ConfigPayload.TryRead(payload, out uint offset, out uint size, out uint flags) || payload.Length != ConfigPayload.HeaderSize + (int)size)
            throw new VhostUserProtocolException(
                $"SetConfig payload of {payload.Length} bytes is not a {ConfigPayload.HeaderSize}-byte config header followed by its announced data (at most {VhostUserLimits.MaxConfigBytes} bytes)");
        if (flags > 1)
            throw new VhostUserProtocolException($"SetConfig flags {flags}; 0 (front-end write) or 1 (migration) are defined");
        if (offset != BlkConfig.Offsets.Writeback || size != 1)
            throw new VhostUserRequestRefusedException(
                $"config write of {size} byte(s) at offset {offset}: only the writeback byte (offset {BlkConfig.Offsets.Writeback}, 1 byte) is writable");
        if (!_device.DriverFeatures.HasFlag(VirtioFeatures.BlkConfigWce))
            throw new VhostUserRequestRefusedException("the writeback byte is writable only with CONFIG_WCE (bit 11) negotiated");
        _device.WriteConfig((int)offset, payload.Slice(ConfigPayload.HeaderSize, 1));
    }

    /// <summary>RESET_OWNER (deprecated, as libvhost-user does it): every queue stops and is forgotten; the memory table stays.</summary>
    private void ResetQueues()
    {
        for (int i = 0; i < _vrings.Length; i++)
        {
            var v = _vrings[i];
            if (v.Running) _device.StopQueue(v.Index);
            v.CloseFds();
            _vrings[i] = new VringSlot(i);
        }
    }
}
