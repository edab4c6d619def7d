using System.Diagnostics;
using Orion.Pmd.Engine;
using Orion.Pmd.Engine.Memory;
using Orion.Pmd.Engine.Monitoring;
using Orion.Pmd.Linux;
using Orion.Perf.Reporting;

namespace Orion.Perf.Workload;

/// <summary>What one run measured, before it is shaped into a report.</summary>
internal sealed record JobMeasurement(
    WorkloadPoller.DirectionCounters Read,
    WorkloadPoller.DirectionCounters Write,
    WorkloadPoller.DirectionCounters Trim,
    TimeSpan Runtime,
    CpuTimes Cpu,
    DeviceCpu? DeviceCpu,
    EngineSnapshot Engine,
    EngineSnapshot AtMeasureStart,
    string DeviceDescription,
    bool Pinned,
    DateTimeOffset Start)
{
    /// <summary>The job's first queue in the engine (jobs sharing one engine take consecutive ranges).</summary>
    public int QueueOffset { get; init; }

    /// <summary>Bytes the job's reactor threads allocated on the managed heap over their workloads' measured windows.</summary>
    public long AllocatedBytes { get; init; }

    /// <summary>How many of the engine's queues are the job's; 0 for all of them.</summary>
    public int QueueCount { get; init; }

    /// <summary>How many workloads (fio's jobs: each numjobs clone is one) ran concurrently on the engine, this job's included.</summary>
    public int SharedWith { get; init; } = 1;

    /// <summary>fio's depth distributions over all the job's workloads.</summary>
    public DepthDistribution Depths { get; init; } = new();

    /// <summary>Each numjobs clone (one workload on one queue) on its own, in clone order: fio's per-clone report.</summary>
    public IReadOnlyList<CloneMeasurement> Clones { get; init; } = [];

    /// <summary>The job's queues' last failed requests, newest first (at most <see cref="JobRunner.RecentErrorsKept"/>).</summary>
    public IReadOnlyList<Orion.Pmd.Engine.Requests.IoErrorRecord> RecentErrors { get; init; } = [];
}

/// <summary>What one numjobs clone (one workload, on the engine's queue <paramref name="Queue"/>) measured.</summary>
internal sealed record CloneMeasurement(
    WorkloadPoller.DirectionCounters Read,
    WorkloadPoller.DirectionCounters Write,
    WorkloadPoller.DirectionCounters Trim,
    DepthDistribution Depths,
    TimeSpan Runtime,
    int Queue);

/// <summary>
/// Thrown when a job's I/Os stopped coming back: its workloads stopped issuing, and some of what they submitted was
/// still outstanding long after any request timeout would have failed it (completions were lost).
/// </summary>
internal sealed class LostCompletionsException(string message) : TimeoutException(message);

/// <summary>CPU time an external device process (a vhost-user back-end) spent over the measured window.</summary>
internal sealed record DeviceCpu(int ProcessId, CpuTimes Cpu);

/// <summary>
/// Runs one job: starts an engine, places the workload on the reactor as a poller, waits while it runs (showing a
/// live status line on a terminal), and collects the workload's histograms, the engine's counters and CPU time.
/// </summary>
internal static class JobRunner
{
    /// <summary>How many of a job's last failed requests its report lists.</summary>
    public const int RecentErrorsKept = 8;

    /// <summary>
    /// How long a job's workloads may wait for their outstanding I/Os once they stopped issuing: a minute beyond two
    /// request timeouts (a timed-out request may be retried once), after which what is missing counts as lost.
    /// </summary>
    internal static TimeSpan DrainGrace(EngineOptions options) =>
        TimeSpan.FromSeconds(60) + (options.RequestTimeout > TimeSpan.Zero && options.RequestTimeout != Timeout.InfiniteTimeSpan ? 2 * options.RequestTimeout : TimeSpan.Zero);

    public static JobMeasurement Run(EngineOptions engineOptions, Func<BlockDevice, WorkloadPlan> plan, TextWriter? status, CancellationToken cancel,
                                     JobSession? session = null) =>
        RunShared(engineOptions, [new SharedJob(plan, engineOptions.Queues, session)], status, cancel)[0];

    /// <summary>One job of a shared run: its plan, how many queues (workloads) it takes, and its session.</summary>
    internal sealed record SharedJob(Func<BlockDevice, WorkloadPlan> Plan, int Queues, JobSession? Session)
    {
        /// <summary>fio's exitall: when this job ends, the jobs sharing the engine with it stop.</summary>
        public bool ExitAll { get; init; }
    }

