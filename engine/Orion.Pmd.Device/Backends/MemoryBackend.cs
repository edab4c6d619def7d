using System.Runtime.InteropServices;

namespace Orion.Pmd.Device.Backends;

/// <summary>
/// A RAM disk in native memory. The allocation is zero-filled lazily by the kernel (calloc of a large size maps
/// anonymous pages on first touch), so a large <c>mem:</c> device costs nothing until it is written.
/// </summary>
public sealed unsafe class MemoryBackend : IBlockBackend
{
    private byte* _data;

    /// <summary>
    /// Creates a RAM disk of <paramref name="capacity"/> bytes. All zero, or with <paramref name="prefill"/> every
    /// byte written with a pattern first, so that reads measure real memory traffic (untouched pages all map the
    /// kernel's one zero page, which is always in cache).
    /// </summary>
    public MemoryBackend(long capacity, bool prefill = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        if (capacity % 512 != 0) throw new ArgumentException($"capacity {capacity} is not a multiple of 512 bytes", nameof(capacity));
        _data = (byte*)NativeMemory.AllocZeroed((nuint)capacity);
        Capacity = capacity;
        if (prefill)
        {
            for (long off = 0; off < capacity; off += 1 << 20)
                new Span<byte>(_data + off, (int)Math.Min(1 << 20, capacity - off)).Fill((byte)(0xA5 ^ (off >> 20)));
        }
    }

    /// <inheritdoc />
    public long Capacity { get; }
    /// <inheritdoc />
    public string Description => $"mem:{SizeText.Format(Capacity)}";

    private byte* At(long offset, long length)
    {
        ObjectDisposedException.ThrowIf(_data == null, this);
        if ((ulong)offset > (ulong)Capacity || (ulong)length > (ulong)(Capacity - offset))
            throw new ArgumentOutOfRangeException(nameof(offset), $"[{offset}, +{length}) is outside the {Capacity}-byte device");
        return _data + offset;
    }

    /// <inheritdoc />
    public void Read(long offset, Span<byte> destination) => new ReadOnlySpan<byte>(At(offset, destination.Length), destination.Length).CopyTo(destination);
    /// <inheritdoc />
    public void Write(long offset, ReadOnlySpan<byte> source) => source.CopyTo(new Span<byte>(At(offset, source.Length), source.Length));
    /// <inheritdoc />
    public void Flush() { }
    /// <inheritdoc />
    public void Discard(long offset, long length) => WriteZeroes(offset, length);
    /// <inheritdoc />
    public void WriteZeroes(long offset, long length) => NativeMemory.Clear(At(offset, length), (nuint)length);

    /// <summary>A view of the stored bytes, for tests that check data independently of the data path.</summary>
    public ReadOnlySpan<byte> Peek(long offset, int length) => new(At(offset, length), length);

    /// <inheritdoc />
    public void Dispose()
    {
        if (_data == null) return;
        NativeMemory.Free(_data);
        _data = null;
    }
}
