using System.Diagnostics;

namespace Orion.Guest.Tests.Support;

/// <summary>
/// orion-perf for the guest: published with NativeAOT (one 20-odd MB executable that needs only libc and friends,
/// where a self-contained publish would carry the 79 MB runtime into every initramfs and take far longer to unpack
/// under TCG), packed with the libraries <c>ldd</c> names into an initramfs layer that puts it at <c>/bin/orion-perf</c>.
/// Published into the guest cache and kept there while the sources it is built from are unchanged (a stamp holds their
/// hash: the publish takes minutes on a busy machine, and MSBuild's own up-to-date check is defeated by every ordinary
/// build of the libraries in between); where the NativeAOT toolchain is missing (no clang or the
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
        string exe = Path.Combine(output, "orion-perf"), stampFile = Path.Combine(output, "sources.sha256");
        string layer = Path.Combine(GuestArtefacts.CacheDirectory, "orion-perf.cpio.gz");
        string stamp = SourceHash(repo);
        if (File.Exists(layer) && File.Exists(exe) && File.Exists(stampFile) && File.ReadAllText(stampFile) == stamp) return (layer, null);
        var (rc, log) = Run("dotnet", TimeSpan.FromSeconds(900), "publish", Path.Combine(repo, "tools", "Orion.Perf"), "-c", "Release", "-r", "linux-x64",
                            "-p:PublishAot=true", "-nologo", "-v:quiet", "-o", output);
        if (rc != 0 || !File.Exists(exe)) return (null, $"the NativeAOT publish of orion-perf failed (exit {rc}; it needs clang and the ILCompiler packages): {Tail(log)}");
        string script = $$"""
            set -e
            root=$(mktemp -d); trap 'rm -rf "$root"' EXIT
            mkdir -p "$root/bin"; cp -L '{{exe}}' "$root/bin/orion-perf"
            for lib in $(ldd '{{exe}}' | grep -o '/[^ ]*'); do mkdir -p "$root$(dirname "$lib")"; cp -Ln "$lib" "$root$lib"; done
            (cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 > '{{layer}}.tmp'
            mv '{{layer}}.tmp' '{{layer}}'
            """;
        (rc, log) = Run("bash", TimeSpan.FromSeconds(120), "-c", script);
        if (rc != 0) return (null, $"packing orion-perf into an initramfs layer failed: {Tail(log)}");
        File.WriteAllText(stampFile, stamp);
        return (layer, null);
    }

    /// <summary>SHA-256 over the names and contents of every source orion-perf is built from (engine, reactors, the tool, the build props).</summary>
    private static string SourceHash(string repo)
    {
        var files = new[] { "engine", "reactors", Path.Combine("tools", "Orion.Perf") }
            .SelectMany(d => Directory.EnumerateFiles(Path.Combine(repo, d), "*", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
            .Concat([Path.Combine(repo, "Directory.Build.props"), Path.Combine(repo, "Directory.Packages.props")])
            .Where(File.Exists)
            .Select(f => Path.GetRelativePath(repo, f))
            .Order(StringComparer.Ordinal);
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (string f in files)
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes(f + "\0"));
            sha.AppendData(File.ReadAllBytes(Path.Combine(repo, f)));
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
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
