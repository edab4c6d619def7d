using Orion.Pmd.Linux;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.VhostUser;

namespace Orion.Pmd.Device.VhostUser;

/// <summary>
/// One front-end's connection: reads messages (a 12-byte header with at most 8 fds, then exactly the announced payload),
/// answers them, and drives the device's queues. Everything the front-end sends is validated before it reaches the
/// device; a malformed message ends the session. Whatever ends it (hang-up, protocol error, a queue found broken), the
/// clean-up is the same: the device threads are joined, the front-end's memory unmapped and every fd it sent closed.
/// </summary>
/// <remarks>Single-threaded: only the thread in <see cref="Run"/> touches the session, except the broken-queue handler, which only records a reason and shuts the socket down.</remarks>
internal sealed partial class VhostUserSession
{
    private readonly SoftBlkDevice _device;
    private readonly UnixSocket _socket;
    private readonly UnixSocket? _listener;
    private readonly VhostUserServerOptions _options;
    private readonly TextWriter _log;
    private readonly byte[] _buffer = new byte[VhostUserHeader.Size + VhostUserLimits.MaxPayloadBytes];
    private readonly int[] _fds = new int[VhostUserLimits.MaxFds];
    private int _fdCount;
    private readonly VringSlot[] _vrings;
    private volatile string? _brokenReason;

    // listener: the server's listening socket, when it has one: a quiet connection is dropped for a client waiting there.
    public VhostUserSession(SoftBlkDevice device, UnixSocket socket, UnixSocket? listener, VhostUserServerOptions options, TextWriter log)
    {
        _device = device;
        _socket = socket;
        _listener = listener;
        _options = options;
        _log = log;
        _vrings = new VringSlot[device.NumQueues];
        for (int i = 0; i < _vrings.Length; i++) _vrings[i] = new VringSlot(i);
    }

    /// <summary>Serves the connection until it ends; returns why it ended. The socket is closed and the device reset on return.</summary>
    public string Run()
    {
        _device.QueueBroken += OnQueueBroken;
        try
        {
            return Loop();
        }
        finally
        {
            CleanUp();
        }
    }

    private string Loop()
    {
        _socket.SendTimeout = _options.MessageTimeout;        // a reply the front-end never takes must not block us
        while (true)
        {
            VhostUserHeader header;
            ReadOnlySpan<byte> payload;
            try
            {
                if (!TryReadMessage(out header, out int length)) return _brokenReason ?? "the front-end disconnected";
                payload = _buffer.AsSpan(VhostUserHeader.Size, length);
            }
            catch (VhostUserProtocolException e)
            {
                return _brokenReason ?? e.Message;
            }
            catch (Exception e) when (e is IOException or LinuxException)
            {
                return _brokenReason ?? $"the connection failed: {e.Message}";
            }

            try
            {
                Dispatch(header, payload);
            }
            catch (VhostUserRequestRefusedException e)
            {
                _log.WriteLine($"vhost-user: refused {Name(header.Request)}: {e.Message}");
                if (header.NeedsReply && !HasOwnReply(header.Request)) TryAck(header.Request, 1);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Unlike qemu-storage-daemon (which acks 0 and then hangs up), say that the request failed before closing.
                // Any failure ends only this connection: the server goes on to the next client.
                if (header.NeedsReply && !HasOwnReply(header.Request)) TryAck(header.Request, 1);
                return _brokenReason ?? e switch
                {
                    VhostUserProtocolException => e.Message,
                    ArgumentException or InvalidOperationException or IOException or LinuxException => $"{Name(header.Request)}: {e.Message}",
                    _ => $"{Name(header.Request)}: internal error {e.GetType().Name}: {e.Message}",
                };
            }
            finally
            {
                CloseUnclaimedFds();
            }
        }
    }

