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
    public async Task AFrontEndThatShrinksItsMemfdDoesNotEndOrionVhost(MemorySeal seals, string shrink)
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

            // A well-behaved front-end (the engine's own) is served afterwards.
            await VhostFuzzTests.Verify(vhost, 1, () => vhost.Stderr);
        }
        finally
        {
            try { Directory.Delete(scratch, recursive: true); } catch (IOException) { }
        }
    }
}
