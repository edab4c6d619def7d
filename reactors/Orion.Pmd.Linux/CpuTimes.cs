namespace Orion.Pmd.Linux;

/// <summary>CPU time consumed in user and kernel mode, as getrusage reports it (microsecond resolution).</summary>
/// <param name="User">Time spent in user mode.</param>
/// <param name="System">Time spent in the kernel on our behalf.</param>
public readonly record struct CpuTimes(TimeSpan User, TimeSpan System)
{
    /// <summary>User plus system time.</summary>
    public TimeSpan Total => User + System;

    /// <summary>The CPU time spent between two samples (<paramref name="a"/> later).</summary>
    public static CpuTimes operator -(CpuTimes a, CpuTimes b) => new(a.User - b.User, a.System - b.System);
}
