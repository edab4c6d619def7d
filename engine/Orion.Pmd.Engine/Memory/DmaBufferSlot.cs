using System.Buffers;

namespace Orion.Pmd.Engine.Memory;

/// <summary>
/// One buffer of the pool's memory, for the pool's lifetime: what a <see cref="Memory{T}"/> of a <see cref="DmaBuffer"/>
/// points at (the engine recognizes DMA memory by this manager). Ownership is not here but in the handle: every
/// rental bumps <see cref="Generation"/> to a new odd value that only that rental's <see cref="DmaBuffer"/> holds, and
/// its return bumps it to even, once; a handle whose generation is no longer current reaches nothing.
/// </summary>
internal sealed unsafe class DmaBufferSlot : MemoryManager<byte>
{
    private long _generation;        // odd while rented; each rental gets its own value, so a stale handle never matches
    private int _length;

    public DmaBufferSlot(DmaBufferPool pool, byte* host, ulong guestAddress, int capacity, int sizeClass)
    {
        Pool = pool;
        Pointer = host;
        GuestAddress = guestAddress;
        Capacity = capacity;
        SizeClass = sizeClass;
    }

    public DmaBufferPool Pool { get; }
    public byte* Pointer { get; }
    public ulong GuestAddress { get; }
    public int Capacity { get; }
    public int SizeClass { get; }

    /// <summary>Bytes the current renter asked for.</summary>
    public int Length => _length;

    /// <summary>The current rental's token (odd) or, between rentals, an even value no handle holds.</summary>
    public long Generation => Volatile.Read(ref _generation);

    /// <summary>
    /// The generation of a slot whose pool closed (its memory is unmapped): even, so no handle and no
    /// <see cref="Memory{T}"/> reaches it, and never reached by counting, so no rental starts on it again.
    /// </summary>
    private const long Closed = long.MinValue;

    /// <summary>
    /// Pool only, on a slot nobody holds (fresh, or taken off a free list): starts a rental and returns its token;
    /// false when the pool closed meanwhile.
    /// </summary>
    public bool TryRent(int length, out long generation)
    {
        _length = length;
        long current = Volatile.Read(ref _generation);
        generation = current + 1;
        // A compare-exchange, not an increment: the pool's Close is the only other writer, and a rental must not
        // start on a slot it closed. A full fence too: the length is visible before the token.
        return current != Closed && Interlocked.CompareExchange(ref _generation, generation, current) == current;
    }

    /// <summary>
    /// Pool's close only: ends whatever rental is current, for good. Every handle and every <see cref="Memory{T}"/>
    /// of this slot fails its check from now on (the generation check already on their path, so it costs nothing).
    /// </summary>
    public void Close() => Interlocked.Exchange(ref _generation, Closed);

    /// <summary>Ends the rental <paramref name="generation"/>; false (and nothing changes) when it already ended.</summary>
    public bool TryEnd(long generation) => Interlocked.CompareExchange(ref _generation, generation + 1, generation) == generation;

    /// <summary>The current rental's bytes as memory (the handle checked its token first).</summary>
    public Memory<byte> RentedMemory => CreateMemory(_length);

    /// <inheritdoc />
    public override Span<byte> GetSpan()
    {
        // Reached through a Memory<byte>, which carries no token: the best check here is that some rental is live.
        if ((Generation & 1) == 0) DmaBuffer.ThrowDisposed(this);
        return new Span<byte>(Pointer, _length);
    }

    /// <inheritdoc />
    public override MemoryHandle Pin(int elementIndex = 0)
    {
        if ((Generation & 1) == 0) DmaBuffer.ThrowDisposed(this);     // a pointer into returned (or unmapped) memory
        if ((uint)elementIndex > (uint)_length) throw new ArgumentOutOfRangeException(nameof(elementIndex));
        return new MemoryHandle(Pointer + elementIndex);       // native memory: nothing to pin
    }

    /// <inheritdoc />
    public override void Unpin() { }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        // Nothing: a slot lives as long as its pool, and rentals end through their DmaBuffer handle only.
    }
}
