using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Orion.Perf.Gate;

/// <summary>
/// The machine a gate's samples came from: CPU model, CPUs the process may use, kernel release. Timed samples from a
/// different machine say nothing about this one, so <c>--against</c> refuses them.
/// </summary>
internal sealed record MachineInfo(string CpuModel, int Cores, string Kernel)
{
    public static MachineInfo Current() => new(CpuModelOf(), Environment.ProcessorCount, KernelOf());

    /// <summary>The fields that differ from <paramref name="other"/>, as "cpu model 'A' (stored) vs 'B' (here)".</summary>
    public List<string> Differences(MachineInfo here)
    {
        var d = new List<string>();
        if (CpuModel != here.CpuModel) d.Add($"cpu model '{CpuModel}' (stored) vs '{here.CpuModel}' (here)");
        if (Cores != here.Cores) d.Add($"cores {Cores} (stored) vs {here.Cores} (here)");
        if (Kernel != here.Kernel) d.Add($"kernel '{Kernel}' (stored) vs '{here.Kernel}' (here)");
        return d;
    }

    public override string ToString() => $"{CpuModel}, {Cores} cores, kernel {Kernel}";

    private static string CpuModelOf()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
            {
                int colon = line.IndexOf(':');
                if (colon > 0 && line[..colon].Trim() is "model name" or "Hardware" or "cpu model" && line[(colon + 1)..].Trim() is { Length: > 0 } v)
                    return v;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return $"unknown {RuntimeInformation.ProcessArchitecture}";
    }

    private static string KernelOf()
    {
        try { return File.ReadAllText("/proc/sys/kernel/osrelease").Trim(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return RuntimeInformation.OSDescription; }
    }
}

/// <summary>The build a gate ran from: the git commit of the working directory (or the CI's), and whether it had local changes.</summary>
internal sealed record BuildInfo(string? Commit, bool? Dirty)
{
    public static BuildInfo Current()
    {
        string? commit = Git("rev-parse HEAD");
        if (commit is not null) return new(commit, Git("status --porcelain --untracked-files=no") is { } s ? s.Length > 0 : null);
        commit = Environment.GetEnvironmentVariable("GITHUB_SHA") ?? Environment.GetEnvironmentVariable("CI_COMMIT_SHA");
        return new(string.IsNullOrWhiteSpace(commit) ? null : commit.Trim(), null);
    }

    public override string ToString() => Commit is null ? "unknown build (no git)" : Commit + (Dirty == true ? " with local changes" : "");

    private static string? Git(string args)
    {
        try
        {
            var psi = new ProcessStartInfo("git", args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            using var p = Process.Start(psi);
            if (p is null) return null;
            var output = p.StandardOutput.ReadToEndAsync();
            p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(5_000)) { p.Kill(); return null; }
            return p.ExitCode == 0 && output.Wait(1_000) ? output.Result.Trim() : null;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException) { return null; }
    }
}
