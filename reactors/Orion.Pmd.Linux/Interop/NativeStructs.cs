using System.Runtime.InteropServices;

namespace Orion.Pmd.Linux.Interop;

/// <summary>struct pollfd (8 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct PollFd
{
    public int Fd;
    public short Events;
    public short REvents;
}

/// <summary>struct timeval on 64-bit Linux (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct TimeVal
{
    public long Seconds;
    public long Microseconds;

    public readonly TimeSpan ToTimeSpan() =>
        TimeSpan.FromTicks(Seconds * TimeSpan.TicksPerSecond + Microseconds * TimeSpan.TicksPerMicrosecond);
}

/// <summary>
/// struct rusage on 64-bit Linux (144 bytes): two timevals then 14 longs we do not read but the
/// kernel writes, so they must be there.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct RUsage
{
    public TimeVal UserTime;
    public TimeVal SystemTime;
    public fixed long Rest[14];
}