    /// <summary>
    /// Reads one message into <see cref="_buffer"/> and its fds into <see cref="_fds"/>. False on a hang-up between
    /// messages; a malformed frame, or one that does not arrive whole within the message timeout, throws
    /// <see cref="VhostUserProtocolException"/>.
    /// </summary>
    private bool TryReadMessage(out VhostUserHeader header, out int payloadLength)
    {
        header = default;
        payloadLength = 0;
        WaitForMessage();
        var head = _buffer.AsSpan(0, VhostUserHeader.Size);
        int timeoutMs = Milliseconds(_options.MessageTimeout);
        long deadline = Environment.TickCount64 + timeoutMs;
        try
        {
            if (!_socket.ReceiveExact(head, _fds, out _fdCount, timeoutMs)) return false;
        }
        catch (TimeoutException e)
        {
            throw new VhostUserProtocolException($"the front-end stopped in the middle of a message: {e.Message}");
        }
        catch (IOException e) when (e is not EndOfStreamException)
        {
            // UnixSocket closes what did not fit: more than 8 fds is libvhost-user's limit too.
            throw new VhostUserProtocolException($"a message carried too many fds ({e.Message}); at most {VhostUserLimits.MaxFds} are allowed");
        }
        header = VhostUserHeader.Read(head);
        if (!header.HasValidVersion)
            throw new VhostUserProtocolException($"message {Name(header.Request)} has flags 0x{header.Flags:x}: the version bits must say 1");
        if (header.IsReply)
            throw new VhostUserProtocolException($"message {Name(header.Request)} has the REPLY flag (flags 0x{header.Flags:x}); a front-end sends requests only");
        if (header.PayloadSize > VhostUserLimits.MaxPayloadBytes)
            throw new VhostUserProtocolException(
                $"message {Name(header.Request)} announces a {header.PayloadSize}-byte payload; at most {VhostUserLimits.MaxPayloadBytes} bytes are allowed");
        payloadLength = (int)header.PayloadSize;
        if (payloadLength == 0) return true;
        // fds travel with the header only (one sendmsg per message); any arriving with the payload is an error.
        try
        {
            int left = (int)Math.Max(0, deadline - Environment.TickCount64);
            if (!_socket.ReceiveExact(_buffer.AsSpan(VhostUserHeader.Size, payloadLength), Span<int>.Empty, out _, left))
                throw new VhostUserProtocolException($"the front-end hung up after the header of {Name(header.Request)}, before its {payloadLength}-byte payload");
        }
        catch (TimeoutException e)
        {
            throw new VhostUserProtocolException($"the front-end stopped in the middle of a message ({Name(header.Request)}'s payload): {e.Message}");
        }
        return true;
    }

    /// <summary>
    /// Waits until the next message starts (or the front-end hangs up). With no queue running, a connection quiet for
    /// the idle timeout is dropped as soon as another client waits to connect: one client at a time must not mean one
    /// silent client for ever. Queues start and stop only through messages (or a broken queue, which shuts the socket
    /// down), so whether one runs cannot change during the wait.
    /// </summary>
    private void WaitForMessage()
    {
        if (_listener is null || AnyRunning())
        {
            _socket.WaitReadable(-1);
            return;
        }
        if (_socket.WaitReadable(Milliseconds(_options.IdleTimeout))) return;
        _quiet ??= new PollSet(2);
        if (_quiet.Count == 0)
        {
            _quiet.Add(_socket.Fd);
            _quiet.Add(_listener.Fd);
        }
        while (true)
        {
            _quiet.Wait(-1);
            if (_quiet.IsReadable(0) || _quiet.HasError(0)) return;
            if (_quiet.IsReadable(1))
                throw new VhostUserProtocolException(
                    $"the front-end sent nothing for {Milliseconds(_options.IdleTimeout)} ms with no queue running while another client waits; dropped for it");
            if (_quiet.HasError(1)) { _socket.WaitReadable(-1); return; }        // the listener closed: the server is stopping
        }
    }
    private PollSet? _quiet;

    private static int Milliseconds(TimeSpan t) => (int)Math.Clamp(Math.Ceiling(t.TotalMilliseconds), 1, int.MaxValue);

    /// <summary>Requests whose reply is their result (NEED_REPLY then adds no second acknowledgement).</summary>
    private static bool HasOwnReply(VhostUserRequest r) => r is VhostUserRequest.GetFeatures or VhostUserRequest.GetProtocolFeatures
        or VhostUserRequest.GetQueueNum or VhostUserRequest.GetVringBase or VhostUserRequest.GetConfig;

