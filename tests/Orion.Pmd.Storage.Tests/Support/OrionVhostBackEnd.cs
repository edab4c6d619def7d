namespace Orion.Pmd.Storage.Tests.Support;

/// <summary>
/// orion-vhost (tools/Orion.Vhost, built before these tests) serving one device on a socket in a private directory;
/// ready when it prints <c>listening on SOCKET</c>. A trimmed copy of the engine tests' OrionVhostProcess: it is
/// killed (SIGKILL) and restarted on the same socket, as a crashing back-end would be.
/// </summary>
internal sealed class OrionVhostBackEnd : IDisposable
{
    private static readonly string Dll = ChildProcess.ToolDll("Orion.Vhost", "orion-vhost.dll");
    private readonly string _device;
    private ChildProcess _process;

    public OrionVhostBackEnd(string device)
    {
        _device = device;
        Directory = System.IO.Directory.CreateTempSubdirectory("orion-storage-vhost-").FullName;
        SocketPath = Path.Combine(Directory, "vu.sock");
        _process = Launch();
    }

    public string Directory { get; }
    public string SocketPath { get; }
    public string DeviceString => $"vhost-user:{SocketPath}";
    public bool IsRunning => !_process.HasExited;
    public string Log => string.Join('\n', _process.Lines) + _process.Errors;

    private ChildProcess Launch()
    {
        var p = new ChildProcess(Dll, "--socket", SocketPath, "--device", _device, "--queues", "1");
        try
        {
            p.WaitForLine($"listening on {SocketPath}", TimeSpan.FromSeconds(30));
            return p;
        }
        catch
        {
            p.Dispose();
            throw;
        }
    }

    /// <summary>SIGKILL: the socket file stays, as after a crash.</summary>
    public void Kill() => _process.Kill();

    /// <summary>Kills it if it runs and starts it again on the same socket (it replaces the stale socket file).</summary>
    public void Restart()
    {
        _process.Dispose();
        _process = Launch();
    }

    public void Dispose()
    {
        _process.Dispose();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}
