using System.Runtime.InteropServices;
using Orion.Pmd.Linux.Interop;
using static Orion.Pmd.Linux.Interop.IoUringAbi;

namespace Orion.Pmd.Linux;

// Registration (io_uring_register): files and buffers the kernel looks up or pins once instead of per request.
// These run at setup, not per I/O, so they may allocate.
public sealed unsafe partial class IoUring
{
    /// <summary>
    /// Registers <paramref name="fds"/> as the ring's fixed files: a request prepared with
    /// <see cref="IoSqeFlags.FixedFile"/> then passes the index into this list as its fd, and the kernel skips the fd
    /// table lookup and reference counting per request. Only one set can be registered at a time.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="fds"/> is empty.</exception>
    /// <exception cref="LinuxException">The kernel refused, for example EBUSY when files are registered already, or EBADF.</exception>
    public void RegisterFiles(ReadOnlySpan<int> fds)
    {
        ThrowIfDisposed();
        if (fds.IsEmpty) throw new ArgumentException("at least one fd is needed", nameof(fds));
        fixed (int* p = fds) Register(IORING_REGISTER_FILES, p, (uint)fds.Length, "io_uring_register(IORING_REGISTER_FILES)");
    }

    /// <summary>Unregisters the fixed files; requests in flight that use them keep their references until they complete.</summary>
    /// <exception cref="LinuxException">The kernel refused, for example ENXIO when no files are registered.</exception>
    public void UnregisterFiles()
    {
        ThrowIfDisposed();
        Register(IORING_UNREGISTER_FILES, null, 0, "io_uring_register(IORING_UNREGISTER_FILES)");
    }

    /// <summary>
    /// Registers <paramref name="buffers"/> for <see cref="PrepareReadFixed"/> and <see cref="PrepareWriteFixed"/>, which
    /// name one by its index here: the kernel pins their pages once now rather than per request. The memory must stay
    /// mapped until <see cref="UnregisterBuffers"/> or <see cref="Dispose"/>.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="buffers"/> is empty, or holds a null address or a zero length.</exception>
    /// <exception cref="LinuxException">The kernel refused, for example EBUSY when buffers are registered already, or ENOMEM.</exception>
    public void RegisterBuffers(ReadOnlySpan<(nint Address, nuint Length)> buffers)
    {
        ThrowIfDisposed();
        if (buffers.IsEmpty) throw new ArgumentException("at least one buffer is needed", nameof(buffers));
        // A value tuple's layout is not guaranteed, so copy into real struct iovecs.
        var iovecs = new IoVec[buffers.Length];
        for (int i = 0; i < buffers.Length; i++)
        {
            (nint address, nuint length) = buffers[i];
            if (address == 0 || length == 0)
                throw new ArgumentException($"buffer {i} has a null address or a zero length", nameof(buffers));
            iovecs[i] = new IoVec { Base = (void*)address, Length = length };
        }
        fixed (IoVec* p = iovecs) Register(IORING_REGISTER_BUFFERS, p, (uint)iovecs.Length, "io_uring_register(IORING_REGISTER_BUFFERS)");
    }

    /// <summary>Unregisters the fixed buffers.</summary>
    /// <exception cref="LinuxException">The kernel refused, for example ENXIO when no buffers are registered.</exception>
    public void UnregisterBuffers()
    {
        ThrowIfDisposed();
        Register(IORING_UNREGISTER_BUFFERS, null, 0, "io_uring_register(IORING_UNREGISTER_BUFFERS)");
    }

    /// <summary>
    /// Has the kernel signal <paramref name="eventFd"/> whenever it posts a completion, for an owner that sleeps on an
    /// eventfd rather than on <see cref="Fd"/>. The eventfd stays registered until the ring is disposed.
    /// </summary>
    /// <exception cref="LinuxException">The kernel refused, for example EBUSY when one is registered already.</exception>
    public void RegisterEventFd(int eventFd)
    {
        ThrowIfDisposed();
        Register(IORING_REGISTER_EVENTFD, &eventFd, 1, "io_uring_register(IORING_REGISTER_EVENTFD)");
    }

    private void Register(uint opcode, void* arg, uint count, string call)
    {
        // Registration waits for the ring's references to quiesce and can be interrupted by a signal.
        while (LibC.io_uring_register(_fd, opcode, arg, count) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno != Errno.EINTR) throw new LinuxException(call, errno);
        }
    }

    /// <summary>
    /// Whether the kernel signals the registered eventfd (<see cref="RegisterEventFd"/>) when it posts a completion.
    /// Switching it off (IORING_CQ_EVENTFD_DISABLED, Linux 5.8) spares every completion the eventfd's wake-up while
    /// nobody sleeps on the eventfd (a thread that busy-polls, or sleeps inside <see cref="SubmitAndWait"/>); a
    /// kernel without the CQ flags word keeps signalling, and this is a no-op there. One store, no system call.
    /// </summary>
    public bool EventFdSignals
    {
        get => _cqFlags == null || (Volatile.Read(ref *_cqFlags) & IORING_CQ_EVENTFD_DISABLED) == 0;
        set
        {
            ThrowIfDisposed();
            if (_cqFlags == null) return;
            uint flags = Volatile.Read(ref *_cqFlags);
            uint want = value ? flags & ~IORING_CQ_EVENTFD_DISABLED : flags | IORING_CQ_EVENTFD_DISABLED;
            // Full fence when switching on: the store is visible before the caller's last look at the CQ, so a
            // completion posted after that look signals the eventfd (the kernel reads the flag when it posts).
            if (want != flags)
            {
                Volatile.Write(ref *_cqFlags, want);
                if (value) Interlocked.MemoryBarrier();
            }
        }
    }
}
