using System.Runtime.CompilerServices;
using Orion.Pmd.Engine.Memory;
using Orion.Pmd.Engine.Requests;

namespace Orion.Pmd.Engine.Queues;

/// <summary>
/// The requests a queue's ring holds, by request slot (reactor thread only): which descriptor head each slot went out
/// as, the request in it, the bounce buffers of failed requests the device may still write (quarantined until the
/// device returns the slot or a reset re-creates the ring), and the failed requests whose owner's memory the device
/// may still read or write (withheld: their failure is delivered only once the device let go of them).
/// </summary>
internal sealed class HeldRequests
{
    private readonly int[] _headToSlot;
    private readonly BlockRequest?[] _bySlot;
    private readonly DmaBuffer?[] _quarantine;
    private readonly BlockRequest?[] _withheld;
    private int _givenUp;          // slots of failed requests the device has not returned: quarantined or withheld

    /// <param name="ringSize">Descriptor heads the ring can hand back.</param>
    /// <param name="slots">Request slots of the queue.</param>
    public HeldRequests(int ringSize, int slots)
    {
        _headToSlot = new int[ringSize];
        _bySlot = new BlockRequest?[slots];
        _quarantine = new DmaBuffer?[slots];
        _withheld = new BlockRequest?[slots];
    }

    /// <summary>Slots of failed requests the device may still read or write (a bounce buffer quarantined, or a request withheld).</summary>
    public int GivenUp => _givenUp;

    /// <summary>Request slots (the range of <see cref="At"/> and <see cref="TakeAt"/>).</summary>
    public int Slots => _bySlot.Length;

    /// <summary>Hot path: <paramref name="r"/> went out in <paramref name="slot"/> as descriptor head <paramref name="head"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Hold(int head, int slot, BlockRequest r)
    {
        _headToSlot[head] = slot;
        _bySlot[slot] = r;
    }

    /// <summary>
    /// Hot path: the request the device completed as <paramref name="head"/>, taken out of its slot; null when the
    /// request was already failed (the device completed it after all) and only the slot is left.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public BlockRequest? Take(int head, out int slot)
    {
        slot = _headToSlot[head];
        var r = _bySlot[slot];
        _bySlot[slot] = null;
        return r;
    }

    /// <summary>The request in <paramref name="slot"/>, left there.</summary>
    public BlockRequest? At(int slot) => _bySlot[slot];

    /// <summary>The request in <paramref name="slot"/>, taken out of it.</summary>
    public BlockRequest? TakeAt(int slot)
    {
        var r = _bySlot[slot];
        _bySlot[slot] = null;
        return r;
    }

    /// <summary>Every held request, oldest first, taken out of its slot (the ring is about to be replaced).</summary>
    public List<BlockRequest> TakeAllOldestFirst()
    {
        var held = new List<BlockRequest>();                 // recovery path only: allocation is fine here
        for (int s = 0; s < _bySlot.Length; s++)
            if (TakeAt(s) is { } r) held.Add(r);
        held.Sort(static (a, b) => a.StartTicks.CompareTo(b.StartTicks));
        return held;
    }

    /// <summary>Marks <see cref="BlockRequest.Expired"/> every request placed more than <paramref name="timeoutTicks"/> before <paramref name="clock"/>; returns how many.</summary>
    public int MarkExpired(long clock, long timeoutTicks)
    {
        int expired = 0;
        for (int s = 0; s < _bySlot.Length; s++)
        {
            if (_bySlot[s] is { } r && clock - r.PlacedTicks > timeoutTicks)
            {
                r.Expired = true;
                expired++;
            }
        }
        return expired;
    }

    /// <summary>Keeps <paramref name="bounce"/> out of the pool until the device lets go of <paramref name="slot"/>.</summary>
    public void Quarantine(int slot, DmaBuffer bounce)
    {
        _quarantine[slot] = bounce;
        _givenUp++;
    }

    /// <summary>
    /// Keeps the failed <paramref name="r"/> (its status and detail already set) from its owner until the device lets go
    /// of <paramref name="slot"/>: the device reads or writes the owner's own memory, which the engine cannot fence off.
    /// </summary>
    public void Withhold(int slot, BlockRequest r)
    {
        _withheld[slot] = r;
        _givenUp++;
    }

    /// <summary>
    /// The device is done with <paramref name="slot"/>: returns its quarantined bounce buffer, if any, and the request
    /// withheld in it, if any, for the caller to deliver.
    /// </summary>
    public BlockRequest? Release(int slot)
    {
        if (_quarantine[slot] is { } bounce)
        {
            _quarantine[slot] = null;
            _givenUp--;
            bounce.Dispose();
        }
        var r = _withheld[slot];
        if (r is null) return null;
        _withheld[slot] = null;
        _givenUp--;
        return r;
    }

    /// <summary>The device let go of the whole ring: no slot holds a request, nothing can write a quarantined buffer.</summary>
    public void Clear()
    {
        Array.Clear(_bySlot);
        for (int s = 0; s < _quarantine.Length; s++)
            if (Release(s) is not null) throw new InvalidOperationException("a withheld request must be delivered before the ring is cleared");
    }
}
