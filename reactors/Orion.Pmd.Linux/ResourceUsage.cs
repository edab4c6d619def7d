using Orion.Pmd.Linux.Interop;

namespace Orion.Pmd.Linux;

/// <summary>
/// CPU time consumed, via getrusage: how the monitor tells a busy-polling core's useful work from its spinning,
/// and how a benchmark reports CPU cost per I/O.
/// </summary>
public static unsafe class ResourceUsage
{
    /// <summary>CPU time of the whole process, all threads (<c>RUSAGE_SELF</c>).</summary>
    public static CpuTimes Process() => Get(LibC.RUSAGE_SELF);

    /// <summary>
    /// CPU time of another process (all its threads) from <c>/proc/PID/stat</c>, at clock-tick resolution (10 ms):
    /// how a benchmark charges an external back-end's work per I/O. Null when the process is gone or unreadable.
    /// </summary>
    public static CpuTimes? OtherProcess(int pid)
    {
        string text;
        try { text = File.ReadAllText($"/proc/{pid}/stat"); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
        // The command name (field 2) is in parentheses and may hold spaces: fields are counted after the last ')'.
        int close = text.LastIndexOf(')');
        if (close < 0) return null;
        var fields = text[(close + 2)..].Split(' ');
        // After the name: state is field 3, so utime (14) and stime (15) sit at indices 11 and 12.
        if (fields.Length < 13 || !long.TryParse(fields[11], out long utime) || !long.TryParse(fields[12], out long stime)) return null;
        double tick = 1.0 / ClockTicksPerSecond;
        return new CpuTimes(TimeSpan.FromSeconds(utime * tick), TimeSpan.FromSeconds(stime * tick));
    }

    /// <summary>USER_HZ, the unit of /proc CPU times (100 on every mainstream Linux build).</summary>
    public static readonly long ClockTicksPerSecond = Math.Max(1, LibC.sysconf(LibC._SC_CLK_TCK));

    /// <summary>CPU time of the calling OS thread only (<c>RUSAGE_THREAD</c>).</summary>
    public static CpuTimes CurrentThread() => Get(LibC.RUSAGE_THREAD);

    private static CpuTimes Get(int who)
    {
        RUsage usage;
        if (LibC.getrusage(who, &usage) != 0) throw LinuxException.FromLastError("getrusage");
        return new CpuTimes(usage.UserTime.ToTimeSpan(), usage.SystemTime.ToTimeSpan());
    }
}