    /// <summary>The most fds a request may carry (each handler then checks the exact count).</summary>
    private static int FdsAllowed(VhostUserRequest r) => r switch
    {
        VhostUserRequest.SetMemTable => VhostUserLimits.MaxRegions,
        VhostUserRequest.SetVringKick or VhostUserRequest.SetVringCall or VhostUserRequest.SetVringErr => 1,
        _ => 0,
    };

    private void Dispatch(VhostUserHeader header, ReadOnlySpan<byte> payload)
    {
        var r = header.Request;
        if (_fdCount > FdsAllowed(r))
            throw new VhostUserProtocolException($"{Name(r)} carries {_fdCount} fd(s); it takes at most {FdsAllowed(r)}");
        switch (r)
        {
            case VhostUserRequest.GetFeatures: ExpectNoPayload(r, payload); ReplyU64(r, GetFeatures()); return;
            case VhostUserRequest.SetFeatures: SetFeatures(U64(r, payload)); break;
            case VhostUserRequest.SetOwner: ExpectNoPayload(r, payload); break;
            case VhostUserRequest.ResetOwner: ExpectNoPayload(r, payload); ResetQueues(); break;
            case VhostUserRequest.GetProtocolFeatures: ExpectNoPayload(r, payload); ReplyU64(r, (ulong)OfferedProtocolFeatures); return;
            case VhostUserRequest.SetProtocolFeatures: SetProtocolFeatures(U64(r, payload)); break;
            case VhostUserRequest.GetQueueNum: ExpectNoPayload(r, payload); ReplyU64(r, (ulong)_device.NumQueues); return;
            case VhostUserRequest.SetMemTable: SetMemoryTable(payload); break;
            case VhostUserRequest.SetVringNum: SetVringNum(State(r, payload)); break;
            case VhostUserRequest.SetVringAddr: SetVringAddr(payload); break;
            case VhostUserRequest.SetVringBase: SetVringBase(State(r, payload)); break;
            case VhostUserRequest.GetVringBase: GetVringBase(State(r, payload)); return;
            case VhostUserRequest.SetVringKick: SetVringKick(File(r, payload)); break;
            case VhostUserRequest.SetVringCall: SetVringCall(File(r, payload)); break;
            case VhostUserRequest.SetVringErr: SetVringErr(File(r, payload)); break;
            case VhostUserRequest.SetVringEnable: SetVringEnable(State(r, payload)); break;
            case VhostUserRequest.GetConfig: GetConfig(payload); return;
            case VhostUserRequest.SetConfig: SetConfig(payload); break;
            default:
                throw new VhostUserProtocolException(Enum.IsDefined(r)
                    ? $"{Name(r)} is not supported by this back-end (it offers protocol features {OfferedProtocolFeatures} and virtio features {_device.OfferedFeatures.Describe()})"
                    : $"unknown request {(uint)r}; requests are 1 to {(uint)VhostUserRequest.GetStatus}");
        }
        if (header.NeedsReply) Ack(r, 0);
    }

    // ------------------------------------------------------------------ payloads

    private static void ExpectNoPayload(VhostUserRequest r, ReadOnlySpan<byte> payload)
    {
        // Some front-ends send a zero u64 with requests that take nothing; libvhost-user ignores it, and so do we.
        if (payload.Length is not (0 or VhostUserU64.Size))
            throw new VhostUserProtocolException($"{Name(r)} takes no payload; it came with {payload.Length} bytes");
    }

    private static ulong U64(VhostUserRequest r, ReadOnlySpan<byte> payload) =>
        VhostUserU64.TryRead(payload, out ulong v) ? v
            : throw new VhostUserProtocolException($"{Name(r)} takes an 8-byte payload; it came with {payload.Length} bytes");

    private static VringState State(VhostUserRequest r, ReadOnlySpan<byte> payload) =>
        VringState.TryRead(payload, out var v) ? v
            : throw new VhostUserProtocolException($"{Name(r)} takes an {VringState.Size}-byte vring state; it came with {payload.Length} bytes");

