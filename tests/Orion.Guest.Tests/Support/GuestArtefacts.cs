using System.Diagnostics;

namespace Orion.Guest.Tests.Support;

/// <summary>
/// The kernel and initramfs layers the guests boot, built by <c>tests/guest/build-initramfs.sh</c> once per test run
/// (and kept in a cache directory across runs: the script rebuilds them when it changes). Where they cannot be built
/// (no QEMU, no busybox-static, no cpio, no apt-get or no network for the kernel), every guest test is skipped with the
/// reason.
/// </summary>
internal sealed class GuestArtefacts
{
    private static readonly Lazy<(GuestArtefacts? Artefacts, string? Reason)> Base = new(() => Build(fio: false));
    private static readonly Lazy<(GuestArtefacts? Artefacts, string? Reason)> WithFio = new(() => Build(fio: true));

    private GuestArtefacts(string cache, bool fio)
    {
        Kernel = Path.Combine(cache, "vmlinuz");
        Layers = fio ? [Path.Combine(cache, "base.cpio.gz"), Path.Combine(cache, "fio.cpio.gz")] : [Path.Combine(cache, "base.cpio.gz")];
    }

    /// <summary>The QEMU binary the guests run under.</summary>
    public const string Qemu = "qemu-system-x86_64";

    /// <summary>The kernel image (bzImage).</summary>
    public string Kernel { get; }

    /// <summary>The initramfs layers, in order (a test appends its own).</summary>
    public IReadOnlyList<string> Layers { get; }

    /// <summary>
    /// The cache directory: <c>ORION_GUEST_CACHE</c>, else <c>~/.cache/orion-guest</c> (<c>/tmp/orion-guest-UID</c>
    /// without a home).
    /// </summary>
    public static string CacheDirectory
    {
        get
        {
            string? dir = Environment.GetEnvironmentVariable("ORION_GUEST_CACHE");
            if (!string.IsNullOrEmpty(dir)) return dir;
            string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            return string.IsNullOrEmpty(home) ? $"/tmp/orion-guest-{Environment.UserName}" : Path.Combine(home, ".cache", "orion-guest");
        }
    }

    /// <summary>The artefacts (with the fio layer when <paramref name="fio"/>), or the calling test is skipped with the reason.</summary>
    public static GuestArtefacts Require(bool fio = false)
    {
        var (artefacts, reason) = (fio ? WithFio : Base).Value;
        if (artefacts is null) Assert.Ignore(reason!);
        return artefacts!;
    }

    private static (GuestArtefacts?, string?) Build(bool fio)
    {
        if (!OperatingSystem.IsLinux() || System.Runtime.InteropServices.RuntimeInformation.OSArchitecture != System.Runtime.InteropServices.Architecture.X64)
            return (null, "the guest tests boot an x86_64 Linux guest under QEMU; this host is not x86_64 Linux");
        if (FindOnPath(Qemu) is null)
            return (null, $"{Qemu} is not installed (apt-get install qemu-system-x86 busybox-static cpio); tests/run.sh installs it when run as root");
        string script = Path.Combine(AppContext.BaseDirectory, "guest", "build-initramfs.sh");
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(script);
        if (fio) psi.ArgumentList.Add("--fio");
        psi.ArgumentList.Add(CacheDirectory);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        // The first build downloads the kernel (27 MB) and packs the layers: a few seconds to a minute.
        if (!p.WaitForExit(300_000))
        {
            p.Kill(entireProcessTree: true);
            return (null, "build-initramfs.sh did not finish within 300 s (the kernel download stalled?)");
        }
        p.WaitForExit();
        string err = stderr.Result.Trim();
        if (p.ExitCode == 3) return (null, err);                  // a missing tool or package: a reason to skip
        if (p.ExitCode != 0) throw new InvalidOperationException($"build-initramfs.sh failed (exit {p.ExitCode}): {err}");
        return (new GuestArtefacts(stdout.Result.Trim(), fio), null);
    }

    /// <summary>The full path of <paramref name="program"/> on PATH, or null.</summary>
    public static string? FindOnPath(string program)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, program);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}
