using System.Text;
using Microsoft.Extensions.Configuration;

namespace Orion.Pmd.Engine.Tests.Embedding;

/// <summary><see cref="EngineOptions"/> binds from configuration (appsettings.json, environment, command line) and validates as a whole.</summary>
public class OptionsBindingTests
{
    private static IConfiguration Json(string json) =>
        new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();

    [Test]
    public void EveryKindOfOptionBindsFromJson()
    {
        var config = Json("""
        {
          "OrionPmd": {
            "Device": "file:/var/lib/db/data.img,direct",
            "Queues": 2,
            "QueueSize": 512,
            "Ring": "Packed",
            "Notifications": "Adaptive",
            "AdaptiveIdleBudget": "00:00:00.0002",
            "ReactorCores": [ 2, 3 ],
            "Pin": false,
            "BufferMemoryBytes": 268435456,
            "RequestTimeout": "00:00:05",
            "TimeoutPolicy": "RetryOnce",
            "ZeroBuffersOnReturn": true,
            "VhostUser": { "ReconnectTimeout": "00:01:00" }
          }
        }
        """);
        var options = config.GetSection(EngineOptions.SectionName).Get<EngineOptions>()!;
        Assert.That(options.Device, Is.EqualTo("file:/var/lib/db/data.img,direct"));
        Assert.That(options.Queues, Is.EqualTo(2));
        Assert.That(options.QueueSize, Is.EqualTo(512));
        Assert.That(options.Ring, Is.EqualTo(RingFormat.Packed));
        Assert.That(options.Notifications, Is.EqualTo(NotificationMode.Adaptive));
        Assert.That(options.AdaptiveIdleBudget, Is.EqualTo(TimeSpan.FromMicroseconds(200)));
        Assert.That(options.ReactorCores, Is.EqualTo(new[] { 2, 3 }));
        Assert.That(options.Pin, Is.False);
        Assert.That(options.BufferMemoryBytes, Is.EqualTo(256L << 20));
        Assert.That(options.RequestTimeout, Is.EqualTo(TimeSpan.FromSeconds(5)));
        Assert.That(options.TimeoutPolicy, Is.EqualTo(TimeoutPolicy.RetryOnce));
        Assert.That(options.ZeroBuffersOnReturn, Is.True);
        Assert.That(options.VhostUser.ReconnectTimeout, Is.EqualTo(TimeSpan.FromMinutes(1)));
        Assert.That(options.VhostUser.ConnectTimeout, Is.EqualTo(new EngineOptions().VhostUser.ConnectTimeout), "unset nested values keep their defaults");
        Assert.That(options.MaxSegments, Is.EqualTo(new EngineOptions().MaxSegments), "unset values keep their defaults");
        Assert.That(options.Problems(), Is.Empty);
    }

    [Test]
    public void BoundOptionsStartAnEngine()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["OrionPmd:Device"] = "mem:8M",
            ["OrionPmd:Threading"] = "Manual",
            ["OrionPmd:BufferMemoryBytes"] = "4194304",
        }).Build();
        var options = config.GetSection(EngineOptions.SectionName).Get<EngineOptions>()!;
        options.Validate();
        using var engine = PmdEngine.Start(options);
        Assert.That(engine.Device.CapacityBytes, Is.EqualTo(8 << 20));
    }

    [Test]
    public void ValidateNamesEveryWrongOptionAtOnce()
    {
        var options = new EngineOptions
        {
            Device = "mem:",
            Queues = 2,
            QueueSize = 100,
            ReactorCores = [1],
            MaxBufferBytes = 3000,
            InterruptCoalescing = 0,
            RequestTimeout = TimeSpan.FromSeconds(-2),
        };
        var ex = Assert.Throws<ArgumentException>(options.Validate)!;
        Assert.That(ex.Message, Does.StartWith("6 invalid engine options"));
        foreach (var name in new[] { "Device 'mem:'", "QueueSize = 100", "ReactorCores lists 1 core(s) for 2 queue(s)", "MaxBufferBytes = 3000", "InterruptCoalescing = 0", "RequestTimeout" })
            Assert.That(ex.Message, Does.Contain(name));
        Assert.That(ex.Message, Does.Contain("power of two"), "says what would be right");
    }

    [Test]
    public void SharedCoresAreRefused()
    {
        var options = new EngineOptions { Queues = 2, ReactorCores = [0, 0], DeviceCores = [0] };
        var problems = options.Problems();
        Assert.That(problems, Has.Some.Contains("names a core twice"));
        Assert.That(problems, Has.Some.Contains("share core(s) 0"));
    }

    [Test]
    public void DefaultsAreValid() => Assert.That(new EngineOptions().Problems(), Is.Empty);
}
