using HdrHistogram;

namespace Orion.Perf.Workload;

/// <summary>
/// The grid every workload of a job cuts its intervals on: the first workload to start measuring sets the anchor,
/// and interval <c>k</c> runs from <c>anchor + k * length</c>. Sharing it lines the workloads' intervals up, so the
/// collector can merge them by index.
/// </summary>
internal sealed class IntervalClock(long intervalTicks)
{
    private long _anchor;

    /// <summary>Interval length in Stopwatch ticks.</summary>
    public long IntervalTicks { get; } = intervalTicks > 0 ? intervalTicks : throw new ArgumentOutOfRangeException(nameof(intervalTicks));

    /// <summary>The grid's origin in Stopwatch ticks; 0 until a workload started measuring.</summary>
    public long Anchor => Volatile.Read(ref _anchor);

    /// <summary>Sets the anchor at <paramref name="now"/> unless another workload already did; returns the anchor.</summary>
    public long AnchorAt(long now)
    {
        long seen = Interlocked.CompareExchange(ref _anchor, now, 0);
        return seen == 0 ? now : seen;
    }
}

/// <summary>
/// One workload's interval histograms of completion latency, recorded on the reactor and handed to the main thread
/// without locks or allocation. A fixed set of <see cref="Slot"/>s circulates: the reactor records into one, and at
/// an interval boundary (checked between polls) marks it full and moves to a free one in the same thread step, so
/// no completion falls between two intervals. The main thread takes full slots, reads them and frees them. When no
/// slot is free (the main thread fell behind) the reactor keeps recording into the current one: that interval
/// just gets longer; nothing is dropped.
/// </summary>
internal sealed class IntervalRecorder
{
    /// <summary>One interval's data. Owned by the reactor while <see cref="State"/> is free or recording, by the main thread while full.</summary>
    internal sealed class Slot
    {
        public const int Free = 0, Recording = 1, Full = 2;

        /// <summary>Completion latency per direction (read, write, trim), ns; null for a direction the job never does.</summary>
        public readonly LongHistogram?[] ClatNs = new LongHistogram?[3];

        /// <summary>Bytes completed per direction.</summary>
        public readonly long[] Bytes = new long[3];

        /// <summary>Stopwatch ticks: where the interval began and ended.</summary>
        public long StartTicks, EndTicks;

        /// <summary>The grid interval it began in.</summary>
        public long Index;

        /// <summary>Order of hand-over.</summary>
        public long Sequence;

        /// <summary>The workload's last interval: it stopped measuring.</summary>
        public bool Final;

        /// <summary><see cref="Free"/>, <see cref="Recording"/> or <see cref="Full"/>; written with release semantics.</summary>
        public int State;

        /// <summary>Empties the slot (main thread, before freeing it).</summary>
        public void Clear()
        {
            foreach (var h in ClatNs) h?.Reset();
            Array.Clear(Bytes);
            StartTicks = EndTicks = Index = 0;
            Final = false;
        }
    }

    private readonly IntervalClock _clock;
    private readonly Slot[] _slots;
    private Slot? _current;
    private long _nextBoundary = long.MaxValue;
    private long _sequence;
    private volatile bool _ended;

    /// <param name="clock">The job's shared grid.</param>
    /// <param name="directions">Which directions (read, write, trim) get a histogram.</param>
    /// <param name="slots">How many slots circulate (at least 2).</param>
    public IntervalRecorder(IntervalClock clock, ReadOnlySpan<bool> directions, int slots)
    {
        _clock = clock;
        _slots = new Slot[Math.Max(2, slots)];
        for (int i = 0; i < _slots.Length; i++)
        {
            var slot = new Slot();
            for (int d = 0; d < 3; d++)
                if (directions[d]) slot.ClatNs[d] = NewHistogram();
            _slots[i] = slot;
        }
    }

    /// <summary>The histograms' range and precision: the same as the job's own clat histogram.</summary>
    public static LongHistogram NewHistogram() => new(1, 60_000_000_000L, 3);

