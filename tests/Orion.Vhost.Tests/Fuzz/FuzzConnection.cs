using System.IO.Pipes;
using Microsoft.Win32.SafeHandles;
using Orion.Pmd.Linux;
using Orion.Pmd.Virtio.VhostUser;

namespace Orion.Vhost.Tests.Fuzz;

/// <summary>Kinds of fd the fuzzer hands over, right and wrong.</summary>
internal enum FdKind
{
    EventFd, BlockingFullEventFd, ClosedEventFd, Memfd, UnsealedMemfd, UnsealableMemfd, PipeRead, PipeWrite, Socket, RegularFile, DevNull,
}

/// <summary>
/// One fuzzing connection to orion-vhost: its socket (sends bounded, so a back-end that stops reading cannot block the
/// fuzzer), a 1 MiB memfd whose rings and data the fuzzer writes at will, and every fd it made, closed at the end.
/// Replies are read and dropped; whether the back-end hung up is noted, never asserted: only the back-end's survival is.
/// </summary>
internal sealed class FuzzConnection : IDisposable
{
    public const ulong GuestBase = 0x1_0000_0000;
    public const ulong UserBase = 0x7f00_0000_0000;
    public const long MemoryBytes = 1 << 20;
    public const long RingStride = 64 << 10;
    public const long DataStart = 256 << 10;

    private readonly List<IDisposable> _owned = [];
    private readonly byte[] _drain = new byte[4096];
    private readonly string _scratch;

    public FuzzConnection(string socketPath, string scratchDirectory, MemorySeal seals)
    {
        _scratch = scratchDirectory;
        Socket = UnixSocket.Connect(socketPath);
        Socket.SendTimeout = TimeSpan.FromMilliseconds(500);
        Memory = SharedMemory.Create($"orion-fuzz-{Guid.NewGuid():N}", MemoryBytes, seals);
        Kicks = [Own(new EventFd()), Own(new EventFd())];
    }

    public UnixSocket Socket { get; }
    public SharedMemory Memory { get; }

    /// <summary>The fuzzer's copies of the kick eventfds it may send (written to kick).</summary>
    public EventFd[] Kicks { get; }

    /// <summary>Whether the back-end has hung up (or stopped taking messages): later steps are skipped.</summary>
    public bool Ended { get; private set; }

    /// <summary>Messages the back-end took before the connection ended.</summary>
    public int MessagesSent { get; private set; }

    /// <summary>Per queue, what the fuzzer believes its ring to be (it writes the ring according to this).</summary>
    public FuzzRing[] Rings { get; } = [new(0), new(1)];

    /// <summary>The memfd was shrunk: the fuzzer no longer writes its memory.</summary>
    public bool Shrunk { get; private set; }

    /// <summary>Whether the fuzzer last accepted packed rings in SET_FEATURES.</summary>
    public bool Packed { get; set; }

    private T Own<T>(T d) where T : IDisposable
    {
        _owned.Add(d);
        return d;
    }

    /// <summary>Sends one message (header fields as given, so sizes may lie); reads whatever replies are there.</summary>
    public void Send(uint request, uint flags, uint announced, ReadOnlySpan<byte> payload, ReadOnlySpan<int> fds, bool awaitReply)
    {
        if (Ended) return;
        var message = new byte[VhostUserHeader.Size + payload.Length];
        new VhostUserHeader((VhostUserRequest)request, flags, announced).Write(message);
        payload.CopyTo(message.AsSpan(VhostUserHeader.Size));
        try
        {
            Socket.Send(message, fds);
            MessagesSent++;
        }
        catch (Exception e) when (e is LinuxException or TimeoutException)
        {
            Ended = true;
            return;
        }
        Drain(awaitReply ? 1000 : 0);
    }

    /// <summary>Sends part of a message and then nothing (the back-end must give up on it after its message timeout).</summary>
    public void SendPartial(ReadOnlySpan<byte> bytes)
    {
        if (Ended) return;
        try { Socket.Send(bytes); }
        catch (Exception e) when (e is LinuxException or TimeoutException) { Ended = true; }
    }

