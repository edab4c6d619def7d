using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Orion.Pmd.Engine.Memory;

/// <summary>Reinterpretations of spans of memory handles, so one code path serves reads and writes without copying.</summary>
internal static class MemoryViews
{
    /// <summary>
    /// A span of <see cref="Memory{T}"/> seen as <see cref="ReadOnlyMemory{T}"/>: the two share one layout (the BCL's
    /// own conversion between them is the same reinterpretation), and only read access is granted.
    /// </summary>
    public static ReadOnlySpan<ReadOnlyMemory<byte>> AsReadOnly(ReadOnlySpan<Memory<byte>> buffers)
        => MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<Memory<byte>, ReadOnlyMemory<byte>>(ref MemoryMarshal.GetReference(buffers)), buffers.Length);
}
