using Orion.Pmd.Linux;
using Orion.Pmd.Virtio.VhostUser;

namespace Orion.Pmd.Engine.Transport.VhostUser;

/// <summary>
/// The front-end's end of one vhost-user connection: synchronous request/reply, one message per <c>sendmsg</c> with
/// its descriptors, replies read as exactly a 12-byte header then its payload. Any protocol error, time-out or
/// hang-up surfaces as <see cref="VhostUserDisconnectedException"/>: the back-end's only way to report a failure is
/// to close the connection (qemu-storage-daemon acks 0 even then). Any such failure also ends the connection: the
/// socket is shut down, later requests fail at once, and the link supervisor sees a hang-up and reconnects. A channel
/// that stayed open after a reply timed out would hand the late reply to the next request as its answer.
/// </summary>
internal sealed class VhostUserChannel : IDisposable
{
    private readonly UnixSocket _socket;
    private readonly int _replyTimeoutMs;
    private readonly byte[] _buffer = new byte[VhostUserHeader.Size + VhostUserLimits.MaxPayloadBytes];
    private readonly object _lock = new();

    public VhostUserChannel(UnixSocket socket, TimeSpan replyTimeout, string path)
    {
        _socket = socket;
        _replyTimeoutMs = (int)Math.Clamp(replyTimeout.TotalMilliseconds, 1, int.MaxValue);
        Path = path;
        PeerProcessId = socket.PeerProcessId;
    }

    public string Path { get; }

    /// <summary>The back-end's process id (SO_PEERCRED), when the kernel tells.</summary>
    public int? PeerProcessId { get; }

    /// <summary>Why the connection was ended after a failure; null while it is usable.</summary>
    public string? Failure => Volatile.Read(ref _failure);
    private string? _failure;

    /// <summary>Whether REPLY_ACK was negotiated: requests sent with needReply then wait for the u64 acknowledgement.</summary>
    public bool ReplyAck { get; set; }

    /// <summary>Sends a request that has no reply of its own. With <paramref name="needReply"/> and REPLY_ACK it waits for the ack (a barrier).</summary>
    public void Send(VhostUserRequest request, ReadOnlySpan<byte> payload, ReadOnlySpan<int> fds = default, bool needReply = false)
    {
        lock (_lock)
        {
            ThrowIfFailed(request);
            try
            {
                bool ack = needReply && ReplyAck;
                Write(request, payload, fds, ack);
                if (!ack) return;
                var reply = ReadReply(request);
                if (!VhostUserU64.TryRead(reply, out ulong status))
                    throw Protocol($"acknowledged {request} with a {reply.Length}-byte payload instead of 8");
                if (status != 0) throw Protocol($"refused {request} (ack {status})");
            }
            catch (VhostUserDisconnectedException e)
            {
                End(e.Message);
                throw;
            }
        }
    }

    /// <summary>Sends a request whose reply carries a payload; copies the payload into <paramref name="reply"/> and returns its length.</summary>
    public int Call(VhostUserRequest request, ReadOnlySpan<byte> payload, Span<byte> reply)
    {
        lock (_lock)
        {
            ThrowIfFailed(request);
            try
            {
                Write(request, payload, default, needReply: false);
                var got = ReadReply(request);
                if (got.Length > reply.Length) throw Protocol($"answered {request} with {got.Length} bytes; at most {reply.Length} were expected");
                got.CopyTo(reply);
                return got.Length;
            }
            catch (VhostUserDisconnectedException e)
            {
                End(e.Message);
                throw;
            }
        }
    }

    /// <summary>
    /// Ends the connection because its answer to <paramref name="request"/> cannot be used (<paramref name="what"/>),
    /// and returns the exception to throw: the caller's state no longer matches the back-end's.
    /// </summary>
    public VhostUserDisconnectedException Abandon(VhostUserRequest request, string what)
    {
        string message = $"vhost-user back-end at {Path} {what} (in reply to {request}); the connection is ended";
        End(message);
        return new VhostUserDisconnectedException(message);
    }

    /// <summary>
    /// Marks the connection failed and shuts the socket down (not closed: the supervisor may be polling it). The
    /// back-end sees the front-end leave and stops its rings; this side's poll reports a hang-up.
    /// </summary>
    private void End(string reason)
    {
        if (Interlocked.CompareExchange(ref _failure, reason, null) is null) _socket.Shutdown();
    }

