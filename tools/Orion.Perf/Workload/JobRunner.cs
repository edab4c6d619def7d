using System.Diagnostics;
using Orion.Pmd.Engine;
using Orion.Pmd.Engine.Memory;
using Orion.Pmd.Engine.Monitoring;
using Orion.Pmd.Linux;

namespace Orion.Perf.Workload;

/// <summary>What one run measured, before it is shaped into a report.</summary>
internal sealed record JobMeasurement(
    WorkloadPoller.DirectionCounters Read,
    WorkloadPoller.DirectionCounters Write,
    TimeSpan Runtime,
    CpuTimes Cpu,
    EngineSnapshot Engine,
    EngineSnapshot AtMeasureStart,
    string DeviceDescription,
    bool Pinned,
    DateTimeOffset Start);

/// <summary>
/// Runs one job: starts an engine, places the workload on the reactor as a poller, waits while it runs (showing a
/// live status line on a terminal), and collects the workload's histograms, the engine's counters and CPU time.
/// </summary>
internal static class JobRunner
{
    public static JobMeasurement Run(EngineOptions engineOptions, Func<BlockDevice, WorkloadPlan> plan, TextWriter? status, CancellationToken cancel)
    {
        using var engine = PmdEngine.Start(engineOptions);
        var device = engine.Device;
        var workloadPlan = plan(device);
        var buffers = new DmaBuffer[workloadPlan.IoDepth];
        var fill = new Random(1234);
        for (int i = 0; i < buffers.Length; i++)
        {
            buffers[i] = device.Rent(workloadPlan.BlockBytes);
            fill.NextBytes(buffers[i].Span);       // writes carry non-zero data
        }
        try
        {
            var queue = device.GetQueue(0);
            var workload = new WorkloadPoller(queue, workloadPlan, buffers);
            CpuTimes cpuAtStart = ResourceUsage.Process();
            EngineSnapshot? atStart = null;
            long measureStarted = 0;
            // The ramp ends on the reactor thread; the engine's interval histograms restart there too.
            workload.MeasureStarted += () => Volatile.Write(ref measureStarted, 1);
            var start = DateTimeOffset.UtcNow;
            bool sawMeasure = false;
            queue.Reactor.Post(static s => { var (q, w) = ((BlockQueue, WorkloadPoller))s!; q.Reactor.AddPoller(w); }, (queue, workload));

            long deadline = Stopwatch.GetTimestamp() + workloadPlan.RampTicks + workloadPlan.RuntimeTicks + Stopwatch.Frequency * 3600;
            var lastStatus = Stopwatch.GetTimestamp();
            while (!workload.IsDone)
            {
                Thread.Sleep(sawMeasure ? 20 : 1);
                if (!sawMeasure && Volatile.Read(ref measureStarted) != 0)
                {
                    sawMeasure = true;
                    cpuAtStart = ResourceUsage.Process();
                    atStart = engine.Monitor.TakeSnapshot();       // drops the ramp's latencies; counters are subtracted later
                }
                if (cancel.IsCancellationRequested || Stopwatch.GetTimestamp() > deadline) break;
                if (status is not null && Stopwatch.GetElapsedTime(lastStatus) > TimeSpan.FromMilliseconds(500))
                {
                    lastStatus = Stopwatch.GetTimestamp();
                    var c = queue.Counters;
                    status.Write($"\rJobs: 1 (f=1): [{(workloadPlan.ReadPercent == 100 ? 'r' : workloadPlan.ReadPercent == 0 ? 'w' : 'm')}(1)][{workload.Progress * 100,5:0.0}%][{c.Requests,12:N0} ios]   ");
                }
            }
            if (status is not null) status.Write("\r" + new string(' ', 60) + "\r");
            if (!workload.IsDone)
                throw new TimeoutException(cancel.IsCancellationRequested ? "interrupted" : "the workload did not finish in time");
            var cpu = ResourceUsage.Process() - cpuAtStart;
            var snapshot = engine.Monitor.TakeSnapshot();
            return new JobMeasurement(workload.Read, workload.Write, Stopwatch.GetElapsedTime(0, workload.MeasuredTicks), cpu, snapshot,
                                      atStart ?? snapshot,
                                      device.Description, engine.Pinned, start);
        }
        finally
        {
            foreach (var b in buffers) b?.Dispose();
        }
    }
}