    /// <summary>
    /// Runs jobs concurrently on one engine (fio's jobs of one group running together): job k takes the queues
    /// [offset_k, offset_k + Queues_k), one workload each, and is measured from its own workloads and queues.
    /// CPU time is the whole process's over each job's window (the jobs share it).
    /// </summary>
    /// <summary>A live counter of every direction, summed over a job's workloads.</summary>
    private static long Sum(WorkloadPoller[] workloads, Func<WorkloadPoller, int, long> counter)
    {
        long total = 0;
        foreach (var w in workloads)
            for (int d = 0; d < 3; d++) total += counter(w, d);
        return total;
    }

    internal static JobMeasurement[] RunShared(EngineOptions engineOptions, IReadOnlyList<SharedJob> jobs, TextWriter? status, CancellationToken cancel)
    {
        using var engine = PmdEngine.Start(engineOptions);
        var device = engine.Device;
        int n = jobs.Count;
        var plans = jobs.Select(j => j.Plan(device)).ToArray();
        var offsets = new int[n];
        for (int k = 1; k < n; k++) offsets[k] = offsets[k - 1] + jobs[k - 1].Queues;
        if (offsets[n - 1] + jobs[n - 1].Queues != device.QueueCount)
            throw new InvalidOperationException($"the engine has {device.QueueCount} queues; the jobs need {offsets[n - 1] + jobs[n - 1].Queues}");
        var buffers = new List<DmaBuffer>();
        try
        {
            var fill = new Random(1234);
            var workloads = new WorkloadPoller[n][];
            var directions = new bool[n][];
            var clocks = new IntervalClock?[n];
            var collectors = new IntervalCollector?[n];
            var pumps = new JobLogPump[n];
            var flows = new Dictionary<int, FlowGroup>();       // fio's flow_id groups of the jobs that run together
            for (int k = 0; k < n; k++)
            {
                var workloadPlan = plans[k];
                // One workload per queue, each a poller on its queue's own reactor (fio's numjobs).
                int count = jobs[k].Queues;
                workloads[k] = new WorkloadPoller[count];
                directions[k] = DirectionsOf(workloadPlan);
                // Interval histograms: one recorder per workload on a shared grid, merged per interval on this thread.
                var intervals = jobs[k].Session?.Intervals;
                IntervalClock? clock = intervals is null ? null : new IntervalClock(intervals.IntervalTicks);
                clocks[k] = clock;
                var recorders = new IntervalRecorder[intervals is null ? 0 : count];
                var pump = pumps[k] = new JobLogPump(jobs[k].Session, count, workloadPlan.IoDepth, workloadPlan.Sizes.IsUniform ? workloadPlan.BlockBytes : 0);
                for (int j = 0; j < count; j++)
                {
                    var queue = device.GetQueue(offsets[k] + j);
                    var plan_j = workloadPlan.ForClone(j);
                    if (intervals is not null) recorders[j] = new IntervalRecorder(clock!, directions[k], IntervalRecorder.SlotsFor(intervals.IntervalMs));
                    var own = new DmaBuffer[workloadPlan.IoDepth];
                    for (int b = 0; b < own.Length; b++)
                    {
                        own[b] = device.Rent(workloadPlan.BlockBytes);
                        buffers.Add(own[b]);
                        fill.NextBytes(own[b].Span);       // writes carry non-zero data
                    }
                    workloads[k][j] = new WorkloadPoller(queue, plan_j, own)
                    {
                        Intervals = intervals is null ? null : recorders[j],
                        IoLog = pump.Ring(j),
                        Flow = plan_j.FlowWeight > 0 ? (flows.TryGetValue(plan_j.FlowId, out var f) ? f : flows[plan_j.FlowId] = new FlowGroup()) : null,
                    };
                    if (jobs[k].Session?.TerminatedBeforeStart == true) workloads[k][j].RequestStop();
                }
                pump.Attach(workloads[k]);
                if (intervals is not null)
                {
                    intervals.Directions = directions[k];
                    var sink = intervals;
                    collectors[k] = new IntervalCollector(clock!, recorders, cell => sink.Add(cell, clock!));
                }
            }
            var all = workloads.SelectMany(w => w).ToArray();
            var statusLine = status is null ? null : new StatusLine.Writer(status);
            var rates = new LiveRates(all);
            // An external back-end (vhost-user) burns CPU in its own process: charge it to the I/Os too.
            int? devicePid = engine.DeviceProcessId;
            var cpuAtStart = new CpuTimes[n];
            var deviceAtStart = new CpuTimes?[n];
            var atStart = new EngineSnapshot?[n];
            var cpu = new CpuTimes[n];
            var deviceCpu = new DeviceCpu?[n];
            var snapshots = new EngineSnapshot?[n];
            var measuring = new int[n];
            var sawMeasure = new bool[n];
            for (int k = 0; k < n; k++)
            {
                cpuAtStart[k] = ResourceUsage.Process();
                deviceAtStart[k] = devicePid is int p0 ? ResourceUsage.OtherProcess(p0) : null;
                int kk = k;
                foreach (var w in workloads[k]) w.MeasureStarted += () => Interlocked.Increment(ref measuring[kk]);
            }
            // A job that measures from its first I/O (no ramp, no start delay) takes its counters' starting point now,
            // before any I/O: noticed by the loop below instead, a short job on a busy machine could be over before
            // this thread looked, and its queue figures (requests, kicks) would count nothing.
            for (int k = 0; k < n; k++)
            {
                if (plans[k].RampTicks != 0 || plans[k].StartDelayTicks != 0) continue;
                sawMeasure[k] = true;
                atStart[k] = engine.Monitor.TakeSnapshot();
            }
            var start = DateTimeOffset.UtcNow;
            for (int q = 0; q < all.Length; q++)
                device.GetQueue(q).Reactor.Post(static s => { var (q, w) = ((BlockQueue, WorkloadPoller))s!; q.Reactor.AddPoller(w); }, (device.GetQueue(q), all[q]));

            long startTicks = Stopwatch.GetTimestamp();
            long deadline = startTicks + plans.Max(p => p.RampTicks + p.RuntimeTicks) + Stopwatch.Frequency * 3600;
            var lastStatus = Stopwatch.GetTimestamp();
            long drainGraceTicks = (long)(DrainGrace(engineOptions).TotalSeconds * Stopwatch.Frequency);
            bool exited = false;
            // fio's steadystate: each job (its clones together) sampled on this thread; reaching it ends the job.
            var steady = plans.Select(p => p.SteadyState is { } ss && p.SteadyStateDuration > TimeSpan.Zero
                ? new SteadyStateDetector(ss, p.SteadyStateDuration, p.SteadyStateRamp, p.SteadyStateInterval, startTicks) : null).ToArray();
            // The measured window ends before any read-back of a --verify job, which is not measured.
            while (true)
            {
                bool allEnded = true;
                for (int k = 0; k < n; k++)
                {
                    if (!sawMeasure[k] && Volatile.Read(ref measuring[k]) == workloads[k].Length)
                    {
                        sawMeasure[k] = true;
                        cpuAtStart[k] = ResourceUsage.Process();
                        deviceAtStart[k] = devicePid is int p1 ? ResourceUsage.OtherProcess(p1) : null;
                        atStart[k] = engine.Monitor.TakeSnapshot();       // drops the ramp's latencies; counters are subtracted later
                    }
                    if (snapshots[k] is null && workloads[k].All(w => w.MeasureEnded))
                    {
                        cpu[k] = ResourceUsage.Process() - cpuAtStart[k];
                        deviceCpu[k] = devicePid is int p2 && deviceAtStart[k] is CpuTimes d0 && ResourceUsage.OtherProcess(p2) is CpuTimes d1 && engine.DeviceProcessId == p2
                            ? new DeviceCpu(p2, d1 - d0) : null;
                        snapshots[k] = engine.Monitor.TakeSnapshot();
                    }
                    if (snapshots[k] is null && steady[k] is { } detector
                        && detector.Check(Stopwatch.GetTimestamp(), Sum(workloads[k], (w, d) => w.LiveIos(d)), Sum(workloads[k], (w, d) => w.LiveBytes(d))))
                    {
                        for (int j = 0; j < workloads[k].Length; j++)
                        {
                            workloads[k][j].RequestStop();
                            device.GetQueue(offsets[k] + j).Reactor.Wake();
                        }
                    }
                    if (snapshots[k] is not null && jobs[k].ExitAll && !exited)
                    {
                        exited = true;          // fio's exitall: this job is done, so the jobs running with it stop
                        for (int q = 0; q < all.Length; q++)
                        {
                            all[q].RequestStop();
                            device.GetQueue(q).Reactor.Wake();     // a parked reactor would not see the request until woken
                        }
                    }
                    allEnded &= snapshots[k] is not null;
                    if (snapshots[k] is null) ThrowIfCompletionsLost(jobs, k, workloads[k], drainGraceTicks);
                }
                if (allEnded) break;
                // fio logs are drained often: a clone waits while its log ring is full.
                Thread.Sleep(sawMeasure.All(x => x) && !pumps.Any(p => p.Logging) ? 20 : 1);
                foreach (var c in collectors) c?.Drain();
                foreach (var p in pumps) p.Pump();
                if (cancel.IsCancellationRequested || Stopwatch.GetTimestamp() > deadline) break;
                if (statusLine is not null && Stopwatch.GetElapsedTime(lastStatus) > TimeSpan.FromMilliseconds(500))
                {
                    lastStatus = Stopwatch.GetTimestamp();
                    statusLine.Show(StatusLine.Format(Status(all, plans[0], directions.Aggregate((a, b) => [a[0] | b[0], a[1] | b[1], a[2] | b[2]]), rates, startTicks)));
                }
            }
            statusLine?.Clear();
            if (snapshots.Any(s => s is null))
                throw new TimeoutException(cancel.IsCancellationRequested ? "interrupted" : "the workload did not finish in time");
            var results = new JobMeasurement[n];
            for (int k = 0; k < n; k++)
            {
                if (jobs[k].Session is { } ssSession) ssSession.SteadyState = steady[k]?.Result();
                var ws = workloads[k];
                var read = WorkloadPoller.DirectionCounters.Merge(ws.Select(w => w.Read));
                var write = WorkloadPoller.DirectionCounters.Merge(ws.Select(w => w.Write));
                var trim = WorkloadPoller.DirectionCounters.Merge(ws.Select(w => w.Trim));
                var runtime = Stopwatch.GetElapsedTime(0, ws.Max(w => w.MeasuredTicks));
                pumps[k].Complete();
                if (collectors[k] is { } collector)
                {
                    collector.Complete();
                    jobs[k].Session!.Intervals!.Finish(clocks[k]!);
                }
                results[k] = new JobMeasurement(read, write, trim, runtime, cpu[k], deviceCpu[k], snapshots[k]!, atStart[k] ?? snapshots[k]!,
                                                device.Description, engine.Pinned, start)
                {
                    QueueOffset = offsets[k],
                    AllocatedBytes = ws.Sum(w => w.AllocatedBytes),
                    QueueCount = jobs[k].Queues,
                    SharedWith = all.Length,       // fio counts each clone a job: every workload on the engine
                    Depths = DepthDistribution.Sum(ws.Select(w => w.Depths)),
                    Clones = ws.Select((w, j) => new CloneMeasurement(w.Read, w.Write, w.Trim, w.Depths,
                                                                       Stopwatch.GetElapsedTime(0, w.MeasuredTicks), offsets[k] + j)).ToList(),
                };
            }
            for (int k = 0; k < n; k++)
            {
                ReadBack(device, offsets[k], workloads[k], jobs[k].Session, cancel, drainGraceTicks);
                jobs[k].Session?.Collect(workloads[k]);
                results[k] = results[k] with { RecentErrors = RecentErrorsOf(device, offsets[k], jobs[k].Queues) };
            }
            return results;
        }
        finally
        {
            foreach (var b in buffers) b.Dispose();
        }
    }

