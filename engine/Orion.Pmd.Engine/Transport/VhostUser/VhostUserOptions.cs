namespace Orion.Pmd.Engine.Transport.VhostUser;

/// <summary>Timeouts of the vhost-user front-end.</summary>
public sealed record VhostUserOptions
{
    /// <summary>How long the first connection keeps retrying while nobody listens yet (a back-end still starting).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a request waits for the back-end's reply before the connection is declared dead.</summary>
    public TimeSpan ReplyTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// After the back-end goes away: how long the engine keeps reconnecting, holding outstanding requests, before it
    /// fails them with <see cref="Requests.IoStatus.TransportLost"/>.
    /// </summary>
    public TimeSpan ReconnectTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Register memory region by region (ADD_MEM_REG, up to the back-end's GET_MAX_MEM_SLOTS, 32 in
    /// qemu-storage-daemon) when the back-end offers CONFIGURE_MEM_SLOTS, instead of one SET_MEM_TABLE of at most
    /// 8 regions.
    /// </summary>
    public bool UseMemorySlots { get; init; } = true;
}
