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

    /// <summary>CPU time of the calling OS thread only (<c>RUSAGE_THREAD</c>).</summary>
    public static CpuTimes CurrentThread() => Get(LibC.RUSAGE_THREAD);

    private static CpuTimes Get(int who)
    {
        RUsage usage;
        if (LibC.getrusage(who, &usage) != 0) throw LinuxException.FromLastError("getrusage");
        return new CpuTimes(usage.UserTime.ToTimeSpan(), usage.SystemTime.ToTimeSpan());
    }
}
