using Orion.Pmd.Virtio.VhostUser;

namespace Orion.Pmd.Device.VhostUser;

/// <summary>Options of the vhost-user back-end server. How queues are served comes from the device's own options.</summary>
public sealed record VhostUserServerOptions
{
    /// <summary>Protocol features this back-end implements and offers (MQ, REPLY_ACK and CONFIG).</summary>
    public const VhostUserProtocolFeatures Implemented =
        VhostUserProtocolFeatures.Mq | VhostUserProtocolFeatures.ReplyAck | VhostUserProtocolFeatures.Config;

    /// <summary>Protocol features offered; the default is everything implemented. Tests offer subsets.</summary>
    public VhostUserProtocolFeatures ProtocolFeatures { get; init; } = Implemented;

    /// <summary>Where one-line reasons for closed connections and other events go (standard error when null).</summary>
    public TextWriter? Log { get; init; }

    /// <summary>How long <see cref="VhostUserServer.Run"/> waits in accept before looking whether it was asked to stop.</summary>
    public TimeSpan AcceptPollInterval { get; init; } = TimeSpan.FromMilliseconds(200);
}
