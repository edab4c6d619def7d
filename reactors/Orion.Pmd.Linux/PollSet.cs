using System.Diagnostics;
using System.Runtime.InteropServices;
using Orion.Pmd.Linux.Interop;

namespace Orion.Pmd.Linux;

/// <summary>
/// A reusable poll(2) set: file descriptors waited on for readability, all at once. A reactor parks in
/// <see cref="Wait"/> on its own wake eventfd plus its devices' call eventfds.
/// </summary>
/// <remarks>
/// Entries keep their index until removed, so a caller can keep a parallel array of owners. A negative fd is
/// a placeholder that poll(2) skips (its readiness stays clear). Waiting allocates nothing; adding may grow
/// the array. Not thread-safe: one owner thread.
/// </remarks>
public sealed unsafe class PollSet
{
    private const short ErrorEvents = LibC.POLLERR | LibC.POLLHUP | LibC.POLLNVAL;

    private PollFd[] _fds;
    private int _count;

    /// <summary>Creates an empty set with room for <paramref name="capacity"/> fds before it grows.</summary>
    public PollSet(int capacity = 4)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        _fds = new PollFd[Math.Max(1, capacity)];
    }

    /// <summary>Entries in the set, placeholders included.</summary>
    public int Count => _count;

    /// <summary>The fd at <paramref name="index"/>; set a negative value to make poll(2) skip the entry.</summary>
    public int this[int index]
    {
        get => Entry(index).Fd;
        set
        {
            ref PollFd entry = ref Entry(index);
            entry.Fd = value;
            entry.REvents = 0;
        }
    }

    /// <summary>Appends <paramref name="fd"/> (waited on for POLLIN) and returns its index.</summary>
    public int Add(int fd)
    {
        if (_count == _fds.Length) Array.Resize(ref _fds, _fds.Length * 2);
        _fds[_count] = new PollFd { Fd = fd, Events = LibC.POLLIN };
        return _count++;
    }

    /// <summary>Removes the entry at <paramref name="index"/>; later entries move down by one, keeping their order.</summary>
    public void RemoveAt(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _count);
        Array.Copy(_fds, index + 1, _fds, index, _count - index - 1);
        _fds[--_count] = default;
    }

    /// <summary>The index of the first entry holding <paramref name="fd"/>, or -1.</summary>
    public int IndexOf(int fd)
    {
        for (int i = 0; i < _count; i++)
        {
            if (_fds[i].Fd == fd) return i;
        }
        return -1;
    }

    /// <summary>True when the last <see cref="Wait"/> found the entry readable.</summary>
    public bool IsReadable(int index) => (Entry(index).REvents & LibC.POLLIN) != 0;

    /// <summary>
    /// True when the last <see cref="Wait"/> reported an error, hang-up or invalid fd on the entry (the fd was
    /// closed while still in the set, say). Such an entry makes every later wait return at once.
    /// </summary>
    public bool HasError(int index) => (Entry(index).REvents & ErrorEvents) != 0;

    /// <summary>
    /// Waits until at least one entry is readable (or in error) or <paramref name="timeoutMs"/> ms pass
    /// (-1 = forever, 0 = just look). Returns how many entries have events: 0 only when the time is up.
    /// A signal that interrupts the wait (EINTR) resumes it with the time left, so a caller can count
    /// timeouts honestly.
    /// </summary>
    public int Wait(int timeoutMs)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(timeoutMs, -1);
        long start = timeoutMs > 0 ? Stopwatch.GetTimestamp() : 0;
        int remaining = timeoutMs;
        while (true)
        {
            int n;
            fixed (PollFd* fds = _fds)
            {
                n = LibC.poll(fds, (nuint)_count, remaining);
            }
            if (n >= 0) return n;
            int errno = Marshal.GetLastPInvokeError();
            if (errno != Errno.EINTR) throw new LinuxException("poll", errno);
            if (timeoutMs > 0)
            {
                long elapsedMs = (long)Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                if (elapsedMs >= timeoutMs)
                {
                    ClearEvents();
                    return 0;
                }
                remaining = (int)(timeoutMs - elapsedMs);
            }
        }
    }

    // After EINTR the kernel may have left revents untouched; a timed-out wait must not report stale readiness.
    private void ClearEvents()
    {
        for (int i = 0; i < _count; i++) _fds[i].REvents = 0;
    }

    private ref PollFd Entry(int index)
    {
        if ((uint)index >= (uint)_count) throw new ArgumentOutOfRangeException(nameof(index), index, $"the set holds {_count} entries");
        return ref _fds[index];
    }
}
