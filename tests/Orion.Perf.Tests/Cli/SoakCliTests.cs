using System.Text.Json;
using Orion.Perf;

namespace Orion.Perf.Tests.Cli;

/// <summary>
/// The soak through orion-perf, short (CI): verified random reads and writes while the device injects every fault
/// kind the data path survives, at a low rate. It must end with no verify mismatch, every I/O completed exactly
/// once, failures counted by kind, and exit 0. <c>ORION_SOAK_SECONDS</c> runs it longer.
/// </summary>
[NonParallelizable]
public class SoakCliTests
{
    /// <summary>The plan of the engine's own soak test: statuses, latency spikes, stalls, drops, NEEDS_RESET and garbage in the used ring.</summary>
    internal const string Plan =
        "ioerr:rate=0.4%;unsupp:rate=0.2%:type=read;delay=2ms:rate=0.3%;stall=10ms:every=4000;drop:rate=0.05%;" +
        "needs-reset:every=6000;garbage=id-range:rate=0.03%;garbage=length:rate=0.03%;garbage=wrap:rate=0.03%;seed=7";

    [TestCase("split")]
    [TestCase("packed")]
    [CancelAfter(180_000)]
    public void VerifiedIoUnderEveryFaultEndsIntactAndExitsZero(string ring)
    {
        int seconds = int.TryParse(Environment.GetEnvironmentVariable("ORION_SOAK_SECONDS"), out int s) ? s : 4;
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = PerfCommand.Run(["--rw=randrw", "--bs=4k", "--iodepth=16", "--verify=crc32c", $"--runtime={seconds}", "--time_based",
                                    "--size=16M", $"--device=mem:32M,fault={Plan}", $"--ring={ring}", "--continue_on_error=io",
                                    "--request_timeout=250ms", "--timeout_policy=retry", "--output-format=json"], stdout, stderr);
        using var doc = JsonDocument.Parse(stdout.ToString());
        var job = doc.RootElement.GetProperty("jobs")[0];
        var orion = job.GetProperty("orion");
        var errors = orion.GetProperty("errors");
        string summary = $"exit {code}; errors {errors}; verify {orion.GetProperty("verify")}; stderr {stderr}";
        TestContext.Out.WriteLine(summary);

        Assert.That(code, Is.Zero, summary);
        Assert.That(orion.GetProperty("verify").GetProperty("mismatches").GetInt64(), Is.Zero, summary);
        Assert.That(orion.GetProperty("verify").GetProperty("checked").GetInt64(), Is.GreaterThan(1000), "verification did real work: " + summary);
        var completions = errors.GetProperty("completions");
        Assert.That(completions.GetProperty("lost").GetInt64(), Is.Zero, summary);
        Assert.That(completions.GetProperty("doubled").GetInt64(), Is.Zero, summary);
        Assert.That(completions.GetProperty("submitted").GetInt64(), Is.GreaterThan(5000), summary);
        Assert.That(errors.GetProperty("intact").GetBoolean(), Is.True, summary);
        // Faults happened and were survived: failures were counted by kind, and the engine reset queues.
        Assert.That(job.GetProperty("total_err").GetInt64(), Is.GreaterThan(0), summary);
        var kinds = errors.GetProperty("by_status").EnumerateObject().Select(p => p.Name).ToList();
        Assert.That(kinds, Is.SubsetOf(new[] { "IoError", "Unsupported", "TimedOut", "QueueBroken" }), "only failures the plan injects: " + summary);
        Assert.That(kinds, Does.Contain("IoError"), summary);
        long resets = orion.GetProperty("queues").EnumerateArray().Sum(q => q.GetProperty("queue_resets").GetInt64());
        Assert.That(resets, Is.GreaterThan(0), summary);
        Assert.That(errors.GetProperty("stopped_job").GetBoolean(), Is.False, summary);
    }
}
