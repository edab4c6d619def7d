using Orion.Pmd.Linux;

namespace Orion.Vhost.Tests.Fuzz;

/// <summary>
/// Issue 13 (Low): a front-end that shrank its memfd after SET_MEM_TABLE made orion-vhost's device thread take SIGBUS,
/// ending the process. orion-vhost now seals a sealable memfd against shrinking before it maps it, so the
/// front-end's truncation fails, and it refuses an fd that cannot be sealed; either way it lives and serves.
/// </summary>
[NonParallelizable]
public class MemoryShrinkTests
{
    [TestCase(MemorySeal.None, "shrink to 0 refused")]
    [TestCase(MemorySeal.Seal, "shrunk the memfd to 0 bytes")]     // refused at SET_MEM_TABLE, so the shrink touches nothing mapped
    [CancelAfter(120_000)]
    public void AFrontEndThatShrinksItsMemfdDoesNotEndOrionVhost(MemorySeal seals, string shrink)
    {
        using var vhost = VhostProcess.Start(["--device", "mem:16M", "--queues", "2"]);
        string scratch = Directory.CreateTempSubdirectory("orion-shrink-").FullName;
        try
        {
            using (var c = new FuzzConnection(vhost.SocketPath, scratch, seals))
            {
                foreach (var step in FuzzScenario.Handshake(packed: false, queues: 2, size: 64)) step.Run(c);
                Assert.That(c.Shrink(0), Does.StartWith(shrink));
                foreach (var k in c.Kicks) k.Signal();
                c.Drain(500);                                      // the device threads poll the rings meanwhile
                Assert.That(vhost.Process.HasExited, Is.False, $"orion-vhost is alive; stderr: {vhost.Stderr}");
            }
            if (seals == MemorySeal.Seal)
            {
                // The log line is read from the process's stderr asynchronously: wait for it (bounded).
                var until = DateTime.UtcNow.AddSeconds(10);
                while (!vhost.Stderr.Contains("not sealed against shrinking", StringComparison.Ordinal) && DateTime.UtcNow < until) Thread.Sleep(20);
                Assert.That(vhost.Stderr, Does.Contain("not sealed against shrinking"));
            }

            // A well-behaved front-end is served afterwards (the engine's own).
            using var engine = Pmd.Engine.PmdEngine.Start(new Pmd.Engine.EngineOptions
            {
                Device = $"vhost-user:{vhost.SocketPath}", Queues = 1, QueueSize = 64, Pin = false,
                IdlePolicy = Pmd.Reactors.IdlePolicy.Yield, BufferMemoryBytes = 4 << 20,
            });
            using var buf = engine.Device.Rent(4096);
            buf.Span.Fill(0x3C);
            Assert.That(() => engine.Device.WriteAsync(0, buf.Memory).AsTask().Wait(20_000), Is.True);
            buf.Span.Clear();
            Assert.That(() => engine.Device.ReadAsync(0, buf.Memory).AsTask().Wait(20_000), Is.True);
            Assert.That(buf.Span.ToArray(), Is.All.EqualTo((byte)0x3C));
        }
        finally
        {
            try { Directory.Delete(scratch, recursive: true); } catch (IOException) { }
        }
    }
}
