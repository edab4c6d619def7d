using System.Runtime.InteropServices;

namespace Orion.Pmd.Linux.Vfio;

/// <summary>A VFIO set-up or operation that failed: what went wrong and what would be right, with the errno when a call failed.</summary>
public sealed class VfioException : IOException
{
    /// <summary>A refusal found without a failing call (a group not viable, a device bound to another driver).</summary>
    public VfioException(string message) : base(message) { }

    /// <summary><paramref name="what"/> failed with <paramref name="errno"/>; <paramref name="advice"/> says what would be right.</summary>
    public VfioException(string what, int errno, string advice)
        : base($"{what} failed: {advice} ({new LinuxException(what, errno).Message})") => Errno = errno;

    /// <summary>The errno of the failing call, or 0.</summary>
    public int Errno { get; }

    internal static VfioException FromLastError(string what, string advice) => new(what, Marshal.GetLastPInvokeError(), advice);
}
