using System.Diagnostics.Metrics;

namespace Orion.Pmd.Engine.Tests.Embedding;

/// <summary>The performance monitor on the <c>Orion.Pmd</c> meter, as dotnet-counters and OpenTelemetry see it.</summary>
[NonParallelizable]
public class MetricsTests
{
    /// <summary>Collects every Orion.Pmd measurement of one collection, summed per instrument and tag set.</summary>
    private sealed class Collector : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly object _owner;
        public readonly List<(string Instrument, double Value, Dictionary<string, object?> Tags)> Measurements = [];

        public Collector(object? meterOwner = null)
        {
            _owner = meterOwner ?? this;
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == PmdEngine.MeterName) listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Add(i, v, tags));
            _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Add(i, v, tags));
            _listener.Start();
        }

        private void Add(Instrument i, double v, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var d = new Dictionary<string, object?>();
            foreach (var t in tags) d[t.Key] = t.Value;
            lock (Measurements) Measurements.Add((i.Name, v, d));
        }

        public void Collect()
        {
            lock (Measurements) Measurements.Clear();
            _listener.RecordObservableInstruments();
        }

        public double Sum(string instrument) => Measurements.Where(m => m.Instrument == instrument).Sum(m => m.Value);
        public IEnumerable<(string Instrument, double Value, Dictionary<string, object?> Tags)> Of(string instrument) => Measurements.Where(m => m.Instrument == instrument);
        public void Dispose() => _listener.Dispose();
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task CountersAndLatencyPercentilesArePublished()
    {
        using var collector = new Collector();
        await using var engine = PmdEngine.Start(new EngineOptions { Device = "mem:16M", Queues = 2, Pin = false, BufferMemoryBytes = 8 << 20 });
        var dev = engine.Device;
        using var buffer = dev.Rent(4096);
        for (int i = 0; i < 200; i++) await dev.WriteAsync(i, buffer.Memory);

        collector.Collect();
        Assert.That(collector.Sum("orion.pmd.io.requests"), Is.EqualTo(200));
        Assert.That(collector.Sum("orion.pmd.io.bytes"), Is.EqualTo(200 * 4096));
        Assert.That(collector.Sum("orion.pmd.io.errors"), Is.Zero);
        Assert.That(collector.Of("orion.pmd.io.requests").Select(m => m.Tags["queue"]), Is.EquivalentTo(new object[] { 0, 1 }), "one series per queue");
        Assert.That(collector.Of("orion.pmd.io.requests").All(m => (string)m.Tags["device"]! == dev.Description), Is.True);
        Assert.That(collector.Sum("orion.pmd.buffer_pool.used"), Is.EqualTo(dev.Pool.InUseBytes));
        Assert.That(collector.Sum("orion.pmd.buffer_pool.limit"), Is.EqualTo(dev.Pool.CapacityBytes));
        Assert.That(collector.Sum("orion.pmd.queue.batches"), Is.GreaterThan(0));

        var latency = collector.Of("orion.pmd.io.latency").ToDictionary(m => (string)m.Tags["quantile"]!, m => m.Value);
        Assert.That(latency.Keys, Is.EquivalentTo(new[] { "0.5", "0.9", "0.99", "0.999", "1" }));
        Assert.That(latency["0.5"], Is.GreaterThan(0));
        Assert.That(latency["0.5"], Is.LessThanOrEqualTo(latency["0.99"]));
        Assert.That(latency["0.99"], Is.LessThanOrEqualTo(latency["1"]));

        // The meter reads latency since its previous collection: nothing new, nothing reported (never a fake zero).
        collector.Collect();
        Assert.That(collector.Of("orion.pmd.io.latency"), Is.Empty);
        Assert.That(collector.Sum("orion.pmd.io.requests"), Is.EqualTo(200), "counters are cumulative");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task FailuresArePublishedByStatus()
    {
        using var collector = new Collector();
        await using var engine = PmdEngine.Start(new EngineOptions { Device = "mem:16M,fault=ioerr:every=4:type=write", Pin = false, BufferMemoryBytes = 8 << 20 });
        var dev = engine.Device;
        using var buffer = dev.Rent(4096);
        for (int i = 0; i < 40; i++)
            try { await dev.WriteAsync(i, buffer.Memory); } catch (Requests.BlockDeviceException) { }
        collector.Collect();
        Assert.That(collector.Sum("orion.pmd.io.errors"), Is.EqualTo(10));
        var byStatus = collector.Of("orion.pmd.io.errors_by_status").ToList();
        Assert.That(byStatus.Select(m => (string)m.Tags["status"]!), Is.EqualTo(new[] { "IoError" }));
        Assert.That(byStatus.Sum(m => m.Value), Is.EqualTo(10));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task MeterAndSnapshotsEachSeeEveryCompletion()
    {
        using var collector = new Collector();
        await using var engine = PmdEngine.Start(new EngineOptions { Device = "null:16M", Pin = false, BufferMemoryBytes = 8 << 20 });
        var dev = engine.Device;
        using var buffer = dev.Rent(4096);
        for (int i = 0; i < 50; i++) await dev.ReadAsync(i, buffer.Memory);
        collector.Collect();                                  // the meter reads first...
        var snapshot = engine.Monitor.TakeSnapshot();         // ...and the monitor still gets all 50
        Assert.That(snapshot.Latency.TotalCount, Is.EqualTo(50));
        for (int i = 0; i < 30; i++) await dev.ReadAsync(i, buffer.Memory);
        Assert.That(engine.Monitor.TakeSnapshot().Latency.TotalCount, Is.EqualTo(30));
        collector.Collect();
        Assert.That(collector.Of("orion.pmd.io.latency"), Is.Not.Empty, "the 30 newer completions reach the meter too");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task HostMeterFactoryOwnsTheMeter()
    {
        using var factory = new RecordingMeterFactory();
        using var collector = new Collector();
        var engine = PmdEngine.Start(new EngineOptions { Device = "null:16M", Pin = false, BufferMemoryBytes = 8 << 20, MeterFactory = factory });
        using var buffer = engine.Device.Rent(4096);
        await engine.Device.ReadAsync(0, buffer.Memory);
        Assert.That(factory.Created.Select(m => m.Name), Is.EqualTo(new[] { PmdEngine.MeterName }));
        collector.Collect();
        Assert.That(collector.Sum("orion.pmd.io.requests"), Is.EqualTo(1));
        await engine.DisposeAsync();
        // The factory's meter outlives the engine: a collection after the stop reads nothing and does not fault.
        collector.Collect();
        Assert.That(collector.Of("orion.pmd.io.requests"), Is.Empty);
    }

    private sealed class RecordingMeterFactory : IMeterFactory
    {
        public readonly List<Meter> Created = [];
        public Meter Create(MeterOptions options)
        {
            var m = new Meter(options);
            Created.Add(m);
            return m;
        }
        public void Dispose()
        {
            foreach (var m in Created) m.Dispose();
        }
    }
}