    /// <summary>Reads and drops replies, waiting up to <paramref name="waitMs"/> for the first; notes a hang-up.</summary>
    public void Drain(int waitMs)
    {
        Span<int> fds = stackalloc int[UnixSocket.MaxFdsPerMessage];
        try
        {
            while (Socket.WaitReadable(waitMs))
            {
                waitMs = 0;
                int n = Socket.Receive(_drain, fds, out int count);
                for (int i = 0; i < count; i++) FileDescriptor.Close(fds[i]);
                if (n == 0) { Ended = true; return; }
            }
        }
        catch (Exception e) when (e is LinuxException or IOException)
        {
            Ended = true;
        }
    }

    /// <summary>A new fd of <paramref name="kind"/>, owned by the connection (closed when it ends, unless the kind closes it at once).</summary>
    public int MakeFd(FdKind kind)
    {
        switch (kind)
        {
            case FdKind.EventFd: return Own(new EventFd()).Fd;
            case FdKind.BlockingFullEventFd:
            {
                var e = Own(new EventFd(nonBlocking: false));
                e.Signal(0xffff_ffff_ffff_fffe);                // the largest count: one more write of 1 blocks
                return e.Fd;
            }
            case FdKind.ClosedEventFd:
            {
                // Sent, then this side's copy closed after the send (see AfterSend): the back-end holds the only one.
                var e = new EventFd();
                _closeAfterSend.Add(e);
                return e.Fd;
            }
            case FdKind.Memfd: return Memory.Fd;
            case FdKind.UnsealedMemfd: return Own(SharedMemory.Create("orion-fuzz-unsealed", MemoryBytes, MemorySeal.None)).Fd;
            case FdKind.UnsealableMemfd: return Own(SharedMemory.Create("orion-fuzz-unsealable", MemoryBytes, MemorySeal.Seal)).Fd;
            case FdKind.PipeRead:
            {
                var p = Own(new AnonymousPipeServerStream(PipeDirection.Out));
                return (int)p.ClientSafePipeHandle.DangerousGetHandle();
            }
            case FdKind.PipeWrite:
            {
                var p = Own(new AnonymousPipeServerStream(PipeDirection.Out));
                return (int)p.SafePipeHandle.DangerousGetHandle();
            }
            case FdKind.Socket:
            {
                var (a, b) = UnixSocket.CreatePair();
                Own(a);
                Own(b);
                return a.Fd;
            }
            case FdKind.RegularFile:
            {
                var path = Path.Combine(_scratch, $"f-{Guid.NewGuid():N}");
                var h = Own(File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.ReadWrite, FileOptions.DeleteOnClose));
                RandomAccess.SetLength(h, MemoryBytes);
                return (int)h.DangerousGetHandle();
            }
            default: return (int)Own(File.OpenHandle("/dev/null", FileMode.Open, FileAccess.ReadWrite)).DangerousGetHandle();
        }
    }

    private readonly List<EventFd> _closeAfterSend = [];

    /// <summary>Closes this side's copies of fds that were meant to reach the back-end as the only copy.</summary>
    public void AfterSend()
    {
        foreach (var e in _closeAfterSend) e.Dispose();
        _closeAfterSend.Clear();
    }

    /// <summary>Truncates the shared memfd (through /proc, as any holder of the fd could): sealed, the kernel refuses.</summary>
    public string Shrink(long bytes)
    {
        try
        {
            using SafeFileHandle h = File.OpenHandle($"/proc/self/fd/{Memory.Fd}", FileMode.Open, FileAccess.ReadWrite);
            RandomAccess.SetLength(h, bytes);
            Shrunk = true;                    // from now on the fuzzer's own writes there would be SIGBUS: it writes no more
            return $"shrunk the memfd to {bytes} bytes";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"shrink to {bytes} refused ({e.GetType().Name})";
        }
    }

    public void Dispose()
    {
        Socket.Dispose();
        AfterSend();
        foreach (var d in _owned) d.Dispose();
        Memory.Dispose();
    }
}
