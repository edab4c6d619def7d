using System.Runtime.CompilerServices;

namespace Orion.Pmd.Virtio.Rings;

/// <summary>
/// A position in a packed ring together with the wrap counter of its lap (VirtIO 1.2 §2.8.1): moving past the last
/// entry goes back to 0 and flips the counter. The one place that flip is written, for the driver and the device.
/// </summary>
/// <param name="Index">The ring position, below the ring size.</param>
/// <param name="Wrap">The wrap counter of the lap <paramref name="Index"/> is in.</param>
public readonly record struct PackedPosition(ushort Index, bool Wrap)
{
    /// <summary>The position <paramref name="count"/> entries on (at most one lap) in a ring of <paramref name="size"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public PackedPosition Advance(int count, int size)
    {
        int next = Index + count;
        return next >= size ? new PackedPosition((ushort)(next - size), !Wrap) : new PackedPosition((ushort)next, Wrap);
    }

    /// <summary>The next position in a ring of <paramref name="size"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public PackedPosition Next(int size) => Advance(1, size);
}