    /// <summary>The last failed requests of queues [offset, offset + count), newest first.</summary>
    private static IReadOnlyList<Orion.Pmd.Engine.Requests.IoErrorRecord> RecentErrorsOf(BlockDevice device, int offset, int count) =>
        Enumerable.Range(offset, count).SelectMany(q => device.GetQueue(q).RecentErrors)
                  .OrderByDescending(e => e.TimeUtc).Take(RecentErrorsKept).ToList();

    /// <summary>
    /// Throws <see cref="LostCompletionsException"/> when every workload of job <paramref name="k"/> stopped issuing
    /// more than <paramref name="graceTicks"/> ago and some of its I/Os are still outstanding.
    /// </summary>
    private static void ThrowIfCompletionsLost(IReadOnlyList<SharedJob> jobs, int k, WorkloadPoller[] workloads, long graceTicks)
    {
        long latest = 0;
        foreach (var w in workloads)
        {
            long at = w.StoppedIssuingAt;
            if (at == 0 && !w.MeasureEnded) return;          // still issuing
            latest = Math.Max(latest, at);
        }
        if (latest == 0 || Stopwatch.GetTimestamp() - latest < graceTicks) return;
        long outstanding = workloads.Sum(w => w.Outcomes.Outstanding);
        if (outstanding == 0) return;
        throw new LostCompletionsException(
            $"job {k + 1}: {outstanding} I/O(s) never completed: {(double)graceTicks / Stopwatch.Frequency:0} s after the workload stopped issuing they are " +
            $"still outstanding (submitted {workloads.Sum(w => w.Outcomes.Submitted)}, completed {workloads.Sum(w => w.Outcomes.Completed)}); completions were lost");
    }

