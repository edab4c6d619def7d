using System.Runtime.InteropServices;
using System.Text;
using Orion.Pmd.Linux.Interop;

namespace Orion.Pmd.Linux;

/// <summary>
/// A Unix-domain stream socket that can carry file descriptors (SCM_RIGHTS): the control channel of vhost-user.
/// Every message goes out in one <c>sendmsg</c> with its descriptors attached, because a vhost-user peer collects
/// descriptors only with the message header. Calls block; <see cref="Shutdown"/> wakes a thread blocked on the socket.
/// </summary>
public sealed unsafe class UnixSocket : IDisposable
{
    /// <summary>The longest socket path, in UTF-8 bytes (<c>sun_path</c> is 108 bytes with its terminating NUL).</summary>
    public const int MaxPathBytes = SockAddrUn.PathCapacity - 1;

    /// <summary>The most descriptors one message may carry (the kernel allows more; vhost-user allows 8).</summary>
    public const int MaxFdsPerMessage = 16;

    private int _fd;
    private readonly bool _listening;

    private UnixSocket(int fd, string? path, bool listening = false)
    {
        _fd = fd;
        Path = path;
        _listening = listening;
    }

    /// <summary>The socket's file descriptor.</summary>
    public int Fd => _fd;

    /// <summary>The path it is bound or connected to (null for one end of a pair or an accepted connection).</summary>
    public string? Path { get; }

    /// <summary>Connects to the listening socket at <paramref name="path"/>.</summary>
    /// <exception cref="LinuxException">No socket there (ENOENT), nobody listening (ECONNREFUSED), and so on; the message names the path.</exception>
    public static UnixSocket Connect(string path)
    {
        var address = Address(path);
        int fd = NewSocket();
        if (LibC.connect(fd, &address, (uint)sizeof(SockAddrUn)) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            LibC.close(fd);
            throw new LinuxException($"connect({path})", errno);
        }
        return new UnixSocket(fd, path);
    }

    /// <summary>
    /// Listens at <paramref name="path"/>. A stale socket file left by a process that died is removed first (as
    /// qemu-storage-daemon does); a live listener there, or a file that is not a socket, is an error.
    /// </summary>
    public static UnixSocket Listen(string path, int backlog = 8)
    {
        var address = Address(path);
        RemoveStaleSocket(path);
        int fd = NewSocket();
        if (LibC.bind(fd, &address, (uint)sizeof(SockAddrUn)) != 0 || LibC.listen(fd, backlog) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            LibC.close(fd);
            throw new LinuxException($"bind/listen({path})", errno);
        }
        return new UnixSocket(fd, path, listening: true);
    }

    /// <summary>
    /// Takes over a listening Unix stream socket this process inherited (systemd's socket activation passes it as
    /// descriptor 3). It is checked to be one, and marked close-on-exec; disposing it closes the descriptor but leaves
    /// the socket file, which belongs to whoever created the socket.
    /// </summary>
    /// <exception cref="ArgumentException">The descriptor is not open, or not a listening Unix stream socket; the message says which.</exception>
    public static UnixSocket AdoptListener(int fd, string? path = null)
    {
        int domain = SocketOption(fd, LibC.SO_DOMAIN), type = SocketOption(fd, LibC.SO_TYPE), accepting = SocketOption(fd, LibC.SO_ACCEPTCONN);
        if (domain != LibC.AF_UNIX || type != LibC.SOCK_STREAM || accepting != 1)
            throw new ArgumentException($"descriptor {fd} is not a listening Unix stream socket (domain {domain}, type {type}, listening {accepting == 1}); " +
                                        "a systemd .socket unit for it needs ListenStream=/path/to/socket", nameof(fd));
        if (LibC.fcntl(fd, LibC.F_SETFD, LibC.FD_CLOEXEC) != 0) throw LinuxException.FromLastError($"fcntl(F_SETFD) on descriptor {fd}");
        return new UnixSocket(fd, path);
    }

    private static int SocketOption(int fd, int name)
    {
        int value = 0;
        uint length = sizeof(int);
        if (LibC.getsockopt(fd, LibC.SOL_SOCKET, name, &value, &length) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new ArgumentException($"descriptor {fd} is not an open socket ({new LinuxException("getsockopt", errno).Message})", nameof(fd));
        }
        return value;
    }

