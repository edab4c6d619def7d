namespace Orion.Pmd.Engine.Memory;

/// <summary>
/// The zero-copy buffer pool: power-of-two size classes from 4 KiB to <see cref="MaxBufferBytes"/>, every buffer
/// 4 KiB-aligned, carved on demand from one DMA region and recycled through per-class free lists. Buffers cross
/// threads (rented by a caller, returned by another), so the lists take a short lock; reactors never touch them on
/// the data path.
/// </summary>
public sealed class DmaBufferPool
{
    /// <summary>Alignment of every buffer (the page size; what O_DIRECT back-ends need).</summary>
    public const int Alignment = 4096;
    private const int MinShift = 12;

    private readonly DmaRegion _region;
    private readonly Stack<DmaBufferSlot>[] _free;
    private readonly object _carveLock = new();
    private long _inUseBytes;
    private int _inUseCount;
    private readonly List<DmaBufferSlot> _slots = [];    // every slot carved, so Close can reach those still rented
    private int _closed;
    private int _zeroing;                                 // returns zeroing right now; Close waits them out

    internal DmaBufferPool(DmaRegion region, int maxBufferBytes, bool zeroOnReturn = false)
    {
        ZeroOnReturn = zeroOnReturn;
        if (maxBufferBytes < Alignment || (maxBufferBytes & (maxBufferBytes - 1)) != 0)
            throw new ArgumentException($"largest DMA buffer {maxBufferBytes} is not a power of two of at least {Alignment}", nameof(maxBufferBytes));
        _region = region;
        MaxBufferBytes = maxBufferBytes;
        int classes = System.Numerics.BitOperations.Log2((uint)maxBufferBytes) - MinShift + 1;
        _free = new Stack<DmaBufferSlot>[classes];
        for (int i = 0; i < classes; i++) _free[i] = new Stack<DmaBufferSlot>();
    }

    /// <summary>
    /// Whether a returned buffer is zeroed (its whole size class) before it can be rented again
    /// (<see cref="EngineOptions.ZeroBuffersOnReturn"/>). When false, a renter may find the previous renter's bytes.
    /// </summary>
    public bool ZeroOnReturn { get; internal set; }

    /// <summary>Largest buffer the pool hands out.</summary>
    public int MaxBufferBytes { get; }

    /// <summary>Bytes of the pool's region.</summary>
    public long CapacityBytes => _region.Length;

    /// <summary>Bytes currently rented (by size class).</summary>
    public long InUseBytes => Volatile.Read(ref _inUseBytes);

    /// <summary>Buffers currently rented.</summary>
    public int InUseCount => Volatile.Read(ref _inUseCount);

    /// <summary>
    /// Whether the pool closed: its engine was disposed and its memory unmapped. Every buffer still rented then is
    /// unusable (<see cref="DmaBuffer.IsDisposed"/>), and renting throws <see cref="ObjectDisposedException"/>.
    /// </summary>
    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>
    /// Engine stop only, just before the memory is unmapped: ends every rental, so that a handle kept past the
    /// engine (or a <see cref="Memory{T}"/> from it) throws instead of reaching unmapped memory, and refuses rentals.
    /// Waits for a return that is zeroing its buffer right now (bounded: one buffer's memset).
    /// </summary>
    internal void Close()
    {
        Interlocked.Exchange(ref _closed, 1);            // a full fence before reading _zeroing (see Return)
        lock (_carveLock)
        {
            foreach (var slot in _slots) slot.Close();
        }
        var spin = new SpinWait();
        while (Volatile.Read(ref _zeroing) != 0) spin.SpinOnce();
    }

    /// <summary>Rents a buffer of <paramref name="length"/> bytes; throws when the pool's memory is exhausted.</summary>
    public DmaBuffer Rent(int length)
    {
        if (TryRent(length, out var buffer)) return buffer;
        throw new InsufficientMemoryException(
            $"DMA buffer pool exhausted: {InUseBytes} of {CapacityBytes} bytes in {InUseCount} buffers are rented; " +
            "return buffers sooner or give the engine more buffer memory (EngineOptions.BufferMemoryBytes)");
    }

    /// <summary>
    /// Rents a buffer of <paramref name="length"/> bytes; false when the pool's memory is exhausted. Throws
    /// <see cref="ObjectDisposedException"/> once the pool closed (<see cref="IsClosed"/>).
    /// </summary>
    public unsafe bool TryRent(int length, out DmaBuffer buffer)
    {
        if (IsClosed) ThrowClosed();
        if (length <= 0 || length > MaxBufferBytes)
            throw new ArgumentOutOfRangeException(nameof(length), length, $"a DMA buffer holds 1 to {MaxBufferBytes} bytes");
        int cls = ClassOf(length);
        var free = _free[cls];
        DmaBufferSlot? b = null;
        lock (free)
        {
            if (free.Count > 0) b = free.Pop();
        }
        if (b is null)
        {
            int size = 1 << (cls + MinShift);
            lock (_carveLock)
            {
                if (IsClosed) ThrowClosed();                            // under the lock Close takes: no slot escapes it
                if (!_region.TryCarve(size, Alignment, out var host, out var guest))
                {
                    buffer = default;
                    return false;
                }
                b = new DmaBufferSlot(this, host, guest, size, cls);     // once per slot, for the pool's lifetime
                _slots.Add(b);
            }
        }
        if (!b.TryRent(length, out long generation)) ThrowClosed();      // Close got to the slot first
        Interlocked.Add(ref _inUseBytes, b.Capacity);
        Interlocked.Increment(ref _inUseCount);
        buffer = new DmaBuffer(b, generation);
        return true;
    }

    /// <summary>Called once per rental, by the handle whose token ended it.</summary>
    internal unsafe void Return(DmaBufferSlot buffer)
    {
        // Before the buffer is back on a free list, where another renter (another tenant) could take it.
        // Not once the pool closed: the memory may be unmapped already. The count (raised before the flag is read, both
        // full fences) lets Close wait for a zeroing that saw the pool open, so none runs into the unmap.
        if (ZeroOnReturn)
        {
            Interlocked.Increment(ref _zeroing);
            try
            {
                if (!IsClosed) new Span<byte>(buffer.Pointer, buffer.Capacity).Clear();
            }
            finally
            {
                Interlocked.Decrement(ref _zeroing);
            }
        }
        Interlocked.Add(ref _inUseBytes, -buffer.Capacity);
        Interlocked.Decrement(ref _inUseCount);
        var free = _free[buffer.SizeClass];
        lock (free) free.Push(buffer);
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowClosed()
        => throw new ObjectDisposedException(nameof(DmaBufferPool), "the engine that owned this DMA buffer pool was disposed: its memory is unmapped");

    private static int ClassOf(int length)
    {
        int shift = length <= Alignment ? MinShift : 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)length - 1);
        return shift - MinShift;
    }
}
