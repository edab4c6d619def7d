using Orion.Pmd.Engine.Diagnostics;
using Orion.Pmd.Engine.Monitoring;
using Orion.Pmd.Engine.Transport;
using Orion.Pmd.Engine.Transport.VhostUser;
using Orion.Pmd.Linux;

namespace Orion.Pmd.Engine;

/// <summary>The engine's monitoring hooks: the latency harvest shared by the monitor and the meter, and async disposal.</summary>
public sealed partial class PmdEngine : IAsyncDisposable
{
    /// <summary>
    /// The name of the <see cref="System.Diagnostics.Metrics.Meter"/> every engine publishes its counters and latency
    /// percentiles on (instruments <c>orion.pmd.*</c>): <c>dotnet-counters monitor --counters Orion.Pmd -p PID</c>,
    /// or <c>AddMeter("Orion.Pmd")</c> in OpenTelemetry.
    /// </summary>
    public const string MeterName = "Orion.Pmd";

    private LatencyHarvester? _latency;
    private EngineMetrics? _metrics;

    /// <summary>Latency recorded by the reactors, kept apart for each reader (snapshots, the meter); made with the queues.</summary>
    internal LatencyHarvester Latency => _latency ?? throw new InvalidOperationException("the engine has not finished starting");

    /// <summary>Whether <see cref="Dispose"/> has begun.</summary>
    internal bool IsDisposed => Volatile.Read(ref _disposed);

    /// <summary>The operational log (warnings that cost performance, each said once).</summary>
    internal EngineLog Log { get; private set; } = EngineLog.None;

    /// <summary>Publishes the instruments and says what the embedder should know; called once the device and the monitor exist.</summary>
    private void StartMetrics()
    {
        _latency = new LatencyHarvester(this);
        _metrics = new EngineMetrics(this, _options.MeterFactory);
        Log = new EngineLog(_options.LoggerFactory);
        Device.Log = Log;
        if (_transport is EmbeddedTransport { SynchronousFileIoEngine: { } fallback })
            Log.SynchronousFileIo(Device.Description, fallback);
        if (_options.Pin && !Pinned && _options.Threading == EngineThreading.Threads)
        {
            int deviceThreads = _transport is VhostUserTransport or Orion.Pmd.Engine.Transport.VirtioPci.VirtioPciTransport or EmbeddedTransport { HasNoThreads: true }
                ? 0 : _options.DeviceThreads;
            Log.RunningUnpinned(Device.Description, _options.Queues, deviceThreads, CpuAffinity.GetAllowedCpus().Length);
        }
    }

    /// <summary>
    /// The orderly stop of <see cref="Dispose"/> (drain up to <see cref="EngineOptions.DrainTimeout"/>, then stop
    /// the reactors and the device) without blocking the caller's thread: a host's <c>StopAsync</c> awaits this.
    /// </summary>
    public ValueTask DisposeAsync()
    {
        if (IsDisposed) return ValueTask.CompletedTask;
        return new ValueTask(Task.Factory.StartNew(Dispose, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default));
    }
}
