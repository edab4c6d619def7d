using System.Diagnostics;
using System.Diagnostics.Metrics;
using HdrHistogram;
using Orion.Pmd.Engine.Queues;

namespace Orion.Pmd.Engine.Monitoring;

/// <summary>
/// The performance monitor as <see cref="System.Diagnostics.Metrics"/> instruments on the meter
/// <see cref="PmdEngine.MeterName"/>, so dotnet-counters, dotnet-monitor and OpenTelemetry collect them with no code
/// of ours. Every instrument is observable: the hot path records nothing extra, and a collection reads the queues'
/// counters (cumulative, tagged <c>queue</c>) and the latency recorded since the previous collection.
/// </summary>
internal sealed class EngineMetrics : IDisposable
{
    private static readonly double[] Quantiles = [0.5, 0.9, 0.99, 0.999, 1.0];
    private static readonly string[] QuantileTags = ["0.5", "0.9", "0.99", "0.999", "1"];

    private readonly PmdEngine _engine;
    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly string _device;

    public EngineMetrics(PmdEngine engine, IMeterFactory? factory)
    {
        _engine = engine;
        _device = engine.Device.Description;
        string? version = typeof(EngineMetrics).Assembly.GetName().Version?.ToString();
        if (factory is not null) _meter = factory.Create(new MeterOptions(PmdEngine.MeterName) { Version = version });
        else
        {
            _meter = new Meter(PmdEngine.MeterName, version);
            _ownsMeter = true;          // a factory's meters are the factory's (and may be shared by several engines)
        }

        Counter("orion.pmd.io.requests", "{request}", "Requests completed (successfully or not); withdrawn ones are not.", static c => c.Requests);
        Counter("orion.pmd.io.bytes", "By", "Data bytes moved by requests that completed successfully.", static c => c.Bytes);
        Counter("orion.pmd.io.withdrawn", "{request}", "Requests withdrawn by their caller's cancellation before they reached the device.", static c => c.Withdrawn);
        Counter("orion.pmd.io.errors", "{request}", "Requests that ended in an error (device status, broken queue, time-out, lost device).", static c => c.Errors);
        Counter("orion.pmd.io.timeouts", "{request}", "Requests not completed within EngineOptions.RequestTimeout.", static c => c.Timeouts);
        Counter("orion.pmd.io.resubmitted", "{request}", "Requests placed again after a queue reset or a back-end reconnect.", static c => c.Resubmitted);
        Counter("orion.pmd.io.bounced", "{request}", "Requests whose data went through a bounce buffer (memory not rented from the pool).", static c => c.Bounces);
        Counter("orion.pmd.queue.resets", "{reset}", "Queue resets done to recover from a broken ring or a time-out.", static c => c.QueueResets);
        Counter("orion.pmd.queue.batches", "{batch}", "Submission batches published to the device.", static c => c.Batches);
        Counter("orion.pmd.queue.doorbells", "{notification}", "Doorbells (kicks) sent to the device.", static c => c.Kicks);
        _meter.CreateObservableCounter("orion.pmd.io.errors_by_status", ErrorsByStatus, "{request}",
            "Failed requests by how they ended (tag status: IoError, Unsupported, TimedOut, QueueBroken, TransportLost, Aborted, BadStatus); only statuses that occurred.");
        UpDown("orion.pmd.io.in_flight", "{request}", "Requests the device holds now.", static c => c.InFlight);
        UpDown("orion.pmd.io.waiting", "{request}", "Requests waiting for ring space now.", static c => c.Pending);

        _meter.CreateObservableUpDownCounter("orion.pmd.buffer_pool.used", () => Single(_engine.Device.Pool.InUseBytes),
            "By", "Bytes of the DMA buffer pool rented out now.");
        _meter.CreateObservableUpDownCounter("orion.pmd.buffer_pool.limit", () => Single(_engine.Device.Pool.CapacityBytes),
            "By", "Bytes of the DMA buffer pool.");
        _meter.CreateObservableCounter("orion.pmd.reactor.busy_time", ReactorBusySeconds,
            "s", "Time each reactor spent in iterations that found work (the rest of its time it polled idle or slept).");
        _meter.CreateObservableCounter("orion.pmd.device.reconnects", () => Single(_engine.Reconnects),
            "{reconnect}", "Times the engine reconnected to a vhost-user back-end that went away.");
        _meter.CreateObservableGauge("orion.pmd.io.latency", Latency,
            "us", "Submit-to-completion latency percentiles (from the caller's submission, hand-off and wait for ring space included) over every queue, for the requests completed since the previous collection (tag quantile; 1 is the maximum).");
    }

    private KeyValuePair<string, object?> DeviceTag() => new("device", _device);

    private IEnumerable<Measurement<long>> Single(long value) => _engine.IsDisposed ? [] : [new Measurement<long>(value, DeviceTag())];

    private void Counter(string name, string unit, string description, Func<QueueCounters, long> read)
        => _meter.CreateObservableCounter(name, () => PerQueue(read), unit, description);

    private void UpDown(string name, string unit, string description, Func<QueueCounters, long> read)
        => _meter.CreateObservableUpDownCounter(name, () => PerQueue(read), unit, description);

    private IEnumerable<Measurement<long>> PerQueue(Func<QueueCounters, long> read)
    {
        if (_engine.IsDisposed) return [];        // a factory's meter can outlive the engine
        var pairs = _engine.Pairs;
        var result = new Measurement<long>[pairs.Length];
        for (int q = 0; q < pairs.Length; q++)
            result[q] = new Measurement<long>(read(pairs[q].Counters), DeviceTag(), new("queue", q));
        return result;
    }

    private IEnumerable<Measurement<long>> ErrorsByStatus()
    {
        if (_engine.IsDisposed) return [];
        var result = new List<Measurement<long>>();
        foreach (var pair in _engine.Pairs)
            foreach (var (status, n) in pair.ErrorLog.ErrorCounts())
                result.Add(new Measurement<long>(n, DeviceTag(), new("queue", pair.Index), new("status", status.ToString())));
        return result;
    }

    private IEnumerable<Measurement<double>> ReactorBusySeconds()
    {
        if (_engine.IsDisposed) return [];
        var pairs = _engine.Pairs;
        var result = new Measurement<double>[pairs.Length];
        for (int q = 0; q < pairs.Length; q++)
            result[q] = new Measurement<double>(pairs[q].Reactor.GetStats().BusyTicks / (double)Stopwatch.Frequency, DeviceTag(), new("queue", q));
        return result;
    }

    private IEnumerable<Measurement<double>> Latency()
    {
        if (_engine.IsDisposed) return [];
        var merged = LatencyRecorder.NewHistogram();
        foreach (var h in _engine.Latency.Take(LatencyReader.Metrics)) merged.Add(h);
        // No completions since the last collection: report nothing rather than zeroes that would read as "fast".
        if (merged.TotalCount == 0) return [];
        var result = new Measurement<double>[Quantiles.Length];
        for (int i = 0; i < Quantiles.Length; i++)
        {
            long ns = Quantiles[i] >= 1.0 ? merged.GetMaxValue() : merged.GetValueAtPercentile(Quantiles[i] * 100);
            result[i] = new Measurement<double>(ns / 1000.0, DeviceTag(), new("quantile", QuantileTags[i]));
        }
        return result;
    }

    public void Dispose()
    {
        if (_ownsMeter) _meter.Dispose();
    }
}
