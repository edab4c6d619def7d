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
    DateTimeOffset Start);

/// <summary>CPU time an external device process (a vhost-user back-end) spent over the measured window.</summary>
internal sealed record DeviceCpu(int ProcessId, CpuTimes Cpu);

/// <summary>
/// Runs one job: starts an engine, places the workload on the reactor as a poller, waits while it runs (showing a
/// live status line on a terminal), and collects the workload's histograms, the engine's counters and CPU time.
/// </summary>
internal static class JobRunner
{
    public static JobMeasurement Run(EngineOptions engineOptions, Func<BlockDevice, WorkloadPlan> plan, TextWriter? status, CancellationToken cancel,
                                     JobSession? session = null)
    {
        using var engine = PmdEngine.Start(engineOptions);
        var device = engine.Device;
        var workloadPlan = plan(device);
        var buffers = new DmaBuffer[workloadPlan.IoDepth * device.QueueCount];
        var fill = new Random(1234);
        for (int i = 0; i < buffers.Length; i++)
        {
            buffers[i] = device.Rent(workloadPlan.BlockBytes);
            fill.NextBytes(buffers[i].Span);       // writes carry non-zero data
        }
        try
        {
            // One workload per queue, each a poller on its queue's own reactor (fio's numjobs).
            int jobs = device.QueueCount;
            var workloads = new WorkloadPoller[jobs];
            var directions = DirectionsOf(workloadPlan);
            // Interval histograms: one recorder per workload on a shared grid, merged per interval on this thread.
            var intervals = session?.Intervals;
            IntervalClock? clock = intervals is null ? null : new IntervalClock(intervals.IntervalTicks);
            var recorders = new IntervalRecorder[intervals is null ? 0 : jobs];
            for (int j = 0; j < jobs; j++)
            {
                var queue = device.GetQueue(j);
                var plan_j = workloadPlan with { Seed = workloadPlan.Seed + (ulong)j * 0x9E3779B97F4A7C15UL };
                if (intervals is not null) recorders[j] = new IntervalRecorder(clock!, directions, IntervalRecorder.SlotsFor(intervals.IntervalMs));
                workloads[j] = new WorkloadPoller(queue, plan_j, buffers.AsSpan(j * workloadPlan.IoDepth, workloadPlan.IoDepth).ToArray())
                {
                    Intervals = intervals is null ? null : recorders[j],
                };
            }
            if (intervals is not null) intervals.Directions = directions;
            var collector = intervals is null ? null : new IntervalCollector(clock!, recorders, cell => intervals.Add(cell, clock!));
            var statusLine = status is null ? null : new StatusLine.Writer(status);
            var rates = new LiveRates(workloads);
            CpuTimes cpuAtStart = ResourceUsage.Process();
            // An external back-end (vhost-user) burns CPU in its own process: charge it to the I/Os too.
            int? devicePid = engine.DeviceProcessId;
            CpuTimes? deviceAtStart = devicePid is int p0 ? ResourceUsage.OtherProcess(p0) : null;
            EngineSnapshot? atStart = null;
            int measuring = 0;
            foreach (var w in workloads) w.MeasureStarted += () => Interlocked.Increment(ref measuring);
            var start = DateTimeOffset.UtcNow;
            bool sawMeasure = false;
            for (int j = 0; j < jobs; j++)
                device.GetQueue(j).Reactor.Post(static s => { var (q, w) = ((BlockQueue, WorkloadPoller))s!; q.Reactor.AddPoller(w); }, (device.GetQueue(j), workloads[j]));

            long startTicks = Stopwatch.GetTimestamp();
            long deadline = startTicks + workloadPlan.RampTicks + workloadPlan.RuntimeTicks + Stopwatch.Frequency * 3600;
            var lastStatus = Stopwatch.GetTimestamp();
            // The measured window ends before any read-back of a --verify job, which is not measured.
            while (!workloads.All(w => w.MeasureEnded))
            {
                Thread.Sleep(sawMeasure ? 20 : 1);
                if (!sawMeasure && Volatile.Read(ref measuring) == jobs)
                {
                    sawMeasure = true;
                    cpuAtStart = ResourceUsage.Process();
                    deviceAtStart = devicePid is int p1 ? ResourceUsage.OtherProcess(p1) : null;
                    atStart = engine.Monitor.TakeSnapshot();       // drops the ramp's latencies; counters are subtracted later
                }
                collector?.Drain();
                if (cancel.IsCancellationRequested || Stopwatch.GetTimestamp() > deadline) break;
                if (statusLine is not null && Stopwatch.GetElapsedTime(lastStatus) > TimeSpan.FromMilliseconds(500))
                {
                    lastStatus = Stopwatch.GetTimestamp();
                    statusLine.Show(StatusLine.Format(Status(workloads, workloadPlan, directions, rates, startTicks)));
                }
            }
            statusLine?.Clear();
            if (!workloads.All(w => w.MeasureEnded))
                throw new TimeoutException(cancel.IsCancellationRequested ? "interrupted" : "the workload did not finish in time");
            var cpu = ResourceUsage.Process() - cpuAtStart;
            DeviceCpu? deviceCpu = devicePid is int p2 && deviceAtStart is CpuTimes d0 && ResourceUsage.OtherProcess(p2) is CpuTimes d1 && engine.DeviceProcessId == p2
                ? new DeviceCpu(p2, d1 - d0) : null;
            var snapshot = engine.Monitor.TakeSnapshot();
            var read = WorkloadPoller.DirectionCounters.Merge(workloads.Select(w => w.Read));
            var write = WorkloadPoller.DirectionCounters.Merge(workloads.Select(w => w.Write));
            var trim = WorkloadPoller.DirectionCounters.Merge(workloads.Select(w => w.Trim));
            var runtime = Stopwatch.GetElapsedTime(0, workloads.Max(w => w.MeasuredTicks));
            if (collector is not null)
            {
                collector.Complete();
                intervals!.Finish(clock!);
            }
            ReadBack(device, workloads, session, cancel);
            session?.Collect(workloads);
            return new JobMeasurement(read, write, trim, runtime, cpu, deviceCpu, snapshot, atStart ?? snapshot, device.Description, engine.Pinned, start);
        }
        finally
        {
            foreach (var b in buffers) b?.Dispose();
        }
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
    private static void ReadBack(BlockDevice device, WorkloadPoller[] workloads, JobSession? session, CancellationToken cancel)
    {
        if (workloads.All(w => w.IsDone)) return;
        session?.BeforeReadBack?.Invoke(device);
        for (int j = 0; j < workloads.Length; j++)
        {
            workloads[j].ReleaseReadBack();
            device.GetQueue(j).Reactor.Wake();      // a parked reactor would not see the flag until its next wake-up
        }
        long deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 3600;
        while (!workloads.All(w => w.IsDone))
        {
            if (cancel.IsCancellationRequested) throw new TimeoutException("interrupted during the verify read-back");
            if (Stopwatch.GetTimestamp() > deadline) throw new TimeoutException("the verify read-back did not finish in time");
            Thread.Sleep(1);
        }
    }
}