    private static VringFile File(VhostUserRequest r, ReadOnlySpan<byte> payload) =>
        VringFile.TryRead(payload, out var v) ? v
            : throw new VhostUserProtocolException(payload.Length != VringFile.Size
                ? $"{Name(r)} takes an 8-byte payload; it came with {payload.Length} bytes"
                : $"{Name(r)} payload 0x{System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(payload):x} sets reserved bits; only bits 0-7 (index) and 8 (no fd) are defined");

    internal static string Name(VhostUserRequest r) => Enum.IsDefined(r) ? r.ToString() : $"request {(uint)r}";

    // ------------------------------------------------------------------ replies and fds

    private void ReplyU64(VhostUserRequest r, ulong value)
    {
        Span<byte> payload = stackalloc byte[VhostUserU64.Size];
        VhostUserU64.Write(payload, value);
        Reply(r, payload);
    }

    private void Ack(VhostUserRequest r, ulong status) => ReplyU64(r, status);

    private void TryAck(VhostUserRequest r, ulong status)
    {
        try
        {
            Ack(r, status);
        }
        catch (Exception e) when (e is IOException or VhostUserProtocolException or ObjectDisposedException)
        {
            // The front-end is gone already, or reads nothing; the session ends anyway.
        }
    }

    private void Reply(VhostUserRequest r, ReadOnlySpan<byte> payload)
    {
        Span<byte> message = stackalloc byte[VhostUserHeader.Size + payload.Length];
        VhostUserHeader.ForReply(r, payload.Length).Write(message);
        payload.CopyTo(message[VhostUserHeader.Size..]);
        try
        {
            _socket.Send(message);
        }
        catch (TimeoutException e)
        {
            throw new VhostUserProtocolException($"the front-end does not read its replies ({Name(r)}): {e.Message}");
        }
    }

    /// <summary>Takes the message's single fd (a handler then owns it); throws unless exactly one came.</summary>
    private int TakeOneFd(VhostUserRequest r, uint index)
    {
        if (_fdCount != 1)
            throw new VhostUserProtocolException($"{Name(r)} for queue {index} carries {_fdCount} fds; it needs exactly one unless the no-fd flag (0x100) is set");
        int fd = _fds[0];
        _fdCount = 0;
        return fd;
    }

    private void CloseUnclaimedFds()
    {
        for (int i = 0; i < _fdCount; i++) FileDescriptor.Close(_fds[i]);
        _fdCount = 0;
    }

    // ------------------------------------------------------------------ ending

    private void OnQueueBroken(int queue, VirtqueueError error, string message)
    {
        // A device thread: record why, and wake the session thread, which cleans up.
        _brokenReason ??= $"queue {queue} is broken ({error}): {message}";
        _socket.Shutdown();
    }

    /// <summary>One line of what a queue did (requests, kicks and sleeps per request), written when it stops.</summary>
    private void LogQueueStats(int index)
    {
        var s = _device.GetQueueStats(index);
        if (s.Requests == 0 && s.KicksReceived == 0) return;
        double per = Math.Max(1, s.Requests);
        // librbd's completions wake a sleeping device thread through an eventfd the backend signals itself.
        long wakeups = _device.GetQueueIoCounters(index)?.Wakeups ?? 0;
        _log.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"vhost-user: queue {index}: {s.Requests} requests in {s.Batches} batches, {s.KicksReceived} kicks ({s.KicksReceived / per:0.###} per request), " +
            $"{s.Sleeps} sleeps ({s.Sleeps / per:0.###} per request), {s.InterruptsSent} interrupts") +
            (wakeups > 0 ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $", {wakeups} completion wake-ups ({wakeups / per:0.###} per request)") : ""));
    }

    private void CleanUp()
    {
        _device.QueueBroken -= OnQueueBroken;
        foreach (var v in _vrings)
            if (v.Running) LogQueueStats(v.Index);
        _device.Reset();                             // joins the device threads, then unmaps the front-end's memory
        foreach (var v in _vrings) v.CloseFds();     // only now: a kick-driven thread waited on its kick fd
        CloseUnclaimedFds();
        _userMap.Clear();
        _socket.Dispose();
    }
}