    /// <summary>A connected pair (<c>socketpair</c>), for tests and in-process peers.</summary>
    public static (UnixSocket First, UnixSocket Second) CreatePair()
    {
        int* sv = stackalloc int[2];
        if (LibC.socketpair(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0, sv) != 0)
            throw LinuxException.FromLastError("socketpair");
        return (new UnixSocket(sv[0], null), new UnixSocket(sv[1], null));
    }

    /// <summary>Waits up to <paramref name="timeoutMs"/> (-1 = forever) for a client; null on timeout.</summary>
    public UnixSocket? Accept(int timeoutMs)
    {
        if (!WaitReadable(timeoutMs)) return null;
        int fd = LibC.accept4(Handle(), null, null, LibC.SOCK_CLOEXEC);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno is Errno.EAGAIN or Errno.EINTR or Errno.ECONNABORTED) return null;
            throw new LinuxException($"accept({Path})", errno);
        }
        return new UnixSocket(fd, null);
    }

    /// <summary>
    /// Sends <paramref name="data"/> with <paramref name="fds"/> attached, in one <c>sendmsg</c> (the rest of a
    /// partial write follows without descriptors). Never raises SIGPIPE: a closed peer is an EPIPE exception.
    /// </summary>
    public void Send(ReadOnlySpan<byte> data, ReadOnlySpan<int> fds = default)
    {
        if (fds.Length > MaxFdsPerMessage)
            throw new ArgumentException($"{fds.Length} descriptors in one message; at most {MaxFdsPerMessage}", nameof(fds));
        if (data.IsEmpty) throw new ArgumentException("a message needs at least one byte to carry descriptors", nameof(data));
        int controlBytes = fds.IsEmpty ? 0 : CmsgHdr.Space(fds.Length * sizeof(int));
        byte* control = stackalloc byte[CmsgHdr.Space(MaxFdsPerMessage * sizeof(int))];
        if (controlBytes > 0)
        {
            new Span<byte>(control, controlBytes).Clear();
            var header = (CmsgHdr*)control;
            header->Length = (nuint)(CmsgHdr.HeaderSize + fds.Length * sizeof(int));
            header->Level = LibC.SOL_SOCKET;
            header->Type = LibC.SCM_RIGHTS;
            fds.CopyTo(new Span<int>(control + CmsgHdr.HeaderSize, fds.Length));
        }
        fixed (byte* p = data)
        {
            int sent = 0;
            while (sent < data.Length)
            {
                var iov = new IoVec { Base = p + sent, Length = (nuint)(data.Length - sent) };
                var msg = new MsgHdr { Iov = &iov, IovLength = 1 };
                if (sent == 0 && controlBytes > 0)
                {
                    msg.Control = control;
                    msg.ControlLength = (nuint)controlBytes;
                }
                nint n = LibC.sendmsg(Handle(), &msg, LibC.MSG_NOSIGNAL);
                if (n < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == Errno.EINTR) continue;
                    if (errno == Errno.EAGAIN && _sendTimeout > TimeSpan.Zero)
                        throw new TimeoutException($"the peer took {sent} of {data.Length} bytes and then nothing for {_sendTimeout.TotalMilliseconds} ms (it reads nothing)");
                    throw new LinuxException("sendmsg", errno);
                }
                sent += (int)n;
            }
        }
    }

    /// <summary>
    /// One <c>recvmsg</c>: up to <paramref name="buffer"/>.Length bytes and the descriptors that came with them,
    /// which the caller then owns. Returns 0 at end of stream. Descriptors beyond <paramref name="fds"/>' room are
    /// closed and reported as an error, so none leaks.
    /// </summary>
    public int Receive(Span<byte> buffer, Span<int> fds, out int fdCount)
    {
        fdCount = 0;
        int controlCapacity = CmsgHdr.Space(MaxFdsPerMessage * sizeof(int));
        byte* control = stackalloc byte[controlCapacity];
        fixed (byte* p = buffer)
        {
            nint n;
            MsgHdr msg;
            do
            {
                var iov = new IoVec { Base = p, Length = (nuint)buffer.Length };
                msg = new MsgHdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = (nuint)controlCapacity };
                n = LibC.recvmsg(Handle(), &msg, LibC.MSG_CMSG_CLOEXEC);
            }
            while (n < 0 && Marshal.GetLastPInvokeError() == Errno.EINTR);
            if (n < 0) throw LinuxException.FromLastError("recvmsg");
            int overflow = TakeDescriptors(control, (int)msg.ControlLength, fds, ref fdCount);
            if (overflow > 0 || (msg.Flags & LibC.MSG_CTRUNC) != 0)
            {
                for (int i = 0; i < fdCount; i++) LibC.close(fds[i]);
                fdCount = 0;
                throw new IOException(overflow > 0
                    ? $"the peer sent {overflow + fds.Length} descriptors with one message; at most {fds.Length} are accepted"
                    : $"the peer sent more than {MaxFdsPerMessage} descriptors with one message (the rest were dropped)");
            }
            return (int)n;
        }
    }

    private static int TakeDescriptors(byte* control, int length, Span<int> fds, ref int fdCount)
    {
        int overflow = 0;
        int offset = 0;
        while (offset + CmsgHdr.HeaderSize <= length)
        {
            var header = (CmsgHdr*)(control + offset);
            int cmsgLength = (int)header->Length;
            if (cmsgLength < CmsgHdr.HeaderSize || offset + cmsgLength > length) break;
            if (header->Level == LibC.SOL_SOCKET && header->Type == LibC.SCM_RIGHTS)
            {
                int count = (cmsgLength - CmsgHdr.HeaderSize) / sizeof(int);
                int* received = (int*)(control + offset + CmsgHdr.HeaderSize);
                for (int i = 0; i < count; i++)
                {
                    if (fdCount < fds.Length) fds[fdCount++] = received[i];
                    else
                    {
                        LibC.close(received[i]);
                        overflow++;
                    }
                }
            }
            offset += (cmsgLength + 7) & ~7;
        }
        return overflow;
    }

    /// <summary>
    /// Fills <paramref name="buffer"/> exactly, collecting descriptors over the reads. Returns false when the stream
    /// ended before the first byte (an orderly hang-up); throws <see cref="EndOfStreamException"/> when it ended
    /// part-way. Whatever ends a read early (hang-up, too many descriptors, an error), every descriptor received by
    /// then is closed: the caller owns descriptors only after a true return.
    /// </summary>
    public bool ReceiveExact(Span<byte> buffer, Span<int> fds, out int fdCount) => ReceiveExact(buffer, fds, out fdCount, -1);

    /// <summary>
    /// <see cref="ReceiveExact(Span{byte}, Span{int}, out int)"/> with a deadline: a peer that has not sent the whole
    /// of <paramref name="buffer"/> within <paramref name="timeoutMs"/> (-1 = no deadline) gets a
    /// <see cref="TimeoutException"/>, and the descriptors received by then are closed.
    /// </summary>
    public bool ReceiveExact(Span<byte> buffer, Span<int> fds, out int fdCount, int timeoutMs)
    {
        fdCount = 0;
        int got = 0;
        long deadline = timeoutMs < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMs;
        try
        {
            while (got < buffer.Length)
            {
                if (timeoutMs >= 0)
                {
                    long left = deadline - Environment.TickCount64;
                    if (left <= 0 || !WaitReadable((int)Math.Min(left, int.MaxValue)))
                        throw new TimeoutException($"the peer sent {got} of {buffer.Length} bytes of a message and then nothing for {timeoutMs} ms");
                }
                int n = Receive(buffer[got..], fds[fdCount..], out int more);
                fdCount += more;
                if (n == 0)
                {
                    if (got == 0 && fdCount == 0) return false;
                    throw new EndOfStreamException($"the peer closed the connection after {got} of {buffer.Length} bytes of a message");
                }
                got += n;
            }
            return true;
        }
        catch
        {
            for (int i = 0; i < fdCount; i++) LibC.close(fds[i]);
            fdCount = 0;
            throw;
        }
    }

    /// <summary>
    /// How long one <see cref="Send"/> may wait for the peer to make room (SO_SNDTIMEO); past it the send throws
    /// <see cref="TimeoutException"/>. <see cref="TimeSpan.Zero"/> (the default) waits for ever.
    /// </summary>
    public TimeSpan SendTimeout
    {
        get => _sendTimeout;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            long us = (long)Math.Min(value.TotalMicroseconds, int.MaxValue * 1_000_000.0);
            var tv = new TimeVal { Seconds = us / 1_000_000, Microseconds = us % 1_000_000 };
            if (LibC.setsockopt(Handle(), LibC.SOL_SOCKET, LibC.SO_SNDTIMEO, &tv, (uint)sizeof(TimeVal)) != 0)
                throw LinuxException.FromLastError("setsockopt(SO_SNDTIMEO)");
            _sendTimeout = value;
        }
    }
    private TimeSpan _sendTimeout;

    /// <summary>Waits up to <paramref name="timeoutMs"/> (-1 = forever) until a read would not block (data, a client, or hang-up).</summary>
    public bool WaitReadable(int timeoutMs) => (PollEvents(LibC.POLLIN, timeoutMs) & (LibC.POLLIN | LibC.POLLHUP | LibC.POLLERR | LibC.POLLNVAL)) != 0;

    /// <summary>Whether the peer has hung up (or the socket failed), without consuming anything.</summary>
    public bool IsHungUp(int timeoutMs = 0) =>
        (PollEvents(LibC.POLLRDHUP, timeoutMs) & (LibC.POLLRDHUP | LibC.POLLHUP | LibC.POLLERR | LibC.POLLNVAL)) != 0;

    private short PollEvents(short events, int timeoutMs)
    {
        var pfd = new PollFd { Fd = Handle(), Events = events };
        while (true)
        {
            int n = LibC.poll(&pfd, 1, timeoutMs);
            if (n >= 0) return n == 0 ? (short)0 : pfd.REvents;
            int errno = Marshal.GetLastPInvokeError();
            if (errno != Errno.EINTR) throw new LinuxException("poll", errno);
        }
    }

    /// <summary>The process id of the peer when it connected (SO_PEERCRED), or null when the kernel does not say.</summary>
    public int? PeerProcessId
    {
        get
        {
            int* cred = stackalloc int[3];               // struct ucred { pid, uid, gid }
            uint length = 12;
            if (LibC.getsockopt(Handle(), LibC.SOL_SOCKET, LibC.SO_PEERCRED, cred, &length) != 0 || cred[0] <= 0) return null;
            return cred[0];
        }
    }

    /// <summary>Shuts both directions down: the peer sees end of stream and a thread blocked on this socket wakes.</summary>
    public void Shutdown()
    {
        int fd = Volatile.Read(ref _fd);
        if (fd >= 0) LibC.shutdown(fd, LibC.SHUT_RDWR);
    }

    /// <summary>Closes the socket; a listening socket also removes its socket file.</summary>
    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd < 0) return;
        LibC.close(fd);
        if (_listening) LibC.unlink(Path!);
    }

    private int Handle()
    {
        int fd = Volatile.Read(ref _fd);
        ObjectDisposedException.ThrowIf(fd < 0, this);
        return fd;
    }

    private static int NewSocket()
    {
        int fd = LibC.socket(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0);
        if (fd < 0) throw LinuxException.FromLastError("socket(AF_UNIX)");
        return fd;
    }

    private static SockAddrUn Address(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        int bytes = Encoding.UTF8.GetByteCount(path);
        if (bytes > MaxPathBytes)
            throw new ArgumentException(
                $"socket path '{path}' is {bytes} bytes; a Unix socket path holds at most {MaxPathBytes}: use a shorter directory such as one under /tmp", nameof(path));
        if (path.Contains('\0')) throw new ArgumentException("a socket path cannot contain NUL", nameof(path));
        var address = new SockAddrUn { Family = LibC.AF_UNIX };
        Encoding.UTF8.GetBytes(path, new Span<byte>(address.Path, SockAddrUn.PathCapacity));
        return address;
    }

    private static void RemoveStaleSocket(string path)
    {
        Statx info;
        if (LibC.statx(LibC.AT_FDCWD, path, LibC.AT_SYMLINK_NOFOLLOW, LibC.STATX_TYPE, &info) != 0) return;   // nothing there
        if ((info.Mode & LibC.S_IFMT) != LibC.S_IFSOCK)
            throw new IOException($"'{path}' exists and is not a socket; choose another path or remove it");
        try
        {
            using var probe = Connect(path);
        }
        catch (LinuxException e) when (e.Errno == Errno.ECONNREFUSED)
        {
            LibC.unlink(path);       // nobody listens: a stale file from a process that died
            return;
        }
        throw new IOException($"another process is already listening on '{path}'");
    }
}
