using System.Buffers;

namespace Orion.Pmd.Engine.Memory;

/// <summary>
/// A buffer in memory shared with the device, rented from the engine's pool: I/O on it moves zero-copy.
/// Dispose it (or let the <c>using</c> end) to return it; it must not be used after that. Its <see cref="Memory"/>
/// can be passed to <see cref="BlockDevice"/> methods as is, or sliced.
/// </summary>
public sealed unsafe class DmaBuffer : MemoryManager<byte>
{
    private readonly DmaBufferPool _pool;
    private int _length;
    private int _rented;

    internal DmaBuffer(DmaBufferPool pool, byte* host, ulong guestAddress, int capacity, int sizeClass)
    {
        _pool = pool;
        Pointer = host;
        GuestAddress = guestAddress;
        Capacity = capacity;
        SizeClass = sizeClass;
    }

    /// <summary>This process's address of the first byte.</summary>
    public byte* Pointer { get; }

    /// <summary>The device-visible address of the first byte.</summary>
    public ulong GuestAddress { get; }

    /// <summary>Usable bytes (what was asked for).</summary>
    public int Length => _length;

    /// <summary>Bytes reserved for this buffer (its pool size class).</summary>
    public int Capacity { get; }

    internal int SizeClass { get; }

    /// <summary>The buffer's bytes.</summary>
    public Span<byte> Span => GetSpan();

    internal bool TryRent(int length)
    {
        if (Interlocked.Exchange(ref _rented, 1) != 0) return false;
        _length = length;
        return true;
    }

    internal bool IsRented => Volatile.Read(ref _rented) != 0;

    /// <inheritdoc />
    public override Span<byte> GetSpan()
    {
        ObjectDisposedException.ThrowIf(!IsRented, this);
        return new Span<byte>(Pointer, _length);
    }

    /// <inheritdoc />
    public override MemoryHandle Pin(int elementIndex = 0)
    {
        if ((uint)elementIndex > (uint)_length) throw new ArgumentOutOfRangeException(nameof(elementIndex));
        return new MemoryHandle(Pointer + elementIndex);       // native memory: nothing to pin
    }

    /// <inheritdoc />
    public override void Unpin() { }

    /// <summary>Returns the buffer to the pool. Returning it twice is harmless; using it afterwards is not allowed.</summary>
    public void Dispose() => ((IDisposable)this).Dispose();

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (Interlocked.Exchange(ref _rented, 0) == 0) return;     // returning twice is harmless
        _pool.Return(this);
    }
}
