using System.Text.Json;
using Orion.Perf;
using Orion.Perf.Reporting;

namespace Orion.Perf.Tests.Gate;

/// <summary>
/// The counted metrics from the real engine: orion-perf's JSON carries them, and a gate of two orion-perf processes
/// catches one extra allocation per I/O (the test-only <c>ORION_PERF_TEST_ALLOC_PER_IO</c>) and passes the build
/// against itself. Counted metrics only: timed ones on a shared machine are the calibration script's business.
/// </summary>
[NonParallelizable]
public class GateEngineTests
{
    private static string Perf(string env = "") =>
        $"{env}dotnet '{typeof(PerfCommand).Assembly.Location}' --rw=randread --bs=4k --iodepth=8 --number_ios=2000 --device=null:64M --output-format=json";

    [Test]
    [CancelAfter(60_000)]
    public void TheJsonReportCarriesAllocationsAndSyscallsPerIo()
    {
        var stdout = new StringWriter();
        int code = PerfCommand.Run(["--rw=randread", "--bs=4k", "--iodepth=8", "--number_ios=3000", "--device=null:64M", "--output-format=json"], stdout, new StringWriter());
        Assert.That(code, Is.Zero);
        using var doc = JsonDocument.Parse(stdout.ToString());
        var orion = doc.RootElement.GetProperty("jobs")[0].GetProperty("orion");
        Assert.That(orion.GetProperty("allocated_bytes").GetInt64(), Is.GreaterThanOrEqualTo(0));
        Assert.That(orion.GetProperty("allocated_bytes_per_io").GetDouble(), Is.LessThan(8), "the data path allocates nothing per I/O");
        var q = orion.GetProperty("queues")[0];
        Assert.That(q.GetProperty("syscalls").GetInt64(), Is.EqualTo(q.GetProperty("kicks").GetInt64() + q.GetProperty("sleeps").GetInt64()));
        Assert.That(q.TryGetProperty("syscalls_per_io", out _), Is.True);
    }

    [Test]
    public void SyscallsAreKicksAndSleeps()
    {
        var q = new QueueReport { Requests = 100, Kicks = 5, Sleeps = 3 };
        Assert.That((q.Syscalls, q.SyscallsPerIo), Is.EqualTo((8L, 0.08)));
    }

    [Test]
    [CancelAfter(120_000)]
    public void OneExtraAllocationPerIoIsCaughtBetweenTwoProcesses()
    {
        var (code, output, err) = GateCommandTests.Gate("--baseline", Perf(), "--candidate", Perf("ORION_PERF_TEST_ALLOC_PER_IO=1 "),
                                                         "--rounds", "5", "--warmup", "0", "--metrics", "alloc,kicks,syscalls");
        Assert.That(code, Is.EqualTo(3), output + err);
        Assert.That(output.Split('\n').Single(l => l.StartsWith("alloc ", StringComparison.Ordinal)), Does.EndWith("REGRESSED"));
    }

    [Test]
    [CancelAfter(120_000)]
    public void OneExtraKickPerBatchIsCaughtBetweenTwoProcesses()
    {
        var (code, output, err) = GateCommandTests.Gate("--baseline", Perf(), "--candidate", Perf("ORION_TEST_EXTRA_KICKS_PER_BATCH=1 "),
                                                         "--rounds", "5", "--warmup", "0", "--metrics", "alloc,kicks,syscalls");
        Assert.That(code, Is.EqualTo(3), output + err);
        Assert.That(output.Split('\n').Single(l => l.StartsWith("kicks ", StringComparison.Ordinal)), Does.EndWith("REGRESSED"));
    }

    [Test]
    [CancelAfter(120_000)]
    public void TheBuildAgainstItselfPassesItsCountedMetrics()
    {
        var (code, output, err) = GateCommandTests.Gate("--baseline", Perf(), "--candidate", Perf(), "--rounds", "5", "--warmup", "0",
                                                         "--metrics", "alloc,kicks,syscalls");
        Assert.That(code, Is.Zero, output + err);
    }
}
