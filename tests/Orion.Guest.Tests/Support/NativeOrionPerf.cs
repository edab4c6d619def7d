using System.Diagnostics;

namespace Orion.Guest.Tests.Support;

/// <summary>
/// orion-perf for the guest: published with NativeAOT (one 20-odd MB executable that needs only libc and friends,
/// where a self-contained publish would carry the 79 MB runtime into every initramfs and take far longer to unpack
/// under TCG), packed with the libraries <c>ldd</c> names into an initramfs layer that puts it at <c>/bin/orion-perf</c>.
/// Published once per test run into the guest cache; where the NativeAOT toolchain is missing (no clang or the
/// ILCompiler packages) every test that needs it is skipped with the reason.
/// </summary>
internal static class NativeOrionPerf
{
    private static readonly Lazy<(string? Layer, string? Reason)> Built = new(Build);

    /// <summary>The initramfs layer holding /bin/orion-perf and its libraries, or the calling test is skipped with the reason.</summary>
    public static string RequireLayer()
    {
        var (layer, reason) = Built.Value;
        if (layer is null) Assert.Ignore(reason!);
        return layer!;
    }

    private static (string?, string?) Build()
    {
        string? repo = RepositoryRoot();
        if (repo is null) return (null, "the repository (Orion.Pmd.sln) is not above the test's directory, so orion-perf cannot be published for the guest");
        string output = Path.Combine(GuestArtefacts.CacheDirectory, "orion-perf-aot");
        // Incremental after the first time: the obj/ of the linux-x64 NativeAOT build is kept in the repository.
        var (rc, log) = Run("dotnet", TimeSpan.FromSeconds(600), "publish", Path.Combine(repo, "tools", "Orion.Perf"), "-c", "Release", "-r", "linux-x64",
                            "-p:PublishAot=true", "-nologo", "-v:quiet", "-o", output);
        string exe = Path.Combine(output, "orion-perf");
        if (rc != 0 || !File.Exists(exe)) return (null, $"the NativeAOT publish of orion-perf failed (exit {rc}; it needs clang and the ILCompiler packages): {Tail(log)}");
        string layer = Path.Combine(GuestArtefacts.CacheDirectory, "orion-perf.cpio.gz");
        string script = $$"""
            set -e
            root=$(mktemp -d); trap 'rm -rf "$root"' EXIT
            mkdir -p "$root/bin"; cp -L '{{exe}}' "$root/bin/orion-perf"
            for lib in $(ldd '{{exe}}' | grep -o '/[^ ]*'); do mkdir -p "$root$(dirname "$lib")"; cp -Ln "$lib" "$root$lib"; done
            (cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 > '{{layer}}.tmp'
            mv '{{layer}}.tmp' '{{layer}}'
            """;
        (rc, log) = Run("bash", TimeSpan.FromSeconds(120), "-c", script);
        return rc == 0 ? (layer, null) : (null, $"packing orion-perf into an initramfs layer failed: {Tail(log)}");
    }

    private static string? RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Orion.Pmd.sln"))) return dir.FullName;
        return null;
    }

    private static string Tail(string log) => log.Length > 2000 ? log[^2000..] : log;

    private static (int, string) Run(string program, TimeSpan timeout, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            return (-1, $"{program} did not finish within {timeout.TotalSeconds:0} s");
        }
        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
