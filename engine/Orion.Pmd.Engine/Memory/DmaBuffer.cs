using System.Buffers;
using System.Diagnostics.CodeAnalysis;

namespace Orion.Pmd.Engine.Memory;

/// <summary>
/// A buffer in memory shared with the device, rented from the engine's pool: I/O on it moves zero-copy. Its
/// <see cref="Memory"/> can be passed to <see cref="BlockDevice"/> methods as is, or sliced.
/// </summary>
/// <remarks>
/// A handle to one rental (a value: copies are the same handle). <see cref="Dispose"/> returns the buffer to the pool
/// once; disposing again, through this handle or a copy, does nothing, even after the pool gave the same memory to
/// another renter. Every member but <see cref="Dispose"/> and <see cref="IsDisposed"/> throws
/// <see cref="ObjectDisposedException"/> once the rental ended (as does a default handle). A <see cref="Memory"/>
/// taken before the end carries no token: it must not be used afterwards (the engine can only check that the memory is
/// rented at all).
/// <para>
/// Disposing the engine ends every rental still out: its memory is unmapped. The handle, and a <see cref="Memory"/>
/// taken from it, then throw <see cref="ObjectDisposedException"/> (instead of touching unmapped memory) and
/// <see cref="Dispose"/> does nothing. A <see cref="Span"/> taken before must not outlive
/// the engine: nothing can check those.
/// </para>
/// </remarks>
public readonly unsafe struct DmaBuffer : IMemoryOwner<byte>
{
    private readonly DmaBufferSlot? _slot;
    private readonly long _generation;

    internal DmaBuffer(DmaBufferSlot slot, long generation)
    {
        _slot = slot;
        _generation = generation;
    }

    /// <summary>Whether the rental this handle stands for has ended (or the handle is default, or its engine was disposed).</summary>
    public bool IsDisposed => _slot is not { } s || s.Generation != _generation;

    /// <summary>This process's address of the first byte (the engine's own use: callers take <see cref="Span"/> or <see cref="Memory"/>).</summary>
    internal byte* Pointer => Owned.Pointer;

    /// <summary>The device-visible address of the first byte.</summary>
    public ulong GuestAddress => Owned.GuestAddress;

    /// <summary>Usable bytes (what was asked for).</summary>
    public int Length => Owned.Length;

    /// <summary>Bytes reserved for this buffer (its pool size class).</summary>
    public int Capacity => Owned.Capacity;

    /// <summary>The buffer's bytes.</summary>
    public Span<byte> Span
    {
        get
        {
            var slot = Owned;
            return new Span<byte>(slot.Pointer, slot.Length);
        }
    }

    /// <summary>The buffer's bytes as memory, recognized by the engine as DMA memory (zero-copy).</summary>
    public Memory<byte> Memory => Owned.RentedMemory;

    /// <summary>Returns the buffer to the pool. Idempotent: a second call (or one through a copy) does nothing.</summary>
    public void Dispose()
    {
        if (_slot is { } slot && slot.TryEnd(_generation)) slot.Pool.Return(slot);
    }

    /// <summary>The slot, while this handle's rental is the current one.</summary>
    private DmaBufferSlot Owned
    {
        get
        {
            var slot = _slot;
            if (slot is null || slot.Generation != _generation) ThrowDisposed(slot);
            return slot;
        }
    }

    [DoesNotReturn]
    internal static void ThrowDisposed(DmaBufferSlot? slot)
        => throw new ObjectDisposedException(nameof(DmaBuffer), slot is not null && slot.Pool.IsClosed
            ? "the engine that owned this DMA buffer was disposed: its memory is unmapped, and this handle no longer reaches it"
            : "the DMA buffer was returned to the pool (disposed); this handle no longer reaches it");
}
