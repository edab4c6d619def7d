using Orion.Pmd.Engine;

namespace Orion.Perf.Workload;

/// <summary>One measured completion as fio's logs need it.</summary>
/// <param name="Ticks">Stopwatch ticks of the completion.</param>
/// <param name="SlatNs">Issue to placement in the ring, ns.</param>
/// <param name="ClatNs">Placement to completion, ns.</param>
/// <param name="LatNs">Issue to completion, ns.</param>
/// <param name="Offset">Byte offset on the device.</param>
/// <param name="Bytes">Length in bytes.</param>
/// <param name="Direction">Read, write or trim.</param>
internal readonly record struct IoLogEntry(long Ticks, long SlatNs, long ClatNs, long LatNs, long Offset, int Bytes, IoDirection Direction);

/// <summary>Takes the entries of an <see cref="IoLogRing"/>, in order.</summary>
internal interface IIoLogSink
{
    /// <summary>One completion.</summary>
    void Add(in IoLogEntry entry);
}

/// <summary>
/// A workload's completions on their way to fio's log files: a single-producer single-consumer ring of fixed-size
/// entries, written by the reactor without allocation or lock and read by the thread that writes the files, off
/// the I/O path. The ring never drops an entry: the workload issues an I/O only while the ring has room for it and
/// for every I/O already in flight (<see cref="HasRoom"/>), so when the writer falls behind the workload waits, as
/// fio's I/O waits for its own inline logging.
/// </summary>
internal sealed class IoLogRing
{
    private readonly IoLogEntry[] _entries;
    private readonly int _mask;
    private long _head;         // the next entry the reactor writes; published with release
    private long _tail;         // the next entry the reader takes; published with release

    /// <param name="capacity">Entries held, rounded up to a power of two (at least 2).</param>
    public IoLogRing(int capacity)
    {
        int size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(2, capacity));
        _entries = new IoLogEntry[size];
        _mask = size - 1;
    }

    /// <summary>The ring's size for a workload of <paramref name="ioDepth"/>: room for many polls of the writer at a high rate, and always for twice the depth.</summary>
    public static int CapacityFor(int ioDepth) => Math.Max(32_768, 2 * ioDepth);

    /// <summary>Entries the ring holds.</summary>
    public int Capacity => _entries.Length;

    /// <summary>Entries waiting for the reader (any thread).</summary>
    public long Count => Volatile.Read(ref _head) - Volatile.Read(ref _tail);

    // ------------------------------------------------------------------ reactor

    /// <summary>Reactor: whether <paramref name="entries"/> more fit now.</summary>
    public bool HasRoom(int entries) => _head - Volatile.Read(ref _tail) + entries <= _entries.Length;

    /// <summary>Reactor: appends one completion. The caller made room for it when it issued the I/O (<see cref="HasRoom"/>).</summary>
    public void Add(in IoLogEntry entry)
    {
        long head = _head;
        if (head - Volatile.Read(ref _tail) >= _entries.Length)
            throw new InvalidOperationException("the I/O log ring is full: an I/O was issued without room for its entry");
        _entries[head & _mask] = entry;
        Volatile.Write(ref _head, head + 1);        // publishes the entry
    }

    // ------------------------------------------------------------------ reader

    /// <summary>Reader: hands every entry published so far to <paramref name="sink"/>, oldest first, and frees their room; returns how many.</summary>
    public int Drain<TSink>(TSink sink) where TSink : IIoLogSink
    {
        long head = Volatile.Read(ref _head);
        long tail = _tail;
        for (long i = tail; i < head; i++) sink.Add(in _entries[i & _mask]);
        Volatile.Write(ref _tail, head);
        return (int)(head - tail);
    }
}
