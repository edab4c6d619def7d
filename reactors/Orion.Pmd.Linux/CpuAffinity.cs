using Orion.Pmd.Linux.Interop;

namespace Orion.Pmd.Linux;

/// <summary>
/// Thread placement. All calls act on the calling OS thread only (pid 0 in the sched_* calls means "this
/// thread"); a .NET <see cref="Thread"/> is one OS thread, so pin from inside the thread you mean.
/// </summary>
public static unsafe class CpuAffinity
{
    /// <summary>Largest cpu count supported: a 1024-bit cpu_set_t, glibc's default CPU_SETSIZE.</summary>
    public const int MaxCpus = 1024;

    private const int MaskWords = MaxCpus / 64;

    /// <summary>The cpus the calling thread may run on (its <c>sched_getaffinity</c> mask), ascending.</summary>
    public static int[] GetAllowedCpus()
    {
        ulong* mask = stackalloc ulong[MaskWords];
        new Span<ulong>(mask, MaskWords).Clear();
        if (LibC.sched_getaffinity(0, MaskWords * sizeof(ulong), mask) != 0)
            throw LinuxException.FromLastError("sched_getaffinity");

        var cpus = new List<int>();
        for (int word = 0; word < MaskWords; word++)
            for (ulong bits = mask[word]; bits != 0; bits &= bits - 1)
                cpus.Add(word * 64 + System.Numerics.BitOperations.TrailingZeroCount(bits));
        return [.. cpus];
    }

    /// <summary>Pins the calling thread to exactly <paramref name="cpu"/>.</summary>
    public static void PinCurrentThread(int cpu) => SetCurrentThreadAllowed([cpu]);

    /// <summary>Restricts the calling thread to <paramref name="cpus"/> (non-empty, each in [0, <see cref="MaxCpus"/>)).</summary>
    public static void SetCurrentThreadAllowed(ReadOnlySpan<int> cpus)
    {
        if (cpus.IsEmpty) throw new ArgumentException("at least one cpu is required", nameof(cpus));
        ulong* mask = stackalloc ulong[MaskWords];
        new Span<ulong>(mask, MaskWords).Clear();
        foreach (int cpu in cpus)
        {
            if ((uint)cpu >= MaxCpus)
                throw new ArgumentOutOfRangeException(nameof(cpus), cpu, $"cpu numbers must be in [0, {MaxCpus})");
            mask[cpu / 64] |= 1UL << (cpu % 64);
        }
        // EINVAL here means none of the cpus is online or allowed for this process (e.g. by cgroup cpuset).
        if (LibC.sched_setaffinity(0, MaskWords * sizeof(ulong), mask) != 0)
            throw LinuxException.FromLastError("sched_setaffinity");
    }

    /// <summary>The cpu the calling thread is running on right now (may change at once unless pinned).</summary>
    public static int CurrentCpu()
    {
        int cpu = LibC.sched_getcpu();
        if (cpu < 0) throw LinuxException.FromLastError("sched_getcpu");
        return cpu;
    }

    /// <summary>The kernel thread id of the calling thread (gettid), as shown under /proc/self/task.</summary>
    public static int CurrentThreadId() => LibC.gettid();
}
