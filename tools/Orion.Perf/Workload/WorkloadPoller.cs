using System.Diagnostics;
using HdrHistogram;
using Orion.Pmd.Engine;
using Orion.Pmd.Engine.Memory;
using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Reactors;

namespace Orion.Perf.Workload;

/// <summary>
/// The benchmark workload, run as a poller on the queue's own reactor (as SPDK's bdevperf does): it keeps
/// <c>iodepth</c> requests in flight through the allocation-free callback form, resubmits from the completion
/// callback so a completion and its replacement share one reactor iteration, and records completion latency
/// per direction in single-writer histograms on the reactor thread.
/// </summary>
internal sealed class WorkloadPoller : IPoller, IBlockCompletion
{
    private readonly BlockQueue _queue;
    private readonly WorkloadPlan _plan;
    private readonly DmaBuffer[] _buffers;
    private readonly long[] _startTicks;
    private readonly IoDirection[] _direction;
    private readonly int[] _bytes;
    private readonly int[] _freeSlots;
    private int _freeCount;
    private ulong _rng;
    private long _nextSequentialBlock;      // relative to the region start
    private long _iosIssuedInMeasure;

    private enum Phase { NotStarted, Ramp, Measure, Draining, Done }
    private Phase _phase;
    private long _phaseStart, _measureStart, _measureEnd, _endAt;
    private long _bytesIssuedInMeasure;
    private int _inFlight;
    private volatile bool _done;

    public WorkloadPoller(BlockQueue queue, WorkloadPlan plan, DmaBuffer[] buffers)
    {
        _queue = queue;
        _plan = plan;
        _buffers = buffers;
        int depth = plan.IoDepth;
        _startTicks = new long[depth];
        _direction = new IoDirection[depth];
        _bytes = new int[depth];
        _freeSlots = new int[depth];
        for (int i = 0; i < depth; i++) _freeSlots[i] = i;
        _freeCount = depth;
        _rng = plan.Seed | 1;
        Read = new DirectionCounters();
        Write = new DirectionCounters();
        Trim = new DirectionCounters();
    }

    internal sealed class DirectionCounters
    {
        public long Ios, Bytes, Errors;
        public readonly LongHistogram ClatNs = new(1, 60_000_000_000L, 3);
        public void Reset()
        {
            Ios = Bytes = Errors = 0;
            ClatNs.Reset();
        }

        /// <summary>Sums several jobs' counters (read after every job is done).</summary>
        public static DirectionCounters Merge(IEnumerable<DirectionCounters> parts)
        {
            var total = new DirectionCounters();
            foreach (var p in parts)
            {
                total.Ios += p.Ios;
                total.Bytes += p.Bytes;
                total.Errors += p.Errors;
                total.ClatNs.Add(p.ClatNs);
            }
            return total;
        }
    }

    public DirectionCounters Read { get; }
    public DirectionCounters Write { get; }
    public DirectionCounters Trim { get; }

    /// <summary>True once the measured phase ended and every request came back (read the results only then).</summary>
    public bool IsDone => _done;

    /// <summary>Ticks of the measured window.</summary>
    public long MeasuredTicks => _measureEnd - _measureStart;

    /// <summary>Fraction of the work done, for the live status line (0..1).</summary>
    public double Progress
    {
        get
        {
            long now = Stopwatch.GetTimestamp();
            long total = _plan.RampTicks + _plan.RuntimeTicks;
            if (_plan.RuntimeTicks > 0 && total > 0) return Math.Clamp((double)(now - Volatile.Read(ref _phaseStart0)) / total, 0, 1);
            return _plan.SizeBytes > 0 ? Math.Clamp((double)Volatile.Read(ref _bytesIssuedInMeasure) / _plan.SizeBytes, 0, 1) : 0;
        }
    }
    private long _phaseStart0;

    /// <summary>Raised on the reactor thread when the measured phase starts (the ramp is over).</summary>
    public event Action? MeasureStarted;

    public int Poll()
    {
        switch (_phase)
        {
            case Phase.Done:
                return 0;
            case Phase.NotStarted:
                _phaseStart = _phaseStart0 = Stopwatch.GetTimestamp();
                if (_plan.RampTicks > 0)
                {
                    _phase = Phase.Ramp;
                    _endAt = _phaseStart + _plan.RampTicks;
                }
                else StartMeasure(_phaseStart);
                break;
        }
        long now = Stopwatch.GetTimestamp();
        if (_phase == Phase.Ramp && now >= _endAt) StartMeasure(now);
        if (_phase == Phase.Measure && _plan.RuntimeTicks > 0 && now >= _endAt) StopIssuing(now);
        if (_phase == Phase.Draining && _inFlight == 0)
        {
            _measureEnd = now;     // the window closes when the last measured request is back
            _phase = Phase.Done;
            _done = true;
            return 0;
        }
        return IssueUpToDepth(now);
    }

