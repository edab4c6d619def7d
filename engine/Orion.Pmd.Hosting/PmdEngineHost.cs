using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orion.Pmd.Engine;

namespace Orion.Pmd.Hosting;

/// <summary>
/// The engine's life in a host: started in <see cref="StartAsync"/> from the bound options (plus the host's logger
/// and meter factories), stopped in <see cref="StopAsync"/> with the engine's orderly drain
/// (<see cref="EngineOptions.DrainTimeout"/>), which runs off the host's thread.
/// </summary>
public sealed class PmdEngineHost : IHostedService, IAsyncDisposable
{
    private readonly IOptions<EngineOptions> _options;
    private readonly Func<EngineOptions, EngineOptions>? _configure;
    private readonly ILoggerFactory? _loggerFactory;
    private readonly IMeterFactory? _meterFactory;
    private PmdEngine? _engine;

    /// <summary>Created by <see cref="OrionPmdServiceCollectionExtensions.AddOrionPmd"/>.</summary>
    public PmdEngineHost(IOptions<EngineOptions> options, Func<EngineOptions, EngineOptions>? configure,
                         ILoggerFactory? loggerFactory, IMeterFactory? meterFactory)
    {
        _options = options;
        _configure = configure;
        _loggerFactory = loggerFactory;
        _meterFactory = meterFactory;
    }

    /// <summary>The running engine.</summary>
    /// <exception cref="InvalidOperationException">The host has not started it yet, or has stopped it.</exception>
    public PmdEngine Engine => _engine ?? throw new InvalidOperationException(
        "the Orion.Pmd engine is not running: it starts with the host (IHost.StartAsync) and stops with it; resolve PmdEngine or BlockDevice after the host has started");

    /// <summary>The options the engine runs with: the bound ones, adjusted, with the host's factories.</summary>
    public EngineOptions EffectiveOptions
    {
        get
        {
            var options = _configure is null ? _options.Value : _configure(_options.Value);
            return options with
            {
                LoggerFactory = options.LoggerFactory ?? _loggerFactory,
                MeterFactory = options.MeterFactory ?? _meterFactory,
            };
        }
    }

    /// <summary>Starts the engine (on a worker thread: attaching a vhost-user back-end may wait for it).</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_engine is not null) return;
        var options = EffectiveOptions;
        options.Validate();
        _engine = await Task.Run(() => PmdEngine.Start(options), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops the engine: refuses new requests, drains those in flight, stops reactors and device.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var engine = Interlocked.Exchange(ref _engine, null);
        if (engine is not null) await engine.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Stops the engine if the host did not.</summary>
    public ValueTask DisposeAsync() => new(StopAsync(CancellationToken.None));
}
