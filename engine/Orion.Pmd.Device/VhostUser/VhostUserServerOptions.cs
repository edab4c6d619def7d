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

    /// <summary>
    /// How long one message may take to arrive once its first byte came, and one reply to be taken by the front-end:
    /// a front-end that stops in the middle of a message, or reads none of its replies, is dropped after it. Every
    /// real front-end sends a message with one <c>sendmsg</c>, so the default (5 s) is far beyond any honest delay.
    /// </summary>
    public TimeSpan MessageTimeout { get; init; } = DefaultMessageTimeout;

    /// <summary>The default <see cref="MessageTimeout"/>.</summary>
    public static readonly TimeSpan DefaultMessageTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a connection with no queue running may send nothing while another client waits to connect, before it
    /// is dropped for that client. A connection alone is never dropped for being quiet (QEMU connects at start-up and
    /// starts its queues only when the guest's driver does, which a paused VM may put off for ever), nor one whose
    /// queues run (its I/O goes through the rings, not through messages).
    /// </summary>
    public TimeSpan IdleTimeout { get; init; } = DefaultIdleTimeout;

    /// <summary>The default <see cref="IdleTimeout"/>.</summary>
    public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Accept memory fds that cannot be sealed against shrinking (a hugetlbfs or regular file, a memfd sealed without
    /// F_SEAL_SHRINK). Off by default: such a front-end can truncate the file under the device's mapping, and the
    /// device's next access there raises SIGBUS, which ends the process. Sealable memfds are sealed by the back-end.
    /// </summary>
    public bool AllowUnsealedMemory { get; init; }
}
