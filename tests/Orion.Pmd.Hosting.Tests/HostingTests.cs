using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orion.Pmd.Engine;

namespace Orion.Pmd.Hosting.Tests;

/// <summary>The engine in a generic host: bound from configuration, validated at start, started and stopped with the host.</summary>
[NonParallelizable]
public class HostingTests
{
    private static HostApplicationBuilder Builder(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddOrionPmd(builder.Configuration.GetSection(EngineOptions.SectionName));
        return builder;
    }

    private static Dictionary<string, string?> Valid() => new()
    {
        ["OrionPmd:Device"] = "mem:16M",
        ["OrionPmd:Pin"] = "false",
        ["OrionPmd:BufferMemoryBytes"] = "8388608",
    };

    [Test]
    [CancelAfter(60_000)]
    public async Task EngineStartsWithTheHostServesIoAndStopsWithIt()
    {
        using var host = Builder(Valid()).Build();
        var engineHost = host.Services.GetRequiredService<PmdEngineHost>();
        Assert.That(() => engineHost.Engine, Throws.InvalidOperationException.With.Message.Contains("starts with the host"));

        await host.StartAsync();
        var device = host.Services.GetRequiredService<BlockDevice>();
        Assert.That(device.CapacityBytes, Is.EqualTo(16 << 20));
        using (var buffer = device.Rent(4096))
        {
            buffer.Span.Fill(0x42);
            await device.WriteAsync(3, buffer.Memory);
            buffer.Span.Clear();
            await device.ReadAsync(3, buffer.Memory);
            Assert.That(buffer.Span.ToArray(), Is.All.EqualTo((byte)0x42));
        }
        var engine = host.Services.GetRequiredService<PmdEngine>();
        Assert.That(engine, Is.SameAs(engineHost.Engine));

        await host.StopAsync();
        Assert.That(() => engineHost.Engine, Throws.InvalidOperationException, "stopped with the host");
        Assert.That(() => device.ReadAsync(0, new byte[4096]), Throws.InstanceOf<ObjectDisposedException>(), "the device refuses new requests");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task BadConfigurationStopsTheHostNamingEveryKey()
    {
        var settings = Valid();
        settings["OrionPmd:QueueSize"] = "100";
        settings["OrionPmd:Queues"] = "0";
        using var host = Builder(settings).Build();
        var e = (await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync()))!;
        Assert.That(e.Message, Does.Contain("OrionPmd: QueueSize = 100"));
        Assert.That(e.Message, Does.Contain("OrionPmd: Queues = 0"));
        Assert.That(() => host.Services.GetRequiredService<PmdEngineHost>().Engine, Throws.InvalidOperationException, "no engine was started");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task HostLoggerAndMeterFactoriesReachTheEngine()
    {
        var builder = Builder(Valid());
        var logs = new CapturingProvider();
        builder.Logging.AddProvider(logs);
        builder.Services.AddMetrics();
        using var host = builder.Build();
        await host.StartAsync();
        var options = host.Services.GetRequiredService<PmdEngineHost>().EffectiveOptions;
        Assert.That(options.LoggerFactory, Is.SameAs(host.Services.GetRequiredService<ILoggerFactory>()));
        Assert.That(options.MeterFactory, Is.SameAs(host.Services.GetRequiredService<IMeterFactory>()));
        await host.StopAsync();
        Assert.That(logs.Categories, Does.Contain("Orion.Pmd.Engine.Audit"), "the audit log went to the host's logging");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ConfigureAdjustsTheBoundOptions()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(Valid());
        builder.Services.AddOrionPmd(builder.Configuration.GetSection(EngineOptions.SectionName), o => o with { Device = "null:32M" });
        using var host = builder.Build();
        await host.StartAsync();
        Assert.That(host.Services.GetRequiredService<BlockDevice>().CapacityBytes, Is.EqualTo(32 << 20));
        await host.StopAsync();
    }

    private sealed class CapturingProvider : ILoggerProvider
    {
        public readonly ConcurrentBag<string> Categories = [];
        public ILogger CreateLogger(string categoryName)
        {
            Categories.Add(categoryName);
            return Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        }
        public void Dispose() { }
    }
}
