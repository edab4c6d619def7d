using System.Text.Json;
using Orion.Perf;

namespace Orion.Perf.Tests.Cli;

/// <summary>Runs orion-perf in process with JSON output, for tests that read what a real run reports.</summary>
internal static class CliKit
{
    /// <summary>Runs <paramref name="args"/> with <c>--output-format=json</c>, asserting exit status 0; returns the <c>jobs</c> array.</summary>
    public static JsonElement Jobs(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = PerfCommand.Run([.. args, "--output-format=json"], stdout, stderr);
        Assert.That(code, Is.Zero, stderr.ToString());
        using var doc = JsonDocument.Parse(stdout.ToString());
        return doc.RootElement.GetProperty("jobs").Clone();
    }

    /// <summary>A direction's <c>total_ios</c>.</summary>
    public static long Ios(JsonElement job, string direction) => job.GetProperty(direction).GetProperty("total_ios").GetInt64();

    /// <summary>A direction's <c>io_bytes</c>.</summary>
    public static long Bytes(JsonElement job, string direction) => job.GetProperty(direction).GetProperty("io_bytes").GetInt64();
}
