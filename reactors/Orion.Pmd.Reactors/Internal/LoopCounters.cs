using System.Runtime.InteropServices;

namespace Orion.Pmd.Reactors;

/// <summary>
/// The loop's counters, written every iteration by the loop thread only. Padded so those writes do not share a
/// cache line with fields that posting threads read (the state, the poster count).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 256)]
internal struct LoopCounters
{
    [FieldOffset(128)] public long Iterations;
    [FieldOffset(136)] public long BusyIterations;
    [FieldOffset(144)] public long BusyTicks;
    [FieldOffset(152)] public long IdleTicks;
    [FieldOffset(160)] public long MessagesProcessed;
}

/// <summary>A counter that posting threads update, alone on its cache lines.</summary>
[StructLayout(LayoutKind.Explicit, Size = 256)]
internal struct PaddedCounter
{
    [FieldOffset(128)] public int Value;
}
