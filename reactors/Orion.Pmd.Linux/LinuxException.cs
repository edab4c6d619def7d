using System.Runtime.InteropServices;

namespace Orion.Pmd.Linux;

/// <summary>
/// A failed Linux call: which call, and the errno it left. The message reads like
/// "memfd_create failed: errno 12 (ENOMEM): Cannot allocate memory".
/// </summary>
public sealed class LinuxException : IOException
{
    /// <summary>Creates the exception for <paramref name="call"/> failing with <paramref name="errno"/>.</summary>
    public LinuxException(string call, int errno)
        : base(FormatMessage(call, errno))
    {
        Call = call;
        Errno = errno;
    }

    /// <summary>The errno value (see <see cref="Linux.Errno"/> for names).</summary>
    public int Errno { get; }

    /// <summary>The libc function that failed, e.g. "mmap".</summary>
    public string Call { get; }

    /// <summary>
    /// Builds the exception from the errno saved by the last <c>SetLastError = true</c> P/Invoke on this
    /// thread. Call it immediately after the failing call, before any other interop.
    /// </summary>
    public static LinuxException FromLastError(string call) => new(call, Marshal.GetLastPInvokeError());

    private static string FormatMessage(string call, int errno)
    {
        string? name = Linux.Errno.GetName(errno);
        string text = Marshal.GetPInvokeErrorMessage(errno);
        return name is null
            ? $"{call} failed: errno {errno}: {text}"
            : $"{call} failed: errno {errno} ({name}): {text}";
    }
}
