using System.Runtime.InteropServices;

namespace Orion.Pmd.Reactors;

/// <summary>
/// The loop's counters, written every iteration by the loop thread only. Padded so those writes do not share a
/// cache line with fields that posting threads read (the state, the poster count, the parking flag).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 384)]
internal struct LoopCounters
{
    [FieldOffset(128)] public long Iterations;
    [FieldOffset(136)] public long BusyIterations;
    [FieldOffset(144)] public long BusyTicks;
    [FieldOffset(152)] public long IdleTicks;
    [FieldOffset(160)] public long MessagesProcessed;
    [FieldOffset(168)] public long Parks;
    [FieldOffset(176)] public long ParkTicks;
    [FieldOffset(184)] public long ParkAborts;
    [FieldOffset(192)] public long ParkTimeouts;
    [FieldOffset(200)] public long Wakeups;
    [FieldOffset(208)] public long WakeLatencySamples;
    [FieldOffset(216)] public long WakeLatencyTicks;
    [FieldOffset(224)] public long MaxWakeLatencyTicks;
    [FieldOffset(232)] public long KernelParks;
}

/// <summary>A counter that posting threads update, alone on its cache lines.</summary>
[StructLayout(LayoutKind.Explicit, Size = 256)]
internal struct PaddedCounter
{
    [FieldOffset(128)] public int Value;
}

/// <summary>
/// The park handshake, alone on its cache lines: every post reads <see cref="Parking"/>, but it changes only
/// when the reactor parks and wakes, so the line stays shared (and cheap to read) while the reactor polls.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 256)]
internal struct ParkState
{
    /// <summary>1 from just before the reactor's last look for work until it is running again.</summary>
    [FieldOffset(128)] public int Parking;

    /// <summary>
    /// Stopwatch timestamp of the first wake request of this park, 0 when none: the first signaller claims it
    /// with CompareExchange and is the one that writes the eventfd, so a burst of posts costs one syscall.
    /// </summary>
    [FieldOffset(136)] public long WakeRequestedAt;
}
