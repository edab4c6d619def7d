using System.Diagnostics;
using System.IO.Compression;

namespace Orion.Perf.Tests.Logs;

/// <summary>fio's own tools, as Debian installs them (package <c>fio</c>; gnuplot-nox and python3-pandas for some), run as child processes.</summary>
internal static class FioTool
{
    /// <summary>Debian's Python, which has the packages the tools import (a python3 earlier on PATH may not).</summary>
    public const string Python = "/usr/bin/python3";

    /// <summary>Where Debian puts fio's Python log parsers, gzipped.</summary>
    public const string DocDir = "/usr/share/doc/fio";

    /// <summary>Runs <paramref name="file"/> in <paramref name="cwd"/>, killed after a minute; returns its exit code and output.</summary>
    public static (int Code, string Out, string Err) Run(string file, IEnumerable<string> args, string cwd)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = cwd, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(60_000))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{file} {string.Join(' ', args)} did not finish in a minute");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>The program's full path on PATH (or as given when it is a path); skips the test when it is missing, naming what installs it.</summary>
    public static string Require(string program, string package)
    {
        if (Path.IsPathRooted(program))
        {
            if (File.Exists(program)) return program;
        }
        else
        {
            foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
                if (File.Exists(Path.Combine(dir, program))) return Path.Combine(dir, program);
        }
        Assert.Ignore($"{program} is not installed (apt-get install {package}; tests/run.sh installs it when run as root)");
        return "";
    }

    /// <summary>Skips the test unless Debian's Python can import <paramref name="modules"/>.</summary>
    public static void RequirePython(string modules, string package)
    {
        Require(Python, "python3");
        var (code, _, err) = Run(Python, ["-c", $"import {modules}"], Path.GetTempPath());
        if (code != 0) Assert.Ignore($"{Python} cannot import {modules} (apt-get install {package}; tests/run.sh installs it when run as root): {err.Trim()}");
    }

    /// <summary>One of fio's gzipped doc scripts, unpacked into <paramref name="dir"/>; skips the test when fio's docs are missing.</summary>
    public static string Script(string name, string dir)
    {
        string gz = Require(Path.Combine(DocDir, name + ".gz"), "fio");
        string path = Path.Combine(dir, name);
        using (var input = new GZipStream(File.OpenRead(gz), CompressionMode.Decompress))
        using (var output = File.Create(path))
            input.CopyTo(output);
        return path;
    }
}
