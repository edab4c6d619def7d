using Orion.Pmd.Linux.Interop;

namespace Orion.Pmd.Linux;

/// <summary>Sends signals to processes: what tests and supervisors need to stop or crash a back-end on purpose.</summary>
public static class ProcessSignal
{
    /// <summary>SIGTERM: ask a process to stop cleanly.</summary>
    public const int Terminate = 15;
    /// <summary>SIGKILL: end a process at once, with no clean-up (a crash).</summary>
    public const int Kill = 9;
    /// <summary>SIGINT.</summary>
    public const int Interrupt = 2;

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; false when the process no longer exists.</summary>
    public static bool Send(int pid, int signal)
    {
        if (pid <= 0) throw new ArgumentOutOfRangeException(nameof(pid), pid, "a process id is positive (0 and -1 would signal a group)");
        if (LibC.kill(pid, signal) == 0) return true;
        var e = LinuxException.FromLastError($"kill({pid}, {signal})");
        if (e.Errno == Errno.ESRCH) return false;
        throw e;
    }
}
