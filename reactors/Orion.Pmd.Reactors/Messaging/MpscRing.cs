using System.Numerics;

namespace Orion.Pmd.Reactors;

/// <summary>
/// A bounded, lock-free, allocation-free multi-producer single-consumer queue (Dmitry Vyukov's bounded queue
/// with a single consumer). Each slot carries a sequence number: equal to the position when free for that
/// lap's producer, position + 1 once published, position + capacity once consumed. Producers claim a position
/// with one CompareExchange on the tail; the consumer never uses an interlocked instruction.
/// </summary>
/// <remarks>
/// A producer preempted between claiming a slot and publishing it hides the items behind it until it resumes:
/// the consumer sees "empty" rather than skipping ahead, so FIFO order holds.
/// </remarks>
/// <typeparam name="T">Item type; a struct keeps enqueue allocation-free.</typeparam>
public sealed class MpscRing<T>
{
    /// <summary>Largest capacity accepted: positions are longs, but the slot array is indexed by int.</summary>
    public const int MaxCapacity = 1 << 30;

    private readonly MpscSlot<T>[] _slots;
    private readonly long _mask;
    private PaddedHeadAndTail _indices;

    /// <summary>
    /// Creates a ring holding at least <paramref name="capacity"/> items: rounded up to a power of two (so a
    /// position maps to a slot with a mask) and to at least 2 (with one slot a consumed slot's sequence would
    /// equal the next lap's "free" value and the "published" value at once).
    /// </summary>
    public MpscRing(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, MaxCapacity);
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(2, capacity));
        _slots = new MpscSlot<T>[size];
        for (int i = 0; i < size; i++) _slots[i].Sequence = i;
        _mask = size - 1;
    }

    /// <summary>The number of items the ring holds when full (a power of two).</summary>
    public int Capacity => _slots.Length;

    /// <summary>Items enqueued and not yet dequeued; approximate while producers or the consumer run.</summary>
    public int Count
    {
        get
        {
            // Head first: reading tail first could see a head that moved past it and go negative.
            long head = Volatile.Read(ref _indices.Head);
            long tail = Volatile.Read(ref _indices.Tail);
            return (int)Math.Clamp(tail - head, 0, _slots.Length);
        }
    }

    /// <summary>True when <see cref="Count"/> is zero (equally approximate).</summary>
    public bool IsEmpty => Count == 0;

    /// <summary>Adds <paramref name="item"/>; false if the ring is full. Safe from any number of threads.</summary>
    public bool TryEnqueue(T item)
    {
        MpscSlot<T>[] slots = _slots;
        long tail = Volatile.Read(ref _indices.Tail);
        while (true)
        {
            ref MpscSlot<T> slot = ref slots[tail & _mask];
            long diff = Volatile.Read(ref slot.Sequence) - tail;
            if (diff == 0)
            {
                long seen = Interlocked.CompareExchange(ref _indices.Tail, tail + 1, tail);
                if (seen == tail)
                {
                    slot.Item = item;
                    Volatile.Write(ref slot.Sequence, tail + 1);   // release: publishes the item
                    return true;
                }
                tail = seen;   // another producer claimed it; retry at the position it left
            }
            else if (diff < 0)
            {
                return false;   // the slot still holds last lap's item: full
            }
            else
            {
                tail = Volatile.Read(ref _indices.Tail);   // we read a stale tail; catch up
            }
        }
    }

    /// <summary>
    /// True when <see cref="TryDequeue"/> would succeed now: the oldest item is published. Consumer only. A
    /// reactor about to park asks this rather than <see cref="IsEmpty"/>: an item claimed but not yet published
    /// cannot be dequeued anyway, and its producer checks for a parked consumer after publishing it.
    /// </summary>
    internal bool IsNextReady
    {
        get
        {
            long head = _indices.Head;
            return Volatile.Read(ref _slots[head & _mask].Sequence) == head + 1;
        }
    }

    /// <summary>
    /// Removes the oldest published item; false when none is ready. Only one thread may dequeue (the ring's
    /// consumer); concurrent dequeuers corrupt it.
    /// </summary>
    public bool TryDequeue(out T item)
    {
        long head = _indices.Head;   // only this thread writes it
        ref MpscSlot<T> slot = ref _slots[head & _mask];
        if (Volatile.Read(ref slot.Sequence) != head + 1)   // acquire: pairs with the producer's publish
        {
            item = default!;
            return false;
        }
        item = slot.Item;
        slot.Item = default!;   // drop the reference so the ring does not keep it alive
        Volatile.Write(ref slot.Sequence, head + _slots.Length);   // free for the next lap's producer
        Volatile.Write(ref _indices.Head, head + 1);
        return true;
    }
}