    private void StartMeasure(long now)
    {
        Read.Reset();
        Write.Reset();
        Trim.Reset();
        _phase = Phase.Measure;
        _measureStart = now;
        _endAt = _plan.RuntimeTicks > 0 ? now + _plan.RuntimeTicks : long.MaxValue;
        _bytesIssuedInMeasure = 0;
        _iosIssuedInMeasure = 0;
        MeasureStarted?.Invoke();
    }

    private void StopIssuing(long now)
    {
        _phase = Phase.Draining;
        _measureEnd = now;
    }


    private int IssueUpToDepth(long now)
    {
        if (_phase is not (Phase.Ramp or Phase.Measure)) return 0;
        int issued = 0;
        while (_freeCount > 0)
        {
            if (_phase == Phase.Measure
                && ((!_plan.TimeBased && _bytesIssuedInMeasure >= _plan.SizeBytes)
                    || (_plan.NumberIos > 0 && _iosIssuedInMeasure >= _plan.NumberIos)))
            {
                StopIssuing(now);
                break;
            }
            if (!IssueOne(now)) break;
            issued++;
        }
        return issued;
    }

    private bool IssueOne(long now)
    {
        int slot = _freeSlots[_freeCount - 1];
        bool first = _plan.ReadPercent >= 100 || (_plan.ReadPercent > 0 && (int)(NextRandom() % 100) < _plan.ReadPercent);
        var direction = first ? IoDirection.Read : _plan.Trim ? IoDirection.Trim : IoDirection.Write;
        int blocks = NextBlocks();
        long lba = NextLba(blocks);
        int bytes = blocks * (_plan.BlockBytes / _plan.BlocksPerIo);
        var buffer = _buffers[slot];
        bool ok = direction switch
        {
            IoDirection.Read => _queue.TrySubmitRead(lba, buffer, 0, bytes, this, slot),
            IoDirection.Write => _queue.TrySubmitWrite(lba, buffer, 0, bytes, this, slot),
            _ => _queue.TrySubmitDiscard(lba, blocks, this, slot),
        };
        if (!ok) return false;     // out of request objects: retry on the next poll
        _freeCount--;
        _startTicks[slot] = now;
        _direction[slot] = direction;
        _bytes[slot] = bytes;
        _inFlight++;
        if (_phase == Phase.Measure)
        {
            _bytesIssuedInMeasure += bytes;
            _iosIssuedInMeasure++;
        }
        return true;
    }

    /// <summary>The size of the next I/O in device blocks: the bssplit entry a draw from 0 to 99 falls in.</summary>
    private int NextBlocks()
    {
        var sizes = _plan.SizeBlocks;
        if (sizes.Length == 1) return sizes[0];
        int draw = (int)(NextRandom() % 100);
        var cumulative = _plan.SizeCumulativePercent;
        for (int i = 0; i < cumulative.Length; i++)
            if (draw < cumulative[i]) return sizes[i];
        return sizes[^1];
    }

    private long NextLba(int blocks)
    {
        long relative;
        if (_plan.Random) relative = _plan.Offsets!.Next(ref _rng) * _plan.AlignBlocks;
        else
        {
            relative = _nextSequentialBlock;
            if (relative + blocks > _plan.RegionBlocks) relative = 0;      // wrap: the I/O would run past the region
            _nextSequentialBlock = relative + blocks;
        }
        return _plan.RegionStartLba + relative;
    }

    private ulong NextRandom() => OffsetDistribution.NextRandom(ref _rng);

    public void OnCompleted(long tag, IoStatus status)
    {
        int slot = (int)tag;
        long now = _queue.CompletionTimestamp;      // the queue already read the clock for this reaped batch
        var dir = _direction[slot] switch { IoDirection.Read => Read, IoDirection.Write => Write, _ => Trim };
        if (_phase == Phase.Measure || (_phase == Phase.Draining && _startTicks[slot] >= _measureStart))
        {
            dir.Ios++;
            dir.Bytes += _bytes[slot];
            if (status != IoStatus.Ok) dir.Errors++;
            dir.ClatNs.RecordValue(Math.Clamp(now - _startTicks[slot], 1, 60_000_000_000L));
        }
        _inFlight--;
        _freeSlots[_freeCount++] = slot;
        // Replace it at once so it joins the batch the queue is about to submit.
        if (_phase is Phase.Ramp or Phase.Measure) IssueUpToDepth(now);
    }
}