    /// <summary>Which directions (read, write, trim) a plan's I/Os take.</summary>
    internal static bool[] DirectionsOf(WorkloadPlan plan) =>
        [plan.ReadPercent > 0, plan.ReadPercent < 100 && !plan.Trim, plan.ReadPercent < 100 && plan.Trim];

    /// <summary>The live status line's contents now: progress, rates over the last update, and the time left.</summary>
    private static StatusLine.Snapshot Status(WorkloadPoller[] workloads, WorkloadPlan plan, bool[] directions, LiveRates rates, long startTicks)
    {
        long now = Stopwatch.GetTimestamp();
        var (bytesPerSecond, iops) = rates.Update(now);
        bool ramping = workloads.Any(w => w.Ramping);
        double progress = workloads.Min(w => w.Progress);
        TimeSpan? eta = null;
        if (plan.RuntimeTicks > 0)
            eta = TimeSpan.FromSeconds(Math.Max(0, (double)(startTicks + plan.RampTicks + plan.RuntimeTicks - now) / Stopwatch.Frequency));
        if (!plan.TimeBased)
        {
            // Bound by size or count: extrapolate from the measured phase so far (the ramp's remainder is added while ramping).
            double amount = workloads.Min(w => w.AmountProgress ?? 0);
            long measureStart = workloads.Max(w => w.MeasureStartTicks);
            if (!ramping && amount > 0.001 && measureStart > 0)
            {
                var left = TimeSpan.FromSeconds((double)(now - measureStart) / Stopwatch.Frequency * (1 - amount) / amount);
                eta = eta is { } e && e < left ? e : left;
            }
            else if (plan.RuntimeTicks == 0) eta = null;
        }
        char state = ramping ? '/' : StatusLine.StateOf(plan.Random, plan.Trim, plan.ReadPercent);
        return new StatusLine.Snapshot(workloads.Length, state, progress * 100, directions, bytesPerSecond, iops, eta);
    }

