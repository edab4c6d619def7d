using Orion.Pmd.Linux;

namespace Orion.Vhost;

/// <summary>
/// systemd's socket activation (sd_listen_fds(3)): when <c>LISTEN_PID</c> is this process and <c>LISTEN_FDS</c> is 1,
/// the listening socket is descriptor 3, created by systemd from the .socket unit's <c>ListenStream=</c>. A front-end
/// can then connect before orion-vhost runs (the connection waits in the socket's backlog), and the socket file
/// outlives a restart of the service.
/// </summary>
internal static class SocketActivation
{
    /// <summary>The first descriptor systemd passes (SD_LISTEN_FDS_START).</summary>
    public const int FirstDescriptor = 3;

    /// <summary>
    /// The socket systemd passed to this process, or null (with true) when it passed none. False with
    /// <paramref name="error"/> when it passed more than one, or something that is not a listening Unix socket.
    /// </summary>
    public static bool TryTake(Func<string, string?> environment, int pid, string socketPath, out UnixSocket? listener, out string error)
    {
        listener = null;
        error = "";
        string? count = environment("LISTEN_FDS"), owner = environment("LISTEN_PID");
        if (string.IsNullOrEmpty(count) || owner != pid.ToString(System.Globalization.CultureInfo.InvariantCulture))
            return true;                        // not activated, or the variables were meant for a parent
        // Not for a child process of ours: sd_listen_fds(3) unsets them too.
        foreach (var name in new[] { "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES" }) Environment.SetEnvironmentVariable(name, null);
        if (count != "1")
        {
            error = $"systemd passed LISTEN_FDS={count} sockets; orion-vhost serves one: give its .socket unit a single ListenStream={socketPath}";
            return false;
        }
        try
        {
            listener = UnixSocket.AdoptListener(FirstDescriptor, socketPath);
            return true;
        }
        catch (ArgumentException e)
        {
            error = $"the socket systemd passed: {e.Message}";
            return false;
        }
    }
}
