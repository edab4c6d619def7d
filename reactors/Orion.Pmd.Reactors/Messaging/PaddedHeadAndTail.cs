using System.Runtime.InteropServices;

namespace Orion.Pmd.Reactors;

/// <summary>
/// The consumer's head and the producers' tail of an <see cref="MpscRing{T}"/>, each on its own 128-byte
/// stretch (two cache lines, because the adjacent-line prefetcher pairs lines) so producers hammering the tail
/// do not invalidate the consumer's head. Declared at top level: explicit layout inside a generic type throws
/// TypeLoadException at run time.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 3 * PaddingBytes)]
internal struct PaddedHeadAndTail
{
    internal const int PaddingBytes = 128;

    /// <summary>Next position to dequeue; written only by the consumer.</summary>
    [FieldOffset(1 * PaddingBytes)] public long Head;

    /// <summary>Next position to claim; advanced by producers with CompareExchange.</summary>
    [FieldOffset(2 * PaddingBytes)] public long Tail;
}

/// <summary>One ring slot: the item and the sequence number that says whose turn the slot is.</summary>
internal struct MpscSlot<T>
{
    public T Item;
    public long Sequence;
}
