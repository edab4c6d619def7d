using Orion.Pmd.Linux;
using Orion.Pmd.Virtio.VhostUser;

namespace Orion.Pmd.Engine.Tests.VhostUser.Support;

/// <summary>
/// A vhost-user back-end for tests that misbehaves on cue: it listens on its own socket and relays every message, with
/// its descriptors, between the front-end and a real back-end (so I/O really happens), one back-end connection per
/// front-end connection. <see cref="DelayNextReply"/> holds one reply back for a while, as a slow or wedged back-end
/// would. When either side hangs up, both connections are closed, so the real back-end sees the front-end leave.
/// </summary>
internal sealed class VhostUserProxy : IDisposable
{
    private readonly string _target;
    private readonly UnixSocket _listener;
    private readonly Thread _acceptor;
    private readonly List<(UnixSocket Front, UnixSocket Back, Thread[] Pumps)> _links = [];
    private volatile bool _stopping;
    private VhostUserRequest? _delayed;
    private TimeSpan _delay;
    private int _connections, _delayedReplies;

    public VhostUserProxy(string targetSocket)
    {
        _target = targetSocket;
        Directory = System.IO.Directory.CreateTempSubdirectory("orion-vu-proxy-").FullName;
        SocketPath = Path.Combine(Directory, "proxy.sock");
        _listener = UnixSocket.Listen(SocketPath);
        _acceptor = new Thread(Accept) { IsBackground = true, Name = "vhost-user-proxy" };
        _acceptor.Start();
    }

    public string Directory { get; }
    public string SocketPath { get; }
    public string DeviceString => $"vhost-user:{SocketPath}";

    /// <summary>Front-end connections accepted so far.</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>Replies held back so far.</summary>
    public int DelayedReplies => Volatile.Read(ref _delayedReplies);

    /// <summary>
    /// While set, the proxy plays a back-end that ignores configuration writes: SET_CONFIG is not relayed, and answered
    /// "done" (a REPLY_ACK of 0) when the front-end asks for a reply.
    /// </summary>
    public volatile bool IgnoreSetConfig;

    /// <summary>The next reply to <paramref name="request"/> reaches the front-end only after <paramref name="delay"/>.</summary>
    public void DelayNextReply(VhostUserRequest request, TimeSpan delay)
    {
        lock (_links)
        {
            _delay = delay;
            _delayed = request;
        }
    }

    private void Accept()
    {
        while (!_stopping)
        {
            UnixSocket? front;
            try { front = _listener.Accept(20); }
            catch (LinuxException) { return; }
            if (front is null) continue;
            UnixSocket back;
            try { back = UnixSocket.Connect(_target); }
            catch (LinuxException)
            {
                front.Dispose();
                continue;
            }
            Interlocked.Increment(ref _connections);
            var pumps = new[]
            {
                new Thread(() => Pump(front, back, replies: false)) { IsBackground = true, Name = "proxy-to-back" },
                new Thread(() => Pump(back, front, replies: true)) { IsBackground = true, Name = "proxy-to-front" },
            };
            lock (_links) _links.Add((front, back, pumps));
            foreach (var t in pumps) t.Start();
        }
    }

    /// <summary>Relays whole messages (header, payload, descriptors) from <paramref name="from"/> to <paramref name="to"/> until either side ends.</summary>
    private void Pump(UnixSocket from, UnixSocket to, bool replies)
    {
        var message = new byte[VhostUserHeader.Size + VhostUserLimits.MaxPayloadBytes];
        Span<int> fds = stackalloc int[VhostUserLimits.MaxFds];
        Span<int> more = stackalloc int[VhostUserLimits.MaxFds];
        try
        {
            while (true)
            {
                if (!from.ReceiveExact(message.AsSpan(0, VhostUserHeader.Size), fds, out int fdCount)) break;
                var h = VhostUserHeader.Read(message);
                int size = (int)Math.Min(h.PayloadSize, (uint)VhostUserLimits.MaxPayloadBytes);
                if (size > 0 && !from.ReceiveExact(message.AsSpan(VhostUserHeader.Size, size), more, out _)) break;
                if (replies && TakeDelay(h.Request) is { } delay) Thread.Sleep(delay);
                if (!replies && IgnoreSetConfig && h.Request == VhostUserRequest.SetConfig)
                {
                    foreach (int fd in fds[..fdCount]) FileDescriptor.Close(fd);
                    if (h.NeedsReply) AckAsDone(from, h.Request);
                    continue;
                }
                try { to.Send(message.AsSpan(0, VhostUserHeader.Size + size), fds[..fdCount]); }
                finally { foreach (int fd in fds[..fdCount]) FileDescriptor.Close(fd); }
            }
        }
        catch (Exception e) when (e is LinuxException or EndOfStreamException or ObjectDisposedException) { }
        // One side left: the other one learns it too.
        from.Shutdown();
        to.Shutdown();
    }

    /// <summary>Answers <paramref name="request"/> on <paramref name="front"/> with REPLY_ACK 0 ("done"), as the back-end would.</summary>
    private static void AckAsDone(UnixSocket front, VhostUserRequest request)
    {
        Span<byte> reply = stackalloc byte[VhostUserHeader.Size + VhostUserU64.Size];
        VhostUserHeader.ForReply(request, VhostUserU64.Size).Write(reply);
        VhostUserU64.Write(reply[VhostUserHeader.Size..], 0);
        front.Send(reply);
    }

    private TimeSpan? TakeDelay(VhostUserRequest request)
    {
        lock (_links)
        {
            if (_delayed != request) return null;
            _delayed = null;
            Interlocked.Increment(ref _delayedReplies);
            return _delay;
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _acceptor.Join(TimeSpan.FromSeconds(5));
        List<(UnixSocket Front, UnixSocket Back, Thread[] Pumps)> links;
        lock (_links) links = [.. _links];
        foreach (var (front, back, _) in links)
        {
            front.Shutdown();
            back.Shutdown();
        }
        foreach (var (front, back, pumps) in links)
        {
            foreach (var t in pumps) t.Join(TimeSpan.FromSeconds(10));
            front.Dispose();
            back.Dispose();
        }
        _listener.Dispose();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}
