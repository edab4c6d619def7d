using System.Diagnostics;
using System.Text.Json;
using Orion.Pmd.Engine.Tests.VhostUser.Support;

namespace Orion.Pmd.Engine.Tests.Rbd;

/// <summary>Runs the built <c>orion-perf</c> as a process, as its users do, with a bound on its time, and reads its JSON report.</summary>
internal static class OrionPerfProcess
{
    /// <summary>tools/Orion.Perf/bin/&lt;configuration&gt;/&lt;tfm&gt;/orion-perf.dll.</summary>
    public static string DllPath { get; } = BuiltTool.Find("Orion.Perf", "orion-perf.dll");

    /// <summary>The exit status, standard output and standard error of <c>orion-perf ARGS --output-format=json</c>.</summary>
    public static (int Code, string Out, string Err) Run(TimeSpan timeout, params string[] args)
    {
        if (!File.Exists(DllPath)) Assert.Ignore($"orion-perf is not built ({DllPath} is missing): build Orion.Pmd.sln first");
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(DllPath);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add("--output-format=json");
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start orion-perf");
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit(10_000);
            Assert.Fail($"orion-perf {string.Join(' ', args)} did not finish within {timeout.TotalSeconds:0} s (it must never hang); stderr: {error.Result}");
        }
        p.WaitForExit();
        return (p.ExitCode, output.Result, error.Result);
    }

    /// <summary>The first job of a JSON report.</summary>
    public static JsonElement FirstJob(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.GetProperty("jobs")[0].Clone();
    }

    /// <summary>The job's <c>orion.verify</c> section.</summary>
    public static JsonElement Verify(JsonElement job) => job.GetProperty("orion").GetProperty("verify");
}
