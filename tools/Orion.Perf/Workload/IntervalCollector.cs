using HdrHistogram;

namespace Orion.Perf.Workload;

/// <summary>One interval of a job: every workload's slots of one grid index, merged.</summary>
internal sealed class IntervalCell
{
    /// <summary>The grid interval.</summary>
    public long Index { get; init; }

    /// <summary>Stopwatch ticks: the earliest start and the latest end of the merged slots.</summary>
    public long StartTicks { get; private set; } = long.MaxValue;

    /// <inheritdoc cref="StartTicks"/>
    public long EndTicks { get; private set; } = long.MinValue;

    /// <summary>Completion latency per direction (read, write, trim), ns; null for a direction the job never does.</summary>
    public LongHistogram?[] ClatNs { get; } = new LongHistogram?[3];

    /// <summary>Bytes completed per direction.</summary>
    public long[] Bytes { get; } = new long[3];

    /// <summary>I/Os completed in direction <paramref name="d"/> (0 read, 1 write, 2 trim).</summary>
    public long Ios(int d) => ClatNs[d]?.TotalCount ?? 0;

    /// <summary>Every direction's latencies in one histogram (null when the job has one direction: use that one).</summary>
    public LongHistogram AllClatNs()
    {
        var present = ClatNs.Where(h => h is not null).ToList();
        if (present.Count == 1) return present[0]!;
        var all = IntervalRecorder.NewHistogram();
        foreach (var h in present) all.Add(h!);
        return all;
    }

    internal void Add(IntervalRecorder.Slot slot) => Add(slot.StartTicks, slot.EndTicks, slot.ClatNs, slot.Bytes);

    internal void Add(IntervalCell other) => Add(other.StartTicks, other.EndTicks, other.ClatNs, other.Bytes);

    private void Add(long start, long end, LongHistogram?[] clat, long[] bytes)
    {
        StartTicks = Math.Min(StartTicks, start);
        EndTicks = Math.Max(EndTicks, end);
        for (int d = 0; d < 3; d++)
        {
            Bytes[d] += bytes[d];
            if (clat[d] is not { } h) continue;
            (ClatNs[d] ??= IntervalRecorder.NewHistogram()).Add(h);
        }
    }
}

/// <summary>
/// Main thread: gathers a job's interval slots from each workload's <see cref="IntervalRecorder"/>, merges those of
/// the same grid interval, and hands each finished interval to a sink, in order. An interval is finished once every
/// workload has moved past it or stopped. At the end, a last interval much shorter than the rest (the few
/// microseconds between a boundary and the end of a size-bound job) joins the one before it, so it does not show
/// as a spike of IOPS.
/// </summary>
internal sealed class IntervalCollector
{
    private readonly IntervalClock _clock;
    private readonly IReadOnlyList<IntervalRecorder> _recorders;
    private readonly Action<IntervalCell> _emit;
    private readonly long[] _latest;
    private readonly bool[] _finished;
    private readonly SortedDictionary<long, IntervalCell> _pending = [];
    private readonly List<IntervalRecorder.Slot> _taken = [];
    private bool _completed;

    public IntervalCollector(IntervalClock clock, IReadOnlyList<IntervalRecorder> recorders, Action<IntervalCell> emit)
    {
        _clock = clock;
        _recorders = recorders;
        _emit = emit;
        _latest = Enumerable.Repeat(-1L, recorders.Count).ToArray();
        _finished = new bool[recorders.Count];
    }

    /// <summary>The job's grid.</summary>
    public IntervalClock Clock => _clock;

    /// <summary>Takes what the workloads handed over and passes on every interval that is finished.</summary>
    public void Drain()
    {
        if (_completed) return;
        Take();
        if (_finished.All(f => f)) return;          // the end: Complete decides about a short last interval
        while (_pending.Count > 0)
        {
            var (index, cell) = _pending.First();
            for (int w = 0; w < _recorders.Count; w++)
                if (!_finished[w] && _latest[w] <= index) return;
            _pending.Remove(index);
            _emit(cell);
        }
    }

    /// <summary>Once every workload stopped measuring: passes on the remaining intervals.</summary>
    public void Complete()
    {
        if (_completed) return;
        Take();
        _completed = true;
        var rest = _pending.Values.ToList();
        _pending.Clear();
        if (rest.Count >= 2 && rest[^1].EndTicks - rest[^1].StartTicks < _clock.IntervalTicks / 4)
        {
            rest[^2].Add(rest[^1]);
            rest.RemoveAt(rest.Count - 1);
        }
        foreach (var cell in rest) _emit(cell);
    }

    private void Take()
    {
        for (int w = 0; w < _recorders.Count; w++)
        {
            if (_finished[w]) continue;
            var recorder = _recorders[w];
            bool ended = recorder.Ended;        // read first: every slot handed over before it is visible below
            _taken.Clear();
            recorder.TakeFull(_taken);
            foreach (var slot in _taken)
            {
                if (!_pending.TryGetValue(slot.Index, out var cell)) _pending.Add(slot.Index, cell = new IntervalCell { Index = slot.Index });
                cell.Add(slot);
                _latest[w] = Math.Max(_latest[w], slot.Index);
                if (slot.Final) _finished[w] = true;
                IntervalRecorder.Release(slot);
            }
            if (ended) _finished[w] = true;
        }
    }
}