    /// <summary>How many slots a job with intervals of <paramref name="intervalMs"/> needs so that a main thread polling every ~20 ms never starves the reactor.</summary>
    public static int SlotsFor(int intervalMs) => Math.Clamp(200 / Math.Max(1, intervalMs) + 2, 2, 24);

    /// <summary>True once the workload's final interval was handed over (read it after taking the slots).</summary>
    public bool Ended => _ended;

    // ------------------------------------------------------------------ reactor thread

    /// <summary>Reactor: the measured phase starts; the first interval opens at <paramref name="now"/>.</summary>
    public void Start(long now)
    {
        long anchor = _clock.AnchorAt(now);
        var slot = _slots[0];
        slot.State = Slot.Recording;
        Open(slot, now, anchor);
    }

    /// <summary>Reactor, per measured completion: no allocation, no lock.</summary>
    public void Record(IoDirection direction, long clatNs, int bytes)
    {
        var slot = _current;
        if (slot is null) return;
        int d = (int)direction;
        slot.ClatNs[d]?.RecordValue(clatNs);
        slot.Bytes[d] += bytes;
    }

    /// <summary>Reactor, between polls while measuring: closes the interval once its boundary has passed.</summary>
    public void Tick(long now)
    {
        if (now < _nextBoundary || _current is not { } full) return;
        long anchor = _clock.Anchor;
        Slot? free = null;
        foreach (var s in _slots)
        {
            if (Volatile.Read(ref s.State) == Slot.Free)
            {
                free = s;
                break;
            }
        }
        if (free is null)
        {
            // The main thread is behind: keep this interval open until the next boundary; nothing is lost.
            long index = (now - anchor) / _clock.IntervalTicks;
            _nextBoundary = anchor + (index + 1) * _clock.IntervalTicks;
            return;
        }
        free.State = Slot.Recording;
        Hand(full, now, final: false);
        Open(free, now, anchor);
    }

    /// <summary>Reactor: the measured phase is over (every measured completion is in); hands over the last interval.</summary>
    public void End(long now)
    {
        if (_current is { } last) Hand(last, now, final: true);
        _current = null;
        _nextBoundary = long.MaxValue;
        _ended = true;
    }

    private void Open(Slot slot, long now, long anchor)
    {
        long index = Math.Max(0, (now - anchor) / _clock.IntervalTicks);
        slot.StartTicks = now;
        slot.Index = index;
        _nextBoundary = anchor + (index + 1) * _clock.IntervalTicks;
        _current = slot;
    }

    private void Hand(Slot slot, long now, bool final)
    {
        slot.EndTicks = now;
        slot.Final = final;
        slot.Sequence = _sequence++;
        Volatile.Write(ref slot.State, Slot.Full);      // publishes the slot's contents
    }

    // ------------------------------------------------------------------ main thread

    /// <summary>
    /// Main thread: adds the full slots to <paramref name="into"/> in hand-over order. A slot handed over while the
    /// scan ran may show up before an older one; it waits for the next call, so intervals always come in order.
    /// </summary>
    public void TakeFull(List<Slot> into)
    {
        _scan.Clear();
        foreach (var s in _slots)
            if (Volatile.Read(ref s.State) == Slot.Full) _scan.Add(s);
        _scan.Sort(SequenceOrder.Instance);
        foreach (var s in _scan)
        {
            if (s.Sequence != _nextTake) break;
            into.Add(s);
            _nextTake++;
        }
    }

    private readonly List<Slot> _scan = [];
    private long _nextTake;             // main thread: the sequence number of the next slot to take

    /// <summary>Main thread: empties a slot taken with <see cref="TakeFull"/> and gives it back to the reactor.</summary>
    public static void Release(Slot slot)
    {
        slot.Clear();
        Volatile.Write(ref slot.State, Slot.Free);
    }

    private sealed class SequenceOrder : IComparer<Slot>
    {
        public static readonly SequenceOrder Instance = new();
        public int Compare(Slot? x, Slot? y) => x!.Sequence.CompareTo(y!.Sequence);
    }
}
