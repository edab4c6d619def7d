using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Engine.Transport;

/// <summary>The device initialization sequence of VirtIO 1.1 §3.1.1, up to (not including) DRIVER_OK.</summary>
internal static class DeviceInitializer
{
    /// <summary>Resets the device, acknowledges it, negotiates features and reads its configuration.</summary>
    public static (NegotiatedFeatures Features, BlkConfig Config) Initialize(IVirtioTransport transport, VirtioFeatures wanted, VirtioFeatures required)
    {
        transport.SetStatus(DeviceStatus.Reset);
        transport.SetStatus(DeviceStatus.Acknowledge);
        transport.SetStatus(DeviceStatus.Acknowledge | DeviceStatus.Driver);
        var offered = transport.GetDeviceFeatures();
        var negotiated = FeatureNegotiation.Negotiate(offered, wanted, required);
        if (!negotiated.Succeeded)
        {
            transport.SetStatus(DeviceStatus.Failed);
            throw new NotSupportedException(
                $"{transport.Description} lacks required features {negotiated.MissingRequired.Describe()} (it offers {offered.Describe()})");
        }
        transport.SetDriverFeatures(negotiated.Accepted);
        transport.SetStatus(DeviceStatus.Acknowledge | DeviceStatus.Driver | DeviceStatus.FeaturesOk);
        if (!transport.GetStatus().HasFlag(DeviceStatus.FeaturesOk))
        {
            transport.SetStatus(DeviceStatus.Failed);
            throw new NotSupportedException(
                $"{transport.Description} refused the feature set {negotiated.Accepted.Describe()} (FEATURES_OK stayed clear)");
        }
        Span<byte> raw = stackalloc byte[Math.Max(transport.ConfigSize, BlkConfig.Size)];
        int n = transport.ReadConfig(0, raw[..transport.ConfigSize]);
        var config = BlkConfig.Parse(raw[..n]);
        return (negotiated, config);
    }
}
