using System.Diagnostics;
using System.Runtime.InteropServices;
using Orion.Pmd.Linux.Interop;

namespace Orion.Pmd.Linux;

/// <summary>
/// A Linux eventfd: the doorbell between driver and device (kick) and back (call). Signal adds to a 64-bit
/// counter; consuming reads and resets it.
/// </summary>
/// <remarks>No finalizer, for the same reason as <see cref="SharedMemory"/>: the fd number may have been handed on.</remarks>
public sealed unsafe class EventFd : IDisposable
{
    private readonly bool _ownsFd;
    // A blocking fd would make TryConsume block, so it first polls with a zero timeout.
    private readonly bool _nonBlocking;
    private int _disposed;

    private EventFd(int fd, bool ownsFd, bool nonBlocking)
    {
        Fd = fd;
        _ownsFd = ownsFd;
        _nonBlocking = nonBlocking;
    }

    /// <summary>Creates an owned eventfd with counter 0, close-on-exec, non-blocking unless told otherwise.</summary>
    public EventFd(bool nonBlocking = true)
    {
        int fd = LibC.eventfd(0, LibC.EFD_CLOEXEC | (nonBlocking ? LibC.EFD_NONBLOCK : 0));
        if (fd < 0) throw LinuxException.FromLastError("eventfd");
        Fd = fd;
        _ownsFd = true;
        _nonBlocking = nonBlocking;
    }

    /// <summary>
    /// Wraps an existing eventfd (e.g. one received from a vhost-user front-end); closes it on Dispose if
    /// <paramref name="ownsFd"/>. With <paramref name="makeNonBlocking"/> the fd is switched to O_NONBLOCK first, as
    /// QEMU does with every fd a peer hands it: a peer's blocking eventfd at its maximum count would otherwise block
    /// <see cref="Signal"/> in write(2) for as long as the peer likes.
    /// </summary>
    public static EventFd FromFd(int fd, bool ownsFd, bool makeNonBlocking = false)
    {
        int flags = LibC.fcntl(fd, LibC.F_GETFL, 0);
        if (flags < 0) throw LinuxException.FromLastError("fcntl(F_GETFL)");
        if (makeNonBlocking && (flags & LibC.O_NONBLOCK) == 0)
        {
            if (LibC.fcntl(fd, LibC.F_SETFL, flags | LibC.O_NONBLOCK) < 0) throw LinuxException.FromLastError("fcntl(F_SETFL, O_NONBLOCK)");
            flags |= LibC.O_NONBLOCK;
        }
        return new EventFd(fd, ownsFd, (flags & LibC.O_NONBLOCK) != 0);
    }

    /// <summary>The eventfd's file descriptor.</summary>
    public int Fd { get; }

    /// <summary>
    /// Adds <paramref name="value"/> to the counter. A full counter (EAGAIN on a non-blocking fd) is not an
    /// error: the reader has a pending wake-up already.
    /// </summary>
    public void Signal(ulong value = 1)
    {
        ThrowIfDisposed();
        // errno is read before building an exception so the common EAGAIN/EINTR paths allocate nothing.
        while (LibC.write(Fd, &value, sizeof(ulong)) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == Errno.EAGAIN) return;
            if (errno != Errno.EINTR) throw new LinuxException("write(eventfd)", errno);
        }
    }

    /// <summary>Reads and resets the counter without blocking; false (and 0) when it was zero.</summary>
    public bool TryConsume(out ulong value)
    {
        ThrowIfDisposed();
        value = 0;
        if (!_nonBlocking && !PollReadable(0)) return false;
        ulong v;
        while (LibC.read(Fd, &v, sizeof(ulong)) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == Errno.EAGAIN) return false;
            if (errno != Errno.EINTR) throw new LinuxException("read(eventfd)", errno);
        }
        value = v;
        return true;
    }

    /// <summary>
    /// Waits up to <paramref name="timeoutMs"/> ms (-1 = forever) for a signal and consumes it. True if it
    /// was signalled. Interrupted polls resume with the remaining time.
    /// </summary>
    public bool Wait(int timeoutMs)
    {
        ThrowIfDisposed();
        long start = Stopwatch.GetTimestamp();
        while (true)
        {
            int remaining = timeoutMs;
            if (timeoutMs > 0)
            {
                long elapsedMs = (long)Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                remaining = (int)Math.Max(0, timeoutMs - elapsedMs);
            }
            if (PollReadable(remaining) && TryConsume(out _)) return true;
            // Readable but already consumed by someone else, or time is up.
            if (timeoutMs >= 0 && Stopwatch.GetElapsedTime(start).TotalMilliseconds >= timeoutMs) return false;
        }
    }

    /// <summary>poll(POLLIN) with EINTR treated as "not readable yet" (the caller loops with the remaining time).</summary>
    private bool PollReadable(int timeoutMs)
    {
        var pfd = new PollFd { Fd = Fd, Events = LibC.POLLIN };
        int n = LibC.poll(&pfd, 1, timeoutMs);
        if (n < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == Errno.EINTR) return false;
            throw new LinuxException("poll", errno);
        }
        return n > 0 && (pfd.REvents & LibC.POLLIN) != 0;
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    /// <summary>Closes the fd if owned. Idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (_ownsFd) LibC.close(Fd);
    }
}