    private void ThrowIfFailed(VhostUserRequest request)
    {
        if (Failure is { } failure)
            throw new VhostUserDisconnectedException($"vhost-user back-end at {Path}: {request} not sent, the connection was ended: {failure}");
    }

    /// <summary>Waits up to <paramref name="timeoutMs"/> for the back-end to hang up; true when it has, or when this side ended the connection.</summary>
    public bool WaitForHangUp(int timeoutMs) => Failure is not null || _socket.IsHungUp(timeoutMs);

    private void Write(VhostUserRequest request, ReadOnlySpan<byte> payload, ReadOnlySpan<int> fds, bool needReply)
    {
        var message = _buffer.AsSpan(0, VhostUserHeader.Size + payload.Length);
        VhostUserHeader.ForRequest(request, payload.Length, needReply).Write(message);
        payload.CopyTo(message[VhostUserHeader.Size..]);
        try
        {
            _socket.Send(message, fds);
        }
        catch (LinuxException e)
        {
            throw new VhostUserDisconnectedException($"vhost-user back-end at {Path} is gone ({e.Message}) while sending {request}", e);
        }
    }

    /// <summary>
    /// Reads one reply, header and payload, within one <see cref="_replyTimeoutMs"/> deadline: a back-end that stops
    /// part-way through a reply ends the connection like one that never answers. Descriptors that came with a reply
    /// (none should) are closed, those of a part read before a failure included (<see cref="UnixSocket.ReceiveExact(Span{byte}, Span{int}, out int, int)"/>).
    /// </summary>
    private ReadOnlySpan<byte> ReadReply(VhostUserRequest request)
    {
        Span<int> fds = stackalloc int[VhostUserLimits.MaxFds];
        long deadline = Environment.TickCount64 + _replyTimeoutMs;
        try
        {
            var header = _buffer.AsSpan(0, VhostUserHeader.Size);
            if (!_socket.ReceiveExact(header, fds, out int fdCount, _replyTimeoutMs))
                throw new VhostUserDisconnectedException($"vhost-user back-end at {Path} closed the connection instead of answering {request} (its log says why)");
            CloseAll(fds[..fdCount]);
            var h = VhostUserHeader.Read(header);
            if (!h.HasValidVersion || !h.IsReply || h.Request != request)
                throw Protocol($"answered {request} with request {h.Request}, flags 0x{h.Flags:x}");
            if (h.PayloadSize > VhostUserLimits.MaxPayloadBytes)
                throw Protocol($"announced a {h.PayloadSize}-byte reply to {request}; at most {VhostUserLimits.MaxPayloadBytes}");
            var payload = _buffer.AsSpan(VhostUserHeader.Size, (int)h.PayloadSize);
            int left = (int)Math.Max(0, deadline - Environment.TickCount64);
            if (!_socket.ReceiveExact(payload, fds, out fdCount, left) && payload.Length > 0)
                throw new VhostUserDisconnectedException($"vhost-user back-end at {Path} closed the connection in the middle of its reply to {request}");
            CloseAll(fds[..fdCount]);
            return payload;
        }
        catch (TimeoutException e)
        {
            throw new VhostUserDisconnectedException($"vhost-user back-end at {Path} did not answer {request} within {_replyTimeoutMs} ms ({e.Message})", e);
        }
        catch (Exception e) when (e is LinuxException or EndOfStreamException or IOException and not VhostUserDisconnectedException)
        {
            throw new VhostUserDisconnectedException($"vhost-user back-end at {Path} failed while answering {request}: {e.Message}", e);
        }
    }

    private static void CloseAll(ReadOnlySpan<int> fds)
    {
        foreach (int fd in fds) FileDescriptor.Close(fd);
    }

    private VhostUserDisconnectedException Protocol(string what) =>
        new($"vhost-user back-end at {Path} {what}; the connection is no longer usable");

    public void Dispose() => _socket.Dispose();
}

/// <summary>The vhost-user connection failed: the back-end hung up, stopped answering, or broke the protocol.</summary>
public sealed class VhostUserDisconnectedException : IOException
{
    /// <summary>Creates the exception.</summary>
    public VhostUserDisconnectedException(string message, Exception? inner = null) : base(message, inner) { }
}
