using Orion.Pmd.Linux;

namespace Orion.Pmd.Device.VhostUser;

/// <summary>
/// A vhost-user-blk back-end serving one <see cref="SoftBlkDevice"/> to one front-end at a time, like
/// qemu-storage-daemon: a second client waits in the listen backlog until the first one leaves. Each connection
/// starts from a reset device (the backend's data stays) and ends with the device reset again: threads joined, the
/// client's memory unmapped, its fds closed. A front-end that breaks the protocol gets a one-line reason on the log
/// and a closed connection, never a crash of the back-end or an access outside the memory it registered.
/// </summary>
/// <remarks>
/// Bounded against a front-end that stalls: a message must arrive whole, and a reply be taken, within
/// <see cref="VhostUserServerOptions.MessageTimeout"/>; a connection with no queue running that stays quiet for
/// <see cref="VhostUserServerOptions.IdleTimeout"/> is dropped when another client waits. Memory fds must be sealed
/// against shrinking (the back-end adds F_SEAL_SHRINK where it can), since a truncation under the device's mapping
/// would raise SIGBUS; <see cref="VhostUserServerOptions.AllowUnsealedMemory"/> accepts the others and that risk.
/// </remarks>
public sealed class VhostUserServer
{
    private readonly VhostUserServerOptions _options;
    private readonly TextWriter _log;
    private volatile bool _stopping;
    private UnixSocket? _current;
    private int _serving;

    /// <summary>Creates a server for <paramref name="device"/> (which the caller owns and disposes after the server stopped).</summary>
    public VhostUserServer(SoftBlkDevice device, VhostUserServerOptions? options = null)
    {
        Device = device;
        _options = options ?? new VhostUserServerOptions();
        _log = _options.Log ?? Console.Error;
    }

    /// <summary>The device served.</summary>
    public SoftBlkDevice Device { get; }

    /// <summary>Connections that have ended so far.</summary>
    public int ConnectionsServed => Volatile.Read(ref _served);
    private int _served;

    /// <summary>Why the last connection ended ("the front-end disconnected", or the protocol error).</summary>
    public string? LastCloseReason { get; private set; }

    /// <summary>Raised (on the serving thread) when a connection has ended and been cleaned up, with the reason.</summary>
    public event Action<string>? ConnectionClosed;

    /// <summary>
    /// Serves <paramref name="connection"/> (which the server then owns) until the front-end leaves or breaks the
    /// protocol, and cleans up; returns why it ended. One connection at a time.
    /// </summary>
    public string Serve(UnixSocket connection) => Serve(connection, listener: null);

    private string Serve(UnixSocket connection, UnixSocket? listener)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (Interlocked.Exchange(ref _serving, 1) != 0)
        {
            connection.Dispose();
            throw new InvalidOperationException("the server already serves a connection; it serves one at a time");
        }
        try
        {
            Volatile.Write(ref _current, connection);
            if (_stopping) connection.Shutdown();       // Stop raced with the accept
            int? pid = connection.PeerProcessId;
            _log.WriteLine($"vhost-user: client connected{(pid is int p ? $" (pid {p})" : "")}");
            string reason = new VhostUserSession(Device, connection, listener, _options, _log).Run();
            LastCloseReason = reason;
            Interlocked.Increment(ref _served);
            _log.WriteLine($"vhost-user: connection closed: {reason}");
            ConnectionClosed?.Invoke(reason);
            return reason;
        }
        finally
        {
            Volatile.Write(ref _current, null);
            Volatile.Write(ref _serving, 0);
        }
    }

    /// <summary>Accepts and serves clients on <paramref name="listener"/>, one at a time, until <see cref="Stop"/> is called.</summary>
    public void Run(UnixSocket listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        int pollMs = (int)Math.Clamp(_options.AcceptPollInterval.TotalMilliseconds, 1, 60_000);
        while (!_stopping)
        {
            UnixSocket? client;
            try
            {
                client = listener.Accept(pollMs);
            }
            catch (LinuxException e)
            {
                // Out of fds or memory for a moment: say so and keep listening rather than end the target.
                _log.WriteLine($"vhost-user: accept failed: {e.Message}");
                Thread.Sleep(pollMs);
                continue;
            }
            if (client is null) continue;
            if (_stopping)
            {
                client.Dispose();
                break;
            }
            Serve(client, listener);
        }
    }

    /// <summary>Asks <see cref="Run"/> to return: the current connection is shut down (and cleaned up by its thread) and no new one is accepted.</summary>
    public void Stop()
    {
        _stopping = true;
        if (Volatile.Read(ref _current) is { } connection)
        {
            // The session then reads end of stream, as if the front-end had left, and cleans up the same way.
            _log.WriteLine("vhost-user: stopping: closing the current connection");
            connection.Shutdown();
        }
    }
}
