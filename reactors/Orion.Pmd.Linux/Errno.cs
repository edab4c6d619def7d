namespace Orion.Pmd.Linux;

/// <summary>
/// The Linux errno values the engine checks by name, and their symbolic names for messages.
/// Values are the x86-64 / aarch64 generic ones.
/// </summary>
public static class Errno
{
    /// <summary>Operation not permitted.</summary>
    public const int EPERM = 1;
    /// <summary>No such file or directory.</summary>
    public const int ENOENT = 2;
    /// <summary>No such process.</summary>
    public const int ESRCH = 3;
    /// <summary>Interrupted system call.</summary>
    public const int EINTR = 4;
    /// <summary>I/O error.</summary>
    public const int EIO = 5;
    /// <summary>Bad file descriptor.</summary>
    public const int EBADF = 9;
    /// <summary>Resource temporarily unavailable (also EWOULDBLOCK).</summary>
    public const int EAGAIN = 11;
    /// <summary>Cannot allocate memory.</summary>
    public const int ENOMEM = 12;
    /// <summary>Permission denied.</summary>
    public const int EACCES = 13;
    /// <summary>Bad address.</summary>
    public const int EFAULT = 14;
    /// <summary>Device or resource busy.</summary>
    public const int EBUSY = 16;
    /// <summary>File exists.</summary>
    public const int EEXIST = 17;
    /// <summary>No such device.</summary>
    public const int ENODEV = 19;
    /// <summary>Invalid argument.</summary>
    public const int EINVAL = 22;
    /// <summary>Too many open files in the system.</summary>
    public const int ENFILE = 23;
    /// <summary>Too many open files in this process.</summary>
    public const int EMFILE = 24;
    /// <summary>File too large.</summary>
    public const int EFBIG = 27;
    /// <summary>No space left on device.</summary>
    public const int ENOSPC = 28;
    /// <summary>Broken pipe.</summary>
    public const int EPIPE = 32;
    /// <summary>Function not implemented.</summary>
    public const int ENOSYS = 38;
    /// <summary>Timer expired (an io_uring wait that ran out of time).</summary>
    public const int ETIME = 62;
    /// <summary>Socket operation on non-socket.</summary>
    public const int ENOTSOCK = 88;
    /// <summary>Message too long.</summary>
    public const int EMSGSIZE = 90;
    /// <summary>Operation not supported.</summary>
    public const int EOPNOTSUPP = 95;
    /// <summary>Software caused connection abort.</summary>
    public const int ECONNABORTED = 103;
    /// <summary>Connection reset by peer.</summary>
    public const int ECONNRESET = 104;
    /// <summary>Transport endpoint is not connected.</summary>
    public const int ENOTCONN = 107;
    /// <summary>Connection timed out.</summary>
    public const int ETIMEDOUT = 110;
    /// <summary>Connection refused.</summary>
    public const int ECONNREFUSED = 111;
    /// <summary>Operation already in progress (an io_uring cancel that found its target already running).</summary>
    public const int EALREADY = 114;
    /// <summary>Operation canceled (an io_uring request cancelled, or a linked one whose predecessor failed).</summary>
    public const int ECANCELED = 125;

    /// <summary>The symbolic name of <paramref name="errno"/> ("ENOMEM"), or null for one not listed here.</summary>
    public static string? GetName(int errno) => errno switch
    {
        EPERM => nameof(EPERM),
        ENOENT => nameof(ENOENT),
        ESRCH => nameof(ESRCH),
        EINTR => nameof(EINTR),
        EIO => nameof(EIO),
        EBADF => nameof(EBADF),
        EAGAIN => nameof(EAGAIN),
        ENOMEM => nameof(ENOMEM),
        EACCES => nameof(EACCES),
        EFAULT => nameof(EFAULT),
        EBUSY => nameof(EBUSY),
        EEXIST => nameof(EEXIST),
        ENODEV => nameof(ENODEV),
        EINVAL => nameof(EINVAL),
        ENFILE => nameof(ENFILE),
        EMFILE => nameof(EMFILE),
        EFBIG => nameof(EFBIG),
        ENOSPC => nameof(ENOSPC),
        EPIPE => nameof(EPIPE),
        ENOSYS => nameof(ENOSYS),
        ETIME => nameof(ETIME),
        ENOTSOCK => nameof(ENOTSOCK),
        EMSGSIZE => nameof(EMSGSIZE),
        EOPNOTSUPP => nameof(EOPNOTSUPP),
        ECONNABORTED => nameof(ECONNABORTED),
        ECONNRESET => nameof(ECONNRESET),
        ENOTCONN => nameof(ENOTCONN),
        ETIMEDOUT => nameof(ETIMEDOUT),
        ECONNREFUSED => nameof(ECONNREFUSED),
        EALREADY => nameof(EALREADY),
        ECANCELED => nameof(ECANCELED),
        _ => null,
    };
}
