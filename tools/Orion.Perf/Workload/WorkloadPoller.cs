using System.Diagnostics;
using HdrHistogram;
using Orion.Perf.Reporting;
using Orion.Perf.Verify;
using Orion.Pmd.Engine;
using Orion.Pmd.Engine.Memory;
using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Reactors;

namespace Orion.Perf.Workload;

/// <summary>
/// The benchmark workload, run as a poller on the queue's own reactor (as SPDK's bdevperf does): it keeps
/// <c>iodepth</c> requests in flight through the allocation-free callback form, resubmits from the completion
/// callback so a completion and its replacement share one reactor iteration, and records latency per direction in
/// single-writer histograms on the reactor thread. Nothing on the per-I/O path allocates.
/// </summary>
/// <remarks>
/// <para>
/// Latency is split as fio splits it. <b>slat</b>: from the moment the workload issues a request (the poll's or the
/// reaped batch's timestamp) to the end of the queue's submission pass that placed it in the ring, seen at the
/// workload's next poll (the queue polls first on the reactor, so that poll follows the placement at once: slat
/// includes the avail-index publish and any doorbell, as fio's includes the submit call). <b>clat</b>: from there to
/// the reaped completion. <b>lat</b>: issue to completion, slat + clat.
/// </para>
/// <para>
/// With a rate (<see cref="WorkloadPlan.RateIops"/>) the workload is open-loop: I/Os are due on a schedule, start
/// as soon as they are due and a slot is free, and when the device falls behind they wait (at most iodepth in
/// flight) and start late. Their latency from the <i>intended</i> start is recorded too: that is what a client of a
/// service running at this rate would see, where a closed loop hides the queueing (coordinated omission).
/// </para>
/// </remarks>
internal sealed class WorkloadPoller : IParkablePoller, IBlockCompletion
{
    private readonly BlockQueue _queue;
    private readonly WorkloadPlan _plan;
    private readonly DmaBuffer[] _buffers;
    private readonly long[] _issueTicks;        // when the workload issued it
    private readonly long[] _placedTicks;       // when the workload saw it placed in the ring
    private readonly long[] _intendedTicks;     // when the rate schedule wanted it to start
    private readonly long[] _lba;
    private readonly int[] _blocks;
    private readonly IoDirection[] _direction;
    private readonly int[] _bytes;
    private readonly int[] _freeSlots;
    private int _freeCount;
    private ulong _rng;
    private long _nextSequentialBlock;      // relative to the region start
    private long _iosIssuedInMeasure;

    // Requests issued and not yet seen placed, oldest first, as (issue generation << 16 | slot): the queue places
    // its pending FIFO in order, so after a pass all but the newest `Pending` of them are in the ring.
    private readonly long[] _unplaced;
    private readonly int _unplacedMask;
    private int _unplacedHead, _unplacedCount, _unplacedLive;
    private readonly int[] _issueGeneration;
    private readonly bool[] _awaitingPlacement;

    private readonly RateSchedule? _rate;
    private readonly RateSchedule?[]? _directionRates;     // fio rate / rate_iops=R,W,T: one schedule per direction
    private readonly RandomMap? _map;
    private int _heldDirection = -1, _heldBlocks;           // chosen but not yet issued (its direction's rate, or no request object)
    private long _heldLba = -1;
    private readonly LatencyTargetSearch? _latency;          // fio latency_target: the depth search
    private FlowGroup? _flow;                               // fio flow: the flow_id group this workload is in
    private long _flowIos;                                  // I/Os this workload counted in its flow group
    private bool _flowQuiesce;                              // held back with flow_sleep: let the I/Os in flight complete, then pause
    private long _zoneStart, _zoneBytes;                    // zonemode=strided: the zone (blocks from the region start) and bytes done in it
    private int _randomRunLeft;                             // rw=randMODE:N: sequential I/Os left before a new random offset
    private int _sinceThink;                                // I/Os since the last think time
    private bool _thinkPending, _lowWait;
    private long _thinkUntil;
    private readonly long[] _cycleIos = new long[3], _cycleBytes = new long[3];
    private long _nextRateCheck;
    private volatile bool _stopRequested;
    private IntervalRecorder? _intervals;
    private IoLogRing? _ioLog;
    private bool _logBlocked;                    // waiting for the log writer to free room in _ioLog

    // Completions of the ramp and the measured phase per direction (read, write, trim), for the live status line:
    // written by the reactor only, read by the main thread.
    private readonly long[] _liveIos = new long[3];
    private readonly long[] _liveBytes = new long[3];
    private readonly long[] _liveIosAtMeasure = new long[3];      // _liveIos and _liveBytes when the measured phase started
    private readonly long[] _liveBytesAtMeasure = new long[3];
    private readonly VerifyTracker? _verify;
    private readonly VerifyBacklog? _backlog;
    private readonly int _verifyBlocks;          // device blocks per verify header
    private long _verifyCursor;
    private bool _verifyScanDone, _verifyStop;
    private bool _errorStop;                     // a failure continue_on_error does not cover ended the job
    private readonly IoOutcomes _outcomes;
    private readonly DepthDistribution _depths = new();
    private long _reapStamp;                     // the completion batch being counted (the queue's reap timestamp)
    private int _reapCount;                      // measured completions of that batch so far
    private long _stoppedAt;                     // Stopwatch ticks when issuing stopped (any thread reads it)

    private enum Phase { NotStarted, Delayed, Ramp, Measure, Draining, AwaitingReadBack, ReadBack, Done }
    private Phase _phase;
    private long _phaseStart, _measureStart, _measureEnd, _endAt;
    private long _bytesIssuedInMeasure;
    private int _inFlight;
    private volatile bool _done, _measureEnded, _readBackReleased;

