using System.Text;
using Orion.Pmd.Engine;
using Orion.Pmd.Linux;

namespace Orion.Vhost.Tests.Fuzz;

/// <summary>
/// Random front-end traffic against the real orion-vhost process (issue 13): thousands of messages from a seeded
/// generator (<see cref="FuzzScenario"/>), and after every batch the engine's own vhost-user front-end connects and
/// does verified I/O, proving orion-vhost survived and serves. At the end the back-end holds no more fds and maps no
/// more memfds than before. A failure prints the seed, the batch and the traffic that caused it; replay with
/// <c>ORION_VHOST_FUZZ_SEED=S ORION_VHOST_FUZZ_BATCH=B dotnet test tests/Orion.Vhost.Tests --filter VhostFuzzTests</c>
/// (<c>ORION_VHOST_FUZZ_MESSAGES=N</c> runs longer).
/// </summary>
[NonParallelizable]
public class VhostFuzzTests
{
    private const int DefaultSeed = 20261207;
    private const int DefaultMessages = 5000;
    private const int MessagesPerBatch = 250;

    private static int Env(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out int v) ? v : fallback;

    /// <summary>The seed of batch <paramref name="batch"/> (stable across runtimes, unlike HashCode).</summary>
    private static int BatchSeed(int seed, int batch) => unchecked(seed * 1_000_003 + batch * 7919);