    /// <summary>Completions per direction between two status updates, from the workloads' live counters.</summary>
    private sealed class LiveRates(WorkloadPoller[] workloads)
    {
        private readonly long[] _ios = new long[3], _bytes = new long[3];
        private long _at = Stopwatch.GetTimestamp();

        public (double[] BytesPerSecond, double[] Iops) Update(long now)
        {
            double seconds = Math.Max(1e-6, (double)(now - _at) / Stopwatch.Frequency);
            var bw = new double[3];
            var iops = new double[3];
            for (int d = 0; d < 3; d++)
            {
                long ios = workloads.Sum(w => w.LiveIos(d)), bytes = workloads.Sum(w => w.LiveBytes(d));
                iops[d] = (ios - _ios[d]) / seconds;
                bw[d] = (bytes - _bytes[d]) / seconds;
                _ios[d] = ios;
                _bytes[d] = bytes;
            }
            _at = now;
            return (bw, iops);
        }
    }

    /// <summary>
    /// A <c>--verify</c> write job's read-back: runs the session's hook, lets every workload read back what it wrote,
    /// and waits until all are done.
    /// </summary>
    private static void ReadBack(BlockDevice device, int queueOffset, WorkloadPoller[] workloads, JobSession? session, CancellationToken cancel, long graceTicks)
    {
        if (workloads.All(w => w.IsDone)) return;
        session?.BeforeReadBack?.Invoke(device);
        for (int j = 0; j < workloads.Length; j++)
        {
            workloads[j].ReleaseReadBack();
            device.GetQueue(queueOffset + j).Reactor.Wake();      // a parked reactor would not see the flag until its next wake-up
        }
        long deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 3600;
        // No progress (no completion) for the drain grace with I/Os outstanding: completions were lost.
        long lastCompleted = -1, lastProgress = Stopwatch.GetTimestamp();
        while (!workloads.All(w => w.IsDone))
        {
            if (cancel.IsCancellationRequested) throw new TimeoutException("interrupted during the verify read-back");
            if (Stopwatch.GetTimestamp() > deadline) throw new TimeoutException("the verify read-back did not finish in time");
            long completed = workloads.Sum(w => w.Outcomes.Completed);
            if (completed != lastCompleted)
            {
                lastCompleted = completed;
                lastProgress = Stopwatch.GetTimestamp();
            }
            else if (Stopwatch.GetTimestamp() - lastProgress > graceTicks && workloads.Sum(w => w.Outcomes.Outstanding) is > 0 and var missing)
                throw new LostCompletionsException($"the verify read-back waited {(double)graceTicks / Stopwatch.Frequency:0} s for {missing} read(s) that never completed; completions were lost");
            Thread.Sleep(1);
        }
    }
}