    public WorkloadPoller(BlockQueue queue, WorkloadPlan plan, DmaBuffer[] buffers)
    {
        _queue = queue;
        _plan = plan;
        _buffers = buffers;
        int depth = plan.IoDepth;
        _issueTicks = new long[depth];
        _placedTicks = new long[depth];
        _intendedTicks = new long[depth];
        _lba = new long[depth];
        _blocks = new int[depth];
        _direction = new IoDirection[depth];
        _bytes = new int[depth];
        _freeSlots = new int[depth];
        for (int i = 0; i < depth; i++) _freeSlots[i] = i;
        _freeCount = depth;
        int ring = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)(2 * depth));
        _unplaced = new long[ring];
        _unplacedMask = ring - 1;
        _issueGeneration = new int[depth];
        _awaitingPlacement = new bool[depth];
        _rng = plan.Seed | 1;
        _outcomes = new IoOutcomes(depth);
        if (plan.RateIops > 0) _rate = new RateSchedule(plan.RateIops, plan.RatePoisson, plan.Seed ^ 0x5DEECE66DUL, Stopwatch.Frequency);
        if (plan.DirectionRates.Any)
        {
            _directionRates = new RateSchedule?[3];
            for (int d = 0; d < 3; d++)
                if (plan.DirectionRates[d] > 0)
                    _directionRates[d] = new RateSchedule(plan.DirectionRates[d], plan.RatePoisson, plan.Seed ^ (0x5DEECE66DUL + (ulong)d), Stopwatch.Frequency);
        }
        if (plan.LatencyTargetTicks > 0)
            _latency = new LatencyTargetSearch(depth, plan.LatencyTargetTicks, plan.LatencyWindowTicks, plan.LatencyPercentile, plan.LatencyRun);
        if (plan.RandomMap && plan.Offsets is { } offsets) _map = new RandomMap(offsets.Slots, plan.Seed ^ 0xA0761D6478BD642FUL);
        if (plan.Verify)
        {
            int blockSize = plan.BlockBytes / plan.BlocksPerIo;
            _verifyBlocks = plan.VerifyBlocks;
            _verify = new VerifyTracker(plan.RegionStartLba, plan.RegionBlocks, plan.VerifyBlocks, blockSize, plan.BlocksPerIo / plan.VerifyBlocks, depth, plan.Seed)
            {
                Mode = plan.VerifyMode,
                Pattern = plan.VerifyPattern,
                VerifyOffset = plan.VerifyOffset,
                Thread = plan.VerifyThread,
                // A job that only reads checks what an earlier job or run wrote: each block by what it holds alone.
                Stateless = plan.ReadPercent >= 100,
            };
            if (plan.VerifyBacklog > 0 && plan.ReadPercent < 100) _backlog = new VerifyBacklog(plan.VerifyBacklog, plan.VerifyBacklogBatch, depth);
        }
        Read = new DirectionCounters();
        Write = new DirectionCounters();
        Trim = new DirectionCounters();
    }

    /// <summary>One direction's counts and latency histograms (each single-writer: the reactor).</summary>
    internal sealed class DirectionCounters
    {
        public long Ios, Bytes, Errors;
        /// <summary>Issue to placement in the ring.</summary>
        public readonly LongHistogram SlatNs = NewHistogram();
        /// <summary>Placement to completion: the service time.</summary>
        public readonly LongHistogram ClatNs = NewHistogram();
        /// <summary>Issue to completion.</summary>
        public readonly LongHistogram LatNs = NewHistogram();
        /// <summary>With a rate: intended start to completion (coordinated-omission corrected).</summary>
        public readonly LongHistogram IntendedLatNs = NewHistogram();
        /// <summary>With a rate: I/Os started, the sum and the largest of how late they started.</summary>
        public long ScheduledIos, ScheduleLagSumNs, ScheduleLagMaxNs;

        private static LongHistogram NewHistogram() => new(1, 60_000_000_000L, 3);

        public void Reset()
        {
            Ios = Bytes = Errors = 0;
            ScheduledIos = ScheduleLagSumNs = ScheduleLagMaxNs = 0;
            SlatNs.Reset();
            ClatNs.Reset();
            LatNs.Reset();
            IntendedLatNs.Reset();
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
                total.ScheduledIos += p.ScheduledIos;
                total.ScheduleLagSumNs += p.ScheduleLagSumNs;
                total.ScheduleLagMaxNs = Math.Max(total.ScheduleLagMaxNs, p.ScheduleLagMaxNs);
                total.SlatNs.Add(p.SlatNs);
                total.ClatNs.Add(p.ClatNs);
                total.LatNs.Add(p.LatNs);
                total.IntendedLatNs.Add(p.IntendedLatNs);
            }
            return total;
        }
    }

    public DirectionCounters Read { get; }
    public DirectionCounters Write { get; }
    public DirectionCounters Trim { get; }

    /// <summary>True once every phase is over and every request came back (read the results only then).</summary>
    public bool IsDone => _done;

    /// <summary>
    /// True once the measured phase ended and its requests came back: the results and the window are final. A job
    /// with a read-back then waits for <see cref="ReleaseReadBack"/>.
    /// </summary>
    public bool MeasureEnded => _measureEnded;

    /// <summary>Whether the workload waits to read back and check what it wrote.</summary>
    public bool AwaitingReadBack => _measureEnded && !_done && !_readBackReleased;

    /// <summary>Lets the read-back start (any thread; wake the reactor after it if it may be parked).</summary>
    public void ReleaseReadBack() => _readBackReleased = true;

    /// <summary>Ticks of the measured window.</summary>
    public long MeasuredTicks => _measureEnd - _measureStart;

    // The reactor thread's managed allocations at the window's ends: the data path (engine and workload alike) runs
    // on it, and should allocate nothing per I/O.
    private long _allocAtStart, _allocAtEnd = -1;

    /// <summary>Bytes the reactor thread allocated on the managed heap over the measured window; read once <see cref="MeasureEnded"/>.</summary>
    public long AllocatedBytes => _allocAtEnd < 0 ? 0 : Math.Max(0, _allocAtEnd - _allocAtStart);

    /// <summary>With a rate: I/Os that were due when the measured phase ended but never started (the device was behind).</summary>
    public long UnissuedAtEnd { get; private set; }

    /// <summary>Verification state; null without verify. Read it once <see cref="IsDone"/>.</summary>
    public VerifyTracker? Verifier => _verify;

    /// <summary>Whether verify_fatal stopped the workload.</summary>
    public bool StoppedByVerify => _verifyStop;

    /// <summary>Whether a failed I/O that <c>continue_on_error</c> does not cover stopped the workload.</summary>
    public bool StoppedByError => _errorStop;

    /// <summary>fio's iodepth_level, iodepth_submit and iodepth_complete of the measured window; read once <see cref="MeasureEnded"/>.</summary>
    public DepthDistribution Depths => _depths;

    /// <summary>Submissions, completions (each once), failures: read the details once <see cref="IsDone"/>.</summary>
    public IoOutcomes Outcomes => _outcomes;

    /// <summary>Stopwatch ticks when the workload stopped issuing I/O (the measured phase ended or a failure stopped it); 0 before. Any thread.</summary>
    public long StoppedIssuingAt => Volatile.Read(ref _stoppedAt);

    /// <summary>Whether the read-back after the writes ran.</summary>
    public bool ReadBackRan { get; private set; }

    /// <summary>
    /// Interval histograms of completion latency (<c>--write_hist_log</c>, <c>--report</c>); null for none. Set it
    /// before the workload is placed on its reactor.
    /// </summary>
    public IntervalRecorder? Intervals
    {
        get => _intervals;
        init => _intervals = value;
    }

    /// <summary>
    /// fio's per-I/O logs (<c>--write_lat_log</c>, <c>--write_bw_log</c>, ...): every measured successful completion
    /// goes into this ring; null for none. Set it before the workload is placed on its reactor.
    /// </summary>
    public IoLogRing? IoLog
    {
        get => _ioLog;
        init => _ioLog = value;
    }

    /// <summary>
    /// fio's flow control group this workload joins (plan's <see cref="WorkloadPlan.FlowWeight"/>); null for none. Set it
    /// before the workload is placed on its reactor.
    /// </summary>
    public FlowGroup? Flow
    {
        get => _flow;
        init
        {
            _flow = value;
            value?.Join(_plan.FlowWeight);
        }
    }

    /// <summary>
    /// I/Os completed in direction <paramref name="d"/> since the measured phase started (any thread; 0 before it).
    /// With <see cref="MeasuredBytes"/>, what the bandwidth and IOPS samplers read.
    /// </summary>
    public long MeasuredIos(int d) => Volatile.Read(ref _measureStartPublished) == 0 ? 0 : LiveIos(d) - _liveIosAtMeasure[d];

    /// <summary>Bytes completed in direction <paramref name="d"/> since the measured phase started (any thread; 0 before it).</summary>
    public long MeasuredBytes(int d) => Volatile.Read(ref _measureStartPublished) == 0 ? 0 : LiveBytes(d) - _liveBytesAtMeasure[d];

    /// <summary>I/Os completed so far in direction <paramref name="d"/> (0 read, 1 write, 2 trim), ramp included; any thread.</summary>
    public long LiveIos(int d) => Volatile.Read(ref _liveIos[d]);

    /// <summary>Bytes completed so far in direction <paramref name="d"/>, ramp included; any thread.</summary>
    public long LiveBytes(int d) => Volatile.Read(ref _liveBytes[d]);

    /// <summary>True while the workload still ramps up (any thread).</summary>
    public bool Ramping => Volatile.Read(ref _measureStartPublished) == 0 && !_measureEnded;

    /// <summary>
    /// For a job bound by size or I/O count: the fraction of that done in the measured phase (0..1); null for a
    /// purely time-bound job.
    /// </summary>
    public double? AmountProgress
    {
        get
        {
            if (_plan.TimeBased) return null;
            double bytes = _plan.SizeBytes > 0 ? (double)Volatile.Read(ref _bytesIssuedInMeasure) / _plan.SizeBytes : 0;
            double ios = _plan.NumberIos > 0 ? (double)Volatile.Read(ref _iosIssuedInMeasure) / _plan.NumberIos : 0;
            return Math.Clamp(Math.Max(bytes, ios), 0, 1);
        }
    }

    /// <summary>Stopwatch ticks when the measured phase started; 0 before.</summary>
    public long MeasureStartTicks => Volatile.Read(ref _measureStartPublished);
    private long _measureStartPublished;

    /// <summary>Fraction of the work done, for the live status line (0..1).</summary>
    public double Progress
    {
        get
        {
            if (_measureEnded) return 1;
            long start = Volatile.Read(ref _phaseStart0);
            long total = _plan.RampTicks + _plan.RuntimeTicks;
            double time = _plan.RuntimeTicks > 0 && total > 0 && start != 0 ? Math.Clamp((double)(Stopwatch.GetTimestamp() - start) / total, 0, 1) : 0;
            // A job bound by size or count as well as by time ends at whichever comes first.
            return Math.Max(time, AmountProgress ?? 0);
        }
    }
    private long _phaseStart0;

    /// <summary>The queue depth in use: with fio's latency_target the one its search settled on (fio's latency_depth), else iodepth.</summary>
    public int LatencyDepth => _latency?.Depth ?? _plan.IoDepth;

    /// <summary>Whether an I/O above latency_target at depth 1 (latency_percentile 100) ended the job: fio's "max latency exceeded".</summary>
    public bool LatencyTargetMissed { get; private set; }

    /// <summary>Whether fio's rate_min (or rate_iops_min) was not met over a rate_cycle, which ended the job.</summary>
    public bool RateMinMissed { get; private set; }

    /// <summary>The direction (0 read, 1 write, 2 trim) and the rate seen when <see cref="RateMinMissed"/>.</summary>
    public (int Direction, double Rate, bool Bytes) RateMinMiss { get; private set; }

    /// <summary>
    /// Stops the workload (fio's exitall: another job finished); any thread. A workload still waiting for its
    /// start delay ends without I/O, a running one stops issuing and drains.
    /// </summary>
    public void RequestStop() => _stopRequested = true;

    /// <summary>Raised on the reactor thread when the measured phase starts (the ramp is over).</summary>
    public event Action? MeasureStarted;

    public int Poll()
    {
        switch (_phase)
        {
            case Phase.Done:
                return 0;
            case Phase.NotStarted or Phase.Delayed:
                long t = Stopwatch.GetTimestamp();
                if (_stopRequested)
                {
                    _measureStart = _measureEnd = t;        // exitall before it started: an empty job
                    Volatile.Write(ref _stoppedAt, t);
                    Finish();
                    return 0;
                }
                if (_phase == Phase.NotStarted && _plan.StartDelayTicks > 0)
                {
                    _phase = Phase.Delayed;                 // fio's startdelay: not part of the runtime
                    _endAt = t + _plan.StartDelayTicks;
                    return 0;
                }
                if (_phase == Phase.Delayed && t < _endAt) return 0;
                Begin(t);
                break;
        }
        long now = Stopwatch.GetTimestamp();
        FlushReaped();
        if (_stopRequested && _phase is Phase.Ramp or Phase.Measure) StopIssuing(now);
        if (_phase == Phase.Measure && _nextRateCheck != 0 && now >= _nextRateCheck) CheckRateMin(now);
        if (_unplacedCount > 0) ObservePlacement(now);
        if (_phase == Phase.Ramp && now >= _endAt) StartMeasure(now);
        if (_phase == Phase.Measure && _plan.RuntimeTicks > 0 && now >= _endAt)
        {
            if (_rate is not null) UnissuedAtEnd = _rate.DueBy(now);
            StopIssuing(now);
        }
        if (_phase == Phase.Measure) _intervals?.Tick(now);
        if (_phase == Phase.Measure && _latency is not null) CheckLatencyTarget(now);
        if (_phase == Phase.Draining && _inFlight == 0) EndMeasure(now);
        switch (_phase)
        {
            case Phase.AwaitingReadBack:
                if (!_readBackReleased) return 0;
                _phase = Phase.ReadBack;
                ReadBackRan = true;
                return IssueReadBack(now);
            case Phase.ReadBack:
                if ((_verifyScanDone || _verifyStop || _errorStop) && _inFlight == 0)
                {
                    Finish();
                    return 0;
                }
                return IssueReadBack(now);
            case Phase.Done:
                return 0;
            default:
                return IssueUpToDepth(now);
        }
    }

    /// <summary>
    /// Refuses to let the reactor sleep while the workload waits on the clock (a rate schedule, a think time, a start
    /// delay, a rate_min window) or for room in its log ring: nothing else would wake it when the time comes or the
    /// writer has drained the ring.
    /// </summary>
    public bool PrepareToPark() =>
        _phase != Phase.Delayed && !_logBlocked
        && ((_rate is null && _directionRates is null && _plan.ThinkTicks == 0 && _nextRateCheck == 0 && _flow is null && _latency is null) || _phase is not (Phase.Ramp or Phase.Measure));

    private void Begin(long now)
    {
        _phaseStart = _phaseStart0 = now;
        _latency?.Start(now);
        _rate?.Start(_phaseStart);
        if (_directionRates is not null)
            foreach (var r in _directionRates) r?.Start(_phaseStart);
        if (_plan.RampTicks > 0)
        {
            _phase = Phase.Ramp;
            _endAt = _phaseStart + _plan.RampTicks;
        }
        else StartMeasure(_phaseStart);
    }

    /// <summary>fio's rate_min / rate_iops_min: over each rate_cycle of the measured phase, every capped direction must reach its minimum.</summary>
    private void CheckRateMin(long now)
    {
        double seconds = (double)(now - (_nextRateCheck - _plan.RateCycleTicks)) / Stopwatch.Frequency;
        for (int d = 0; d < 3; d++)
        {
            long minBytes = _plan.RateMinBytes[d], minIops = _plan.RateMinIops[d];
            if (!DirectionUsed(d) || (minBytes == 0 && minIops == 0)) continue;
            double bw = _cycleBytes[d] / seconds, iops = _cycleIos[d] / seconds;
            if ((minBytes > 0 && bw < minBytes) || (minIops > 0 && iops < minIops))
            {
                RateMinMissed = true;
                RateMinMiss = (d, minBytes > 0 ? bw : iops, minBytes > 0);
                StopIssuing(now);
                return;
            }
        }
        Array.Clear(_cycleIos);
        Array.Clear(_cycleBytes);
        _nextRateCheck = now + _plan.RateCycleTicks;
    }

    private bool DirectionUsed(int d) => d switch
    {
        0 => _plan.ReadPercent > 0,
        1 => _plan.ReadPercent < 100 && !_plan.Trim,
        _ => _plan.ReadPercent < 100 && _plan.Trim,
    };

    public void Unparked()
    {
    }

    private void StartMeasure(long now)
    {
        Read.Reset();
        Write.Reset();
        Trim.Reset();
        _depths.Reset();
        _reapCount = 0;
        _phase = Phase.Measure;
        _measureStart = now;
        _allocAtStart = GC.GetAllocatedBytesForCurrentThread();
        _endAt = _plan.RuntimeTicks > 0 ? now + _plan.RuntimeTicks : long.MaxValue;
        _bytesIssuedInMeasure = 0;
        _iosIssuedInMeasure = 0;
        _intervals?.Start(now);
        for (int d = 0; d < 3; d++)
        {
            _liveIosAtMeasure[d] = _liveIos[d];
            _liveBytesAtMeasure[d] = _liveBytes[d];
        }
        if (_plan.RateMinBytes.Any || _plan.RateMinIops.Any)
        {
            Array.Clear(_cycleIos);
            Array.Clear(_cycleBytes);
            _nextRateCheck = now + _plan.RateCycleTicks;
        }
        Volatile.Write(ref _measureStartPublished, now);
        MeasureStarted?.Invoke();
    }

    private void StopIssuing(long now)
    {
        if (_phase == Phase.Ramp)       // stopped (verify_fatal) before measuring: an empty window
        {
            _measureStart = now;
            _allocAtStart = GC.GetAllocatedBytesForCurrentThread();
        }
        _phase = Phase.Draining;
        _nextRateCheck = 0;
        LeaveFlow();
        _measureEnd = now;
        Volatile.Write(ref _stoppedAt, now);
    }

    /// <summary>A read or write came back after <paramref name="latency"/> ticks: latency_target's search counts it.</summary>
    private void LatencyCompleted(long latency, long now)
    {
        if (_latency!.Completed(latency, now) == LatencyTargetSearch.Step.Fatal && _phase is Phase.Ramp or Phase.Measure)
        {
            LatencyTargetMissed = true;                          // fio's lat_fatal: "max latency exceeded", the job ends
            StopIssuing(now);
        }
    }

    /// <summary>latency_target's window check (measured phase only, as fio's outside the ramp).</summary>
    private void CheckLatencyTarget(long now)
    {
        switch (_latency!.Check(now))
        {
            case LatencyTargetSearch.Step.RestartMeasure:
                RestartMeasure(now);
                break;
            case LatencyTargetSearch.Step.Done:
                StopIssuing(now);
                break;
        }
    }

    /// <summary>fio's reset_all_stats for latency_target's last window: the measured counts and latencies start over now.</summary>
    private void RestartMeasure(long now)
    {
        Read.Reset();
        Write.Reset();
        Trim.Reset();
        _depths.Reset();
        _reapCount = 0;
        _measureStart = now;
        _bytesIssuedInMeasure = 0;
        _iosIssuedInMeasure = 0;
    }

    /// <summary>fio's flow_put: a workload that stopped issuing takes its weight and count out of its flow group (once).</summary>
    private void LeaveFlow()
    {
        if (_flow is null) return;
        _flow.Leave(_flowIos, _plan.FlowWeight);
        _flow = null;
    }

    /// <summary>The last measured request is back: the window closes; then the read-back, or the end.</summary>
    private void EndMeasure(long now)
    {
        _measureEnd = now;
        _allocAtEnd = GC.GetAllocatedBytesForCurrentThread();
        _intervals?.End(now);           // before _measureEnded: the main thread then finds every interval handed over
        if (_plan.VerifyAfterWrites && _verify is not null && !_verifyStop && !_errorStop)
        {
            _phase = Phase.AwaitingReadBack;
            _measureEnded = true;
        }
        else Finish();
    }

    private void Finish()
    {
        LeaveFlow();
        _phase = Phase.Done;
        _measureEnded = true;
        _done = true;
    }

    /// <summary>Marks as placed every request the queue's last pass put in the ring (all but its still-pending ones).</summary>
    private void ObservePlacement(long now)
    {
        if (_unplacedLive == 0)
        {
            _unplacedHead = _unplacedCount = 0;       // only entries of requests that completed unplaced are left
            return;
        }
        long pending = _queue.Counters.Pending;
        int placed = _unplacedLive - (int)Math.Min(pending, _unplacedLive);
        int batch = 0;
        while (placed > 0 && _unplacedCount > 0)
        {
            long entry = _unplaced[_unplacedHead];
            _unplacedHead = (_unplacedHead + 1) & _unplacedMask;
            _unplacedCount--;
            int slot = (int)(entry & 0xFFFF);
            if (!_awaitingPlacement[slot] || _issueGeneration[slot] != (int)(entry >> 16)) continue;
            _awaitingPlacement[slot] = false;
            _placedTicks[slot] = now;
            _unplacedLive--;
            placed--;
            batch++;
        }
        MarkPlaced(batch);
    }

    /// <summary>
    /// fio's io_u_mark_submit and io_u_mark_depth for a batch the queue placed with one publish: the batch by its
    /// size, its I/Os by the depth in flight once it was placed. Measured I/Os only.
    /// </summary>
    private void MarkPlaced(int batch)
    {
        if (batch == 0 || _phase is not (Phase.Measure or Phase.Draining)) return;
        _depths.MarkSubmit(batch);
        _depths.MarkDepth(_inFlight, batch);
    }

    /// <summary>fio's io_u_mark_complete for the batch of completions the queue reaped last (one reap timestamp).</summary>
    private void FlushReaped()
    {
        if (_reapCount == 0) return;
        _depths.MarkComplete(_reapCount);
        _reapCount = 0;
    }

    private void TrackPlacement(int slot, long now)
    {
        int generation = ++_issueGeneration[slot] & 0x7FFF_FFFF;
        _issueGeneration[slot] = generation;
        if (_unplacedCount > _unplacedMask)
        {
            _placedTicks[slot] = now;                 // cannot track (only after many failures): count it placed at once
            MarkPlaced(1);
            return;
        }
        _unplaced[(_unplacedHead + _unplacedCount) & _unplacedMask] = ((long)generation << 16) | (uint)slot;
        _unplacedCount++;
        _unplacedLive++;
        _awaitingPlacement[slot] = true;
        _placedTicks[slot] = 0;
    }

    private int IssueUpToDepth(long now)
    {
        if (_phase is not (Phase.Ramp or Phase.Measure)) return 0;
        // iodepth_batch_submit / iodepth_batch_complete_min: wait until a whole batch of slots is free.
        if (_freeCount < _plan.BatchMin) return 0;
        int issued = 0;
        while (_freeCount > 0)
        {
            if (_latency is not null)
            {
                if (_latency.Quiesce)
                {
                    if (_inFlight > 0) break;                   // fio's io_u_quiesce after a depth change
                    _latency.Quiesce = false;
                }
                if (_inFlight >= _latency.Depth) break;         // fio's queue_full: the search's depth, not iodepth
            }
            if (_lowWait)
            {
                if (_inFlight > _plan.IoDepthLow) break;         // iodepth_low: let the queue drain to the low mark
                _lowWait = false;
            }
            if (_thinkPending)
            {
                if (_inFlight > 0) break;                       // fio lets the I/Os complete, then thinks
                _thinkPending = false;
                _thinkUntil = now + _plan.ThinkTicks;
            }
            if (_flowQuiesce)
            {
                if (_inFlight > 0) break;                       // fio's io_u_quiesce, then usleep(flow_sleep)
                _flowQuiesce = false;
                _thinkUntil = now + _plan.FlowSleepTicks;
            }
            if (_thinkUntil != 0)
            {
                if (now < _thinkUntil) break;
                _thinkUntil = 0;
            }
            if (_phase == Phase.Measure
                && ((!_plan.TimeBased && _bytesIssuedInMeasure >= _plan.SizeBytes)
                    || (_plan.NumberIos > 0 && _iosIssuedInMeasure >= _plan.NumberIos)))
            {
                StopIssuing(now);
                break;
            }
            // Room in the log ring for this I/O and every one in flight: no completion ever finds it full.
            _logBlocked = _ioLog is not null && !_ioLog.HasRoom(_inFlight + 1);
            if (_logBlocked) break;
            long intended = now;
            if (_rate is not null)
            {
                intended = _rate.Next;
                if (intended > now) break;          // nothing due yet
            }
            if (_flow is not null && _heldDirection < 0)
            {
                if (_flow.Exceeded(_flowIos, _plan.FlowWeight))
                {
                    _flowQuiesce = _plan.FlowSleepTicks > 0;
                    break;                          // ahead of its share: the other jobs of the flow catch up first
                }
                _flowIos++;
            }
            if (!IssueOne(now, intended)) break;
            _rate?.Advance();
            issued++;
            if (_plan.ThinkTicks > 0 && ++_sinceThink >= _plan.ThinkBlocks)
            {
                _sinceThink = 0;
                _thinkPending = true;
            }
            if (_freeCount == 0 && _plan.IoDepthLow < _plan.IoDepth) _lowWait = true;
        }
        return issued;
    }

    private bool IssueOne(long now, long intended)
    {
        int slot = _freeSlots[_freeCount - 1];
        // fio's verify_backlog: once enough writes wait for their check, read them back before writing on.
        if (_backlog is { Due: true } && _heldDirection < 0) return IssueBacklogCheck(slot, now);
        IoDirection direction;
        int blocks;
        if (_heldDirection >= 0)
        {
            direction = (IoDirection)_heldDirection;       // chosen earlier, waiting for its direction's rate or a request
            blocks = _heldBlocks;
        }
        else
        {
            bool first = _plan.ReadPercent >= 100 || (_plan.ReadPercent > 0 && (int)(NextRandom() % 100) < _plan.ReadPercent);
            direction = first ? IoDirection.Read : _plan.Trim ? IoDirection.Trim : IoDirection.Write;
            blocks = _plan.Sizes.Next((int)direction, ref _rng);
        }
        int bytes = blocks * (_plan.BlockBytes / _plan.BlocksPerIo);
        var directionRate = _directionRates?[(int)direction];
        if (directionRate is not null)
        {
            if (directionRate.Next > now)
            {
                _heldDirection = (int)direction;            // keep the mix: this I/O goes first once it is due
                _heldBlocks = blocks;
                return false;
            }
            intended = directionRate.Next;
        }
        long lba = _heldLba >= 0 ? _heldLba : NextLba(blocks);
        _heldDirection = -1;
        _heldLba = -1;
        var buffer = _buffers[slot];
        long tag = _outcomes.NextTag(slot);
        bool ok = direction switch
        {
            IoDirection.Read => _queue.TrySubmitRead(lba, buffer, 0, bytes, this, tag),
            IoDirection.Write => _queue.TrySubmitWrite(lba, buffer, 0, bytes, this, tag),
            _ => _queue.TrySubmitDiscard(lba, blocks, this, tag),
        };
        if (!ok)
        {
            _heldDirection = (int)direction;               // out of request objects: retry this I/O on the next poll
            _heldBlocks = blocks;
            _heldLba = lba;
            return false;
        }
        directionRate?.Advance(_plan.DirectionRatesInBytes ? bytes : 1);
        // The queue places the request only in its next pass on this thread: stamping the data now is in time.
        if (_verify is not null)
        {
            if (direction == IoDirection.Write) _verify.WriteIssued(slot, buffer.Span[..bytes], lba, blocks / _verifyBlocks);
            else if (direction == IoDirection.Read) _verify.ReadIssued(slot, lba, blocks / _verifyBlocks);
        }
        Issued(slot, now, direction, lba, blocks, bytes);
        _intendedTicks[slot] = intended;
        if (_phase == Phase.Measure)
        {
            _bytesIssuedInMeasure += bytes;
            _iosIssuedInMeasure++;
            if (_rate is not null)
            {
                var dir = Counters(direction);
                long lag = now - intended;
                dir.ScheduledIos++;
                dir.ScheduleLagSumNs += lag;
                if (lag > dir.ScheduleLagMaxNs) dir.ScheduleLagMaxNs = lag;
            }
        }
        return true;
    }

    private void Issued(int slot, long now, IoDirection direction, long lba, int blocks, int bytes)
    {
        _freeCount--;
        _issueTicks[slot] = now;
        _direction[slot] = direction;
        _lba[slot] = lba;
        _blocks[slot] = blocks;
        _bytes[slot] = bytes;
        _inFlight++;
        _outcomes.OnSubmitted(slot);
        TrackPlacement(slot, now);
    }

    /// <summary>Reads back the oldest write waiting in the verify backlog; its completion checks it as any read is checked.</summary>
    private bool IssueBacklogCheck(int slot, long now)
    {
        _backlog!.TryTake(out long lba, out int blocks);
        int bytes = blocks * (_plan.BlockBytes / _plan.BlocksPerIo);
        if (!_queue.TrySubmitRead(lba, _buffers[slot], 0, bytes, this, _outcomes.NextTag(slot)))
        {
            _backlog.Untake(lba, blocks);          // out of request objects: retry on the next poll
            return false;
        }
        _verify!.ReadIssued(slot, lba, blocks / _verifyBlocks);
        Issued(slot, now, IoDirection.Read, lba, blocks, bytes);
        _intendedTicks[slot] = now;
        BacklogChecks++;
        return true;
    }

    /// <summary>Reads issued to check writes from the verify backlog (counted as reads, as fio counts them).</summary>
    public long BacklogChecks { get; private set; }

    /// <summary>Read-back after the writes: reads every written block once, in runs as large as a buffer, and checks it.</summary>
    private int IssueReadBack(long now)
    {
        var verify = _verify!;
        int issued = 0;
        int blockSize = _plan.BlockBytes / _plan.BlocksPerIo;
        while (_freeCount > 0 && !_verifyScanDone && !_verifyStop && !_errorStop)
        {
            long cursor = _verifyCursor;
            if (!verify.NextWrittenRun(ref cursor, verify.MaxBlocksPerIo, out long first, out int count))
            {
                _verifyScanDone = true;
                break;
            }
            int slot = _freeSlots[_freeCount - 1];
            long lba = verify.LbaOf(first);
            int blocks = count * _verifyBlocks;
            if (!_queue.TrySubmitRead(lba, _buffers[slot], 0, blocks * blockSize, this, _outcomes.NextTag(slot))) break;   // retry on the next poll
            _verifyCursor = cursor;
            verify.ReadIssued(slot, lba, count);
            Issued(slot, now, IoDirection.Read, lba, blocks, blocks * blockSize);
            issued++;
        }
        return issued;
    }

    private long NextLba(int blocks)
    {
        long span = _plan.RegionBlocks;
        if (_plan.ZoneSizeBytes > 0)
        {
            span = _plan.ZoneRangeBlocks;
            NextZoneIfDone();
        }
        long relative;
        if (_plan.Random && _randomRunLeft == 0)
        {
            relative = (_map is not null ? _map.Next() : _plan.Offsets!.Next(ref _rng)) * _plan.AlignBlocks;
            _randomRunLeft = _plan.RandomRun - 1;
        }
        else if (_plan.Random)
        {
            relative = _nextSequentialBlock;                 // rw=randMODE:N: the next I/O follows the last one
            if (relative + blocks > span) relative = 0;
            _randomRunLeft--;
        }
        else
        {
            relative = _nextSequentialBlock;
            // rw=MODE:N: fio adds N after every I/O but the first; past either end it wraps (backwards: to the end).
            if (relative < 0 || relative + blocks > span)
                relative = _plan.SeqAddBlocks < 0 ? Math.Clamp(span + _plan.SeqAddBlocks, 0, span - blocks) : 0;
        }
        _nextSequentialBlock = relative + blocks + (_plan.Random ? 0 : _plan.SeqAddBlocks);
        _zoneBytes += (long)blocks * (_plan.BlockBytes / _plan.BlocksPerIo);
        return _plan.RegionStartLba + _zoneStart + relative;
    }

    /// <summary>
    /// fio's setup_strided_zone_mode: once zonesize bytes went to this zone, the next starts zonerange + zoneskip
    /// further on (back at the region start past the device's end), sequential I/O starts at its beginning and the
    /// random map a new pass, as fio resets its file state.
    /// </summary>
    private void NextZoneIfDone()
    {
        if (_zoneBytes < _plan.ZoneSizeBytes) return;
        _zoneBytes = 0;
        _zoneStart += _plan.ZoneRangeBlocks + _plan.ZoneSkipBlocks;
        if (_zoneStart + _plan.ZoneRangeBlocks > _plan.ZoneWrapBlocks) _zoneStart = 0;
        _nextSequentialBlock = 0;
        _randomRunLeft = 0;
        _map?.Restart();
    }

    private ulong NextRandom() => OffsetDistribution.NextRandom(ref _rng);

    private DirectionCounters Counters(IoDirection d) => d switch { IoDirection.Read => Read, IoDirection.Write => Write, _ => Trim };

    public void OnCompleted(long tag, IoStatus status)
    {
        if (!_outcomes.TryComplete(tag, out int slot)) return;     // a second completion of one I/O: counted, not used
        if (TestInjection.AllocationsPerIo != 0) TestInjection.OnCompletion();      // test-only; see TestInjection
        long now = _queue.CompletionTimestamp;      // the queue already read the clock for this reaped batch
        if (now != _reapStamp)
        {
            FlushReaped();                          // a new reaped batch
            _reapStamp = now;
        }
        long issued = _issueTicks[slot];
        long placed = _placedTicks[slot];
        if (_awaitingPlacement[slot])
        {
            // Completed without being placed (failed from the queue's pending list): all of it was submission.
            _awaitingPlacement[slot] = false;
            _unplacedLive--;
            placed = now;
        }
        var direction = _direction[slot];
        bool ok = status == IoStatus.Ok;
        if (!ok) OnFailed(slot, direction, status);
        if (_latency is not null && direction != IoDirection.Trim && _phase is Phase.Ramp or Phase.Measure or Phase.Draining)
            LatencyCompleted(now - issued, now);
        if (_phase == Phase.ReadBack)
        {
            if (ok && _verify!.ReadCompleted(slot, _buffers[slot].Span[.._bytes[slot]], _lba[slot], _blocks[slot] / _verifyBlocks, afterWrites: true) > 0
                && _plan.VerifyFatal)
                _verifyStop = true;
        }
        else
        {
            int d = (int)direction;
            Volatile.Write(ref _liveIos[d], _liveIos[d] + 1);
            Volatile.Write(ref _liveBytes[d], _liveBytes[d] + _bytes[slot]);
            if (_verify is not null)
            {
                int headers = _blocks[slot] / _verifyBlocks;
                if (direction == IoDirection.Write)
                {
                    _verify.WriteCompleted(slot, _lba[slot], headers, ok);
                    if (ok && _phase is Phase.Ramp or Phase.Measure) _backlog?.WriteCompleted(_lba[slot], _blocks[slot]);
                }
                else if (direction == IoDirection.Read && ok
                         && _verify.ReadCompleted(slot, _buffers[slot].Span[.._bytes[slot]], _lba[slot], headers, afterWrites: false) > 0
                         && _plan.VerifyFatal)
                    _verifyStop = true;
            }
            if (_phase == Phase.Measure || (_phase == Phase.Draining && issued >= _measureStart))
            {
                var dir = Counters(direction);
                _reapCount++;
                // Like fio: every I/O counts in total_ios (its total_io_u), a failed one only there and in the error
                // counts; bytes, latencies and interval samples are the good ones' (fio's account_io_completion).
                dir.Ios++;
                _cycleIos[(int)direction]++;
                _cycleBytes[(int)direction] += _bytes[slot];
                if (!ok) dir.Errors++;
                else
                {
                    dir.Bytes += _bytes[slot];
                    long clat = Clamp(now - placed), slat = Clamp(placed - issued), lat = Clamp(now - issued);
                    dir.SlatNs.RecordValue(slat);
                    dir.ClatNs.RecordValue(clat);
                    _intervals?.Record(direction, clat, _bytes[slot]);
                    dir.LatNs.RecordValue(lat);
                    // fio logs good I/Os only.
                    _ioLog?.Add(new IoLogEntry(now, slat, clat, lat, _lba[slot] * (_plan.BlockBytes / _plan.BlocksPerIo), _bytes[slot], direction));
                    if (_rate is not null) dir.IntendedLatNs.RecordValue(Clamp(now - _intendedTicks[slot]));
                }
            }
        }
        _inFlight--;
        _freeSlots[_freeCount++] = slot;
        if ((_verifyStop || _errorStop) && _phase is Phase.Ramp or Phase.Measure) StopIssuing(now);
        // Replace it at once so it joins the batch the queue is about to submit.
        if (_phase is Phase.Ramp or Phase.Measure) IssueUpToDepth(now);
        else if (_phase == Phase.ReadBack) IssueReadBack(now);
    }

    /// <summary>Counts a failed I/O and, unless continue_on_error covers its direction, stops the workload.</summary>
    private void OnFailed(int slot, IoDirection direction, IoStatus status)
    {
        int blockSize = _plan.BlockBytes / _plan.BlocksPerIo;
        _outcomes.Fail(new FailedIo(direction, _lba[slot] * blockSize, _bytes[slot], status, _phase == Phase.ReadBack, _queue.CompletionTimestamp));
        bool goOn = direction == IoDirection.Read ? _plan.ContinueOnReadError : _plan.ContinueOnWriteError;
        if (!goOn) _errorStop = true;
    }

    /// <summary>Stopwatch ticks are nanoseconds on Linux; the histograms track 1 ns to 60 s.</summary>
    private static long Clamp(long ns) => Math.Clamp(ns, 1, 60_000_000_000L);
}
