using System.Runtime.CompilerServices;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Engine.Tests;

/// <summary>Plays a hostile device against an engine's split ring: writes used elements the device never should.</summary>
internal static unsafe class HostileUsedRing
{
    /// <summary>Writes one used element (<paramref name="id"/>, <paramref name="length"/>) and bumps used->idx.</summary>
    public static void Forge(IDriverQueue ring, uint id, uint length = 1)
    {
        var driver = (SplitQueueDriver)ring;
        byte* used = driver.UsedRingForTests;
        ushort idx = Unsafe.AsRef<ushort>(used + SplitRingLayout.UsedIdx);
        byte* elem = used + SplitRingLayout.UsedRing + SplitRingLayout.UsedElementSize * (idx & (driver.Size - 1));
        Unsafe.WriteUnaligned(elem, id);
        Unsafe.WriteUnaligned(elem + 4, length);
        Volatile.Write(ref Unsafe.AsRef<ushort>(used + SplitRingLayout.UsedIdx), (ushort)(idx + 1));
    }
}
