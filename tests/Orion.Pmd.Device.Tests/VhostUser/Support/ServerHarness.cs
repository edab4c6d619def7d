using Orion.Pmd.Device.Backends;
using Orion.Pmd.Device.VhostUser;
using Orion.Pmd.Linux;

namespace Orion.Pmd.Device.Tests.VhostUser.Support;

/// <summary>
/// A <see cref="VhostUserServer"/> over a RAM disk, listening on a socket in a private directory under /tmp (socket
/// paths hold at most 107 bytes, so never the build tree), serving clients one at a time on a background thread.
/// Dispose stops it (bounded), then disposes the device and removes the directory.
/// </summary>
internal sealed class ServerHarness : IDisposable
{
    private readonly Thread _thread;
    private readonly StringWriter _logText = new();
    private Exception? _crash;

    public ServerHarness(SoftBlkDeviceOptions? deviceOptions = null, long capacity = 16 << 20, VhostUserServerOptions? serverOptions = null)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("orion-vu-").FullName;
        SocketPath = Path.Combine(Directory, "vu.sock");
        Backend = new MemoryBackend(capacity);
        Device = new SoftBlkDevice(Backend, deviceOptions ?? new SoftBlkDeviceOptions { Mode = DeviceServiceMode.KickDriven, NumQueues = 2, Serial = "vu-test-serial" });
        Log = TextWriter.Synchronized(_logText);
        Server = new VhostUserServer(Device, (serverOptions ?? new VhostUserServerOptions()) with { Log = Log, AcceptPollInterval = TimeSpan.FromMilliseconds(20) });
        Listener = UnixSocket.Listen(SocketPath);
        _thread = new Thread(() =>
        {
            try { Server.Run(Listener); }
            catch (Exception e) { _crash = e; }
        }) { IsBackground = true, Name = "vhost-user-server" };
        _thread.Start();
    }

    public string Directory { get; }
    public string SocketPath { get; }
    public MemoryBackend Backend { get; }
    public SoftBlkDevice Device { get; }
    public VhostUserServer Server { get; }
    public UnixSocket Listener { get; }
    public TextWriter Log { get; }
    public string LogText { get { lock (Log) return _logText.ToString(); } }

    /// <summary>An exception that escaped the server loop (the target "crashed"), or null.</summary>
    public Exception? Crash => _crash;

    /// <summary>A new front-end connected to the server.</summary>
    public TestFrontEnd Connect(int queues = 2, MemorySeal seals = SharedMemory.SizeSeals) => new(UnixSocket.Connect(SocketPath), queues, seals);

    /// <summary>Waits (bounded) until <paramref name="count"/> connections have ended.</summary>
    public bool WaitForClosedConnections(int count, TimeSpan? timeout = null) =>
        TestFrontEnd.Eventually(() => Server.ConnectionsServed >= count, timeout ?? TimeSpan.FromSeconds(5));

    public void Dispose()
    {
        Server.Stop();
        bool joined = _thread.Join(TimeSpan.FromSeconds(10));
        Listener.Dispose();
        if (joined) Device.Dispose();      // a stuck server thread may still use it: leak rather than unmap under it
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
        if (!joined) Assert.Fail("the vhost-user server did not stop within 10 s");
    }
}
