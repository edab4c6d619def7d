using Microsoft.Extensions.Logging;
using Orion.Pmd.Engine.Tests.Audit;

namespace Orion.Pmd.Engine.Tests.Embedding;

/// <summary>The operational log: conditions that cost performance, said once through the host's logger factory.</summary>
[NonParallelizable]
public class EngineLogTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task BouncedMemoryIsReportedOnce()
    {
        var logs = new CapturingLoggerFactory();
        await using var engine = PmdEngine.Start(new EngineOptions { Device = "mem:16M", Pin = false, BufferMemoryBytes = 8 << 20, LoggerFactory = logs });
        var own = new byte[4096];
        for (int i = 0; i < 10; i++) await engine.Device.WriteAsync(i, own);
        using var dma = engine.Device.Rent(4096);
        await engine.Device.WriteAsync(0, dma.Memory);
        var bounces = logs.Events.Where(e => e.Category == "Orion.Pmd.Engine" && e.Id.Id == 2001).ToList();
        Assert.That(bounces, Has.Count.EqualTo(1), "said once, however many requests bounce");
        Assert.That(bounces[0].Level, Is.EqualTo(LogLevel.Warning));
        Assert.That(bounces[0].Message, Does.Contain("BlockDevice.Rent"));
        Assert.That(engine.Device.GetQueue(0).Counters.Bounces, Is.EqualTo(10));
    }

    [Test]
    [CancelAfter(30_000)]
    public void UnpinnedRunIsReportedWhenPinningWasAskedFor()
    {
        int allowed = Orion.Pmd.Linux.CpuAffinity.GetAllowedCpus().Length;
        var logs = new CapturingLoggerFactory();
        // More queues than allowed cores: pinning cannot be honoured.
        using (PmdEngine.Start(new EngineOptions { Device = "null:16M", Queues = allowed + 1, BufferMemoryBytes = 8 << 20, LoggerFactory = logs, IdlePolicy = Reactors.IdlePolicy.Yield }))
        {
        }
        var unpinned = logs.Events.Where(e => e.Id.Id == 2000).ToList();
        Assert.That(unpinned, Has.Count.EqualTo(1));
        Assert.That(unpinned[0].Message, Does.Contain($"{allowed} are allowed"));

        var quiet = new CapturingLoggerFactory();
        using (PmdEngine.Start(new EngineOptions { Device = "null:16M", Pin = false, BufferMemoryBytes = 8 << 20, LoggerFactory = quiet }))
        {
        }
        Assert.That(quiet.Events.Where(e => e.Id.Id == 2000), Is.Empty, "Pin = false asked for an unpinned run");
    }
}
