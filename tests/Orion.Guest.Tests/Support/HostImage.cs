using System.Diagnostics;
using System.Security.Cryptography;

namespace Orion.Guest.Tests.Support;

/// <summary>Checks of a disk image on the host after a guest used it: e2fsprogs' verdict and a file's bytes.</summary>
internal static class HostImage
{
    /// <summary>Runs <paramref name="program"/> with <paramref name="args"/> (bounded to 60 s); returns its exit code and output.</summary>
    public static (int ExitCode, string Output) Run(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(60_000))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{program} {string.Join(' ', args)} did not finish within 60 s");
        }
        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>Asserts <c>e2fsck -fn</c> finds the ext4 file system in <paramref name="image"/> clean.</summary>
    public static void AssertCleanExt4(string image)
    {
        var (rc, output) = Run("e2fsck", "-fn", image);
        Assert.That(rc, Is.Zero, $"e2fsck -fn on the host: {output}");
    }

    /// <summary>The MD5 (lower-case hex) of the file <paramref name="pathInFs"/> inside the ext4 image, read by debugfs.</summary>
    public static string Md5OfFileInExt4(string image, string pathInFs)
    {
        string dump = Path.Combine(Path.GetDirectoryName(image)!, "dump.bin");
        var (rc, output) = Run("debugfs", "-R", $"dump {pathInFs} {dump}", image);
        Assert.That(File.Exists(dump), Is.True, $"debugfs could not dump {pathInFs} (exit {rc}): {output}");
        using var f = File.OpenRead(dump);
        string md5 = Convert.ToHexStringLower(MD5.HashData(f));
        f.Close();
        File.Delete(dump);
        return md5;
    }
}
