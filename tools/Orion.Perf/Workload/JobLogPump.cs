using System.Diagnostics;
using Orion.Perf.Logs;
using Orion.Perf.Reporting;

namespace Orion.Perf.Workload;

/// <summary>
/// The part of a running job that the thread running it does between its sleeps, off the reactors: samples each
/// clone's bandwidth and IOPS for the report's statistics (<see cref="RateSampler"/>), and, with fio logs, drains
/// each clone's <see cref="IoLogRing"/> into its <see cref="FioLogWriter"/>.
/// </summary>
internal sealed class JobLogPump
{
    private readonly JobSession? _session;
    private readonly IoLogRing?[] _rings;
    private readonly FioLogWriter?[] _writers;
    private readonly RateSampler[] _bw, _iops;
    private WorkloadPoller[] _workloads = [];

    /// <param name="session">The job's session: its log setup and sample lengths in, its rate statistics out; null for defaults and no logs.</param>
    /// <param name="clones">The job's workloads (fio's clones).</param>
    /// <param name="ioDepth">Their queue depth.</param>
    /// <param name="fixedBlockBytes">The job's block size when every I/O has it, else 0.</param>
    public JobLogPump(JobSession? session, int clones, int ioDepth, int fixedBlockBytes)
    {
        _session = session;
        var (bwMs, iopsMs) = session?.SampleMs ?? (Options.JobOptions.DefaultRateAvgMs, Options.JobOptions.DefaultRateAvgMs);
        _bw = Enumerable.Range(0, clones).Select(_ => new RateSampler(bwMs, bandwidth: true)).ToArray();
        _iops = Enumerable.Range(0, clones).Select(_ => new RateSampler(iopsMs, bandwidth: false)).ToArray();
        _rings = new IoLogRing?[clones];
        _writers = new FioLogWriter?[clones];
        if (session?.FioLogs is not { } logs) return;
        for (int j = 0; j < clones; j++)
        {
            _rings[j] = new IoLogRing(IoLogRing.CapacityFor(ioDepth));
            _writers[j] = new FioLogWriter(logs.Options, logs.FirstThreadNumber + j, logs.Files, fixedBlockBytes);
        }
    }

    /// <summary>Whether the job writes fio logs (its thread should then come back often to drain them).</summary>
    public bool Logging => _writers.Any(w => w is not null);

    /// <summary>The log ring of clone <paramref name="j"/>, or null without logs.</summary>
    public IoLogRing? Ring(int j) => _rings[j];

    /// <summary>The job's workloads, once made.</summary>
    public void Attach(WorkloadPoller[] workloads) => _workloads = workloads;

    /// <summary>Samples and drains (the job's thread, between sleeps).</summary>
    public void Pump()
    {
        long now = Stopwatch.GetTimestamp();
        for (int j = 0; j < _workloads.Length; j++)
        {
            var w = _workloads[j];
            _bw[j].Sample(w, now);
            _iops[j].Sample(w, now);
            if (_writers[j] is not { } writer) continue;
            if (!writer.Started)
            {
                long start = w.MeasureStartTicks;
                if (start == 0) continue;
                writer.Start(start);
            }
            _rings[j]!.Drain(writer);
        }
    }

    /// <summary>Every workload's measured phase is over: the rest of the logs is written, and the statistics go to the session.</summary>
    public void Complete()
    {
        Pump();
        for (int j = 0; j < _workloads.Length; j++)
        {
            var w = _workloads[j];
            if (_writers[j] is { Started: true } writer) writer.Finish(w.MeasureStartTicks + w.MeasuredTicks);
        }
        _session?.FioLogs?.Files.Flush();
        if (_session is not null)
            _session.Rates = Enumerable.Range(0, 3)
                .Select(d => (RateStat.PureSum(_bw.Select(s => s.Stats[d])), RateStat.PureSum(_iops.Select(s => s.Stats[d])))).ToArray();
        if (_session is not null)
            _session.CloneRates = _bw.Select((s, j) => Enumerable.Range(0, 3).Select(d => (s.Stats[d], _iops[j].Stats[d])).ToArray()).ToArray();
    }
}
