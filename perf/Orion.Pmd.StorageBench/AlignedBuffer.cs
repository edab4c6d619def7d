using System.Buffers;
using System.Runtime.InteropServices;

namespace Orion.Pmd.StorageBench;

/// <summary>Native memory aligned to 4 KiB (what O_DIRECT needs), for the plain-file targets.</summary>
internal sealed unsafe class AlignedBuffer : MemoryManager<byte>
{
    private readonly byte* _pointer;
    private readonly int _length;
    private bool _freed;

    public AlignedBuffer(int length)
    {
        _length = length;
        _pointer = (byte*)NativeMemory.AlignedAlloc((nuint)Math.Max(length, 1), 4096);
        NativeMemory.Clear(_pointer, (nuint)length);
    }

    public override Span<byte> GetSpan() => new(_pointer, _length);
    public override MemoryHandle Pin(int elementIndex = 0) => new(_pointer + elementIndex);
    public override void Unpin() { }

    protected override void Dispose(bool disposing)
    {
        if (_freed) return;
        _freed = true;
        NativeMemory.AlignedFree(_pointer);
    }
}