    [Test]
    [CancelAfter(300_000)]
    public async Task OrionVhostSurvivesRandomFrontEndTrafficAndServesAfterEveryBatch()
    {
        int seed = Env("ORION_VHOST_FUZZ_SEED", DefaultSeed);
        int target = Env("ORION_VHOST_FUZZ_MESSAGES", DefaultMessages);
        int only = Env("ORION_VHOST_FUZZ_BATCH", -1);
        string scratch = Directory.CreateTempSubdirectory("orion-fuzz-").FullName;
        // Short timeouts, so stalls and silent clients cost little; everything else as shipped.
        using var vhost = VhostProcess.Start(["--device", "mem:16M", "--queues", "2", "--message-timeout", "200ms", "--idle-timeout", "300ms"]);
        try
        {
            await Verify(vhost, 0, () => "before any fuzzing");
            var baseline = Resources(vhost);
            int sent = 0, connections = 0;
            for (int batch = only >= 0 ? only : 0; sent < target; batch++)
            {
                var log = new StringBuilder();
                var rng = new Random(BatchSeed(seed, batch));
                var held = new List<FuzzConnection>();
                string Context() => $"seed {seed}, batch {batch} (replay: ORION_VHOST_FUZZ_SEED={seed} ORION_VHOST_FUZZ_BATCH={batch});\n" +
                                    $"orion-vhost stderr (last lines):\n{Tail(vhost.Stderr, 40)}\ntraffic of this batch:\n{log}";
                try
                {
                    int batchSent = 0;
                    while (batchSent < MessagesPerBatch)
                    {
                        var scenario = new FuzzScenario(rng);
                        var steps = scenario.Generate();
                        log.AppendLine($"-- connection {++connections} (memfd seals: {scenario.Seals})");
                        var c = new FuzzConnection(vhost.SocketPath, scratch, scenario.Seals);
                        foreach (var step in steps)
                        {
                            if (c.Ended) { log.AppendLine("   (the back-end ended the connection)"); break; }
                            log.AppendLine("   " + step.What);
                            step.Run(c);
                            if (vhost.Process.HasExited) Assert.Fail($"orion-vhost exited ({vhost.Process.ExitCode}) after: {step.What}\n{Context()}");
                        }
                        batchSent += Math.Max(1, c.MessagesSent);
                        if (scenario.Silent) held.Add(c);             // stays connected, saying nothing, through the check below
                        else c.Dispose();
                    }
                    sent += batchSent;
                    await Verify(vhost, batch + 1, Context);
                }
                finally
                {
                    foreach (var c in held) c.Dispose();
                }
                if (only >= 0) break;
            }
            TestContext.Out.WriteLine($"fuzz: seed {seed}, {sent} messages over {connections} connections; orion-vhost served every check");
            TestContext.Out.WriteLine(Coverage(vhost.Stderr));

            // Every connection's fds closed and memory unmapped: back to what the back-end held after the first check.
            bool settled = Eventually(() => Resources(vhost) is var now && now.Fds <= baseline.Fds && now.MemfdMappings <= baseline.MemfdMappings);
            var end = Resources(vhost);
            Assert.That(settled, Is.True,
                $"orion-vhost holds {end.Fds} fds and {end.MemfdMappings} memfd mappings, against {baseline.Fds} and {baseline.MemfdMappings} before " +
                $"(seed {seed}); fds now: {string.Join(", ", FdTargets(vhost))}");
        }
        finally
        {
            Assert.That(vhost.Process.HasExited, Is.False, "orion-vhost is still running");
            try { Directory.Delete(scratch, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>The engine's vhost-user front-end connects, writes, reads back and compares, flushes, and disconnects.</summary>
    internal static async Task Verify(VhostProcess vhost, int round, Func<string> context)
    {
        var work = Task.Run(async () =>
        {
            using var engine = PmdEngine.Start(new EngineOptions
            {
                Device = $"vhost-user:{vhost.SocketPath}",
                Queues = 2,
                QueueSize = 64,
                Pin = false,
                IdlePolicy = Pmd.Reactors.IdlePolicy.Yield,
                BufferMemoryBytes = 4 << 20,
                Ring = round % 2 == 0 ? RingFormat.Split : RingFormat.Packed,
            });
            var dev = engine.Device;
            using var buf = dev.Rent(8192);
            for (int i = 0; i < 8192; i++) buf.Span[i] = (byte)(i * 31 + round * 7 + 1);
            var expected = buf.Span.ToArray();
            long lba = round * 16L % (dev.CapacityBytes / 512 - 16);
            await dev.WriteAsync(lba, buf.Memory);
            buf.Span.Clear();
            await dev.ReadAsync(lba, buf.Memory);
            Assert.That(buf.Span.ToArray(), Is.EqualTo(expected), $"data read back after batch {round}");
            await dev.FlushAsync();
        });
        try
        {
            await work.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (Exception e) when (e is not AssertionException)
        {
            Assert.Fail($"a well-behaved front-end could not do I/O through orion-vhost ({(vhost.Process.HasExited ? $"it exited with {vhost.Process.ExitCode}" : "it is running")}): " +
                        $"{e.GetType().Name}: {e.Message}\n{context()}");
        }
    }

    /// <summary>How deep the traffic got, from orion-vhost's log: why connections ended, and queues that served requests.</summary>
    private static string Coverage(string stderr)
    {
        var lines = stderr.Split('\n');
        var reasons = lines.Where(l => l.Contains("connection closed: ", StringComparison.Ordinal))
            .Select(l => System.Text.RegularExpressions.Regex.Replace(l[(l.IndexOf("connection closed: ", StringComparison.Ordinal) + 19)..], @"0x[0-9a-f]+|\d+", "#"))
            .Select(l => l.Length > 70 ? l[..70] : l)
            .GroupBy(l => l).OrderByDescending(g => g.Count()).Take(25).Select(g => $"  {g.Count(),5} {g.Key}");
        int served = lines.Count(l => l.Contains(" requests in ", StringComparison.Ordinal) && !l.Contains(": 0 requests", StringComparison.Ordinal));
        return $"queues that served requests: {served}; connections ended because:\n{string.Join('\n', reasons)}";
    }

    private static (int Fds, int MemfdMappings) Resources(VhostProcess vhost) =>
        (Directory.GetFiles($"/proc/{vhost.Process.Id}/fd").Length,
         File.ReadLines($"/proc/{vhost.Process.Id}/maps").Count(l => l.Contains("/memfd:orion", StringComparison.Ordinal)));

    private static IEnumerable<string> FdTargets(VhostProcess vhost) =>
        Directory.GetFiles($"/proc/{vhost.Process.Id}/fd").Select(f =>
        {
            try { return $"{Path.GetFileName(f)}->{new FileInfo(f).LinkTarget}"; }
            catch (IOException) { return Path.GetFileName(f); }
        });

    private static bool Eventually(Func<bool> condition)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < until)
        {
            if (condition()) return true;
            Thread.Sleep(20);
        }
        return condition();
    }

    private static string Tail(string text, int lines)
    {
        var all = text.Split('\n');
        return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }
}
