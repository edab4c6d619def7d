using System.Globalization;

namespace Orion.Perf.Tests.Gate;

/// <summary>One canned run of a fake side: what its fio-shaped JSON reports.</summary>
internal sealed record FakeRun(double Iops, double P50Ns = 10_000, double Alloc = 0.1, double KicksPerIo = 0, long Ios = 1000, int Error = 0)
{
    public string Json()
    {
        var inv = CultureInfo.InvariantCulture;
        long kicks = (long)Math.Round(KicksPerIo * Ios);
        return "{\"fio version\":\"fake\",\"jobs\":[{\"jobname\":\"fake\",\"error\":" + Error.ToString(inv) +
               ",\"read\":{\"iops\":" + Iops.ToString("R", inv) + ",\"total_ios\":" + Ios.ToString(inv) +
               ",\"clat_ns\":{\"N\":" + Ios.ToString(inv) + ",\"percentile\":{\"50.000000\":" + P50Ns.ToString("R", inv) +
               ",\"99.000000\":" + (P50Ns * 2).ToString("R", inv) + ",\"99.900000\":" + (P50Ns * 3).ToString("R", inv) + "}}}," +
               "\"orion\":{\"cpu_ns_per_io\":1000.0,\"allocated_bytes_per_io\":" + Alloc.ToString("R", inv) +
               ",\"queues\":[{\"requests\":" + Ios.ToString(inv) + ",\"kicks\":" + kicks.ToString(inv) + ",\"sleeps\":0,\"syscalls\":" + kicks.ToString(inv) +
               ",\"polls\":" + (Ios * 3).ToString(inv) + "}]}}]}";
    }
}

/// <summary>
/// A fake side for <c>orion-perf gate</c>: a shell script that prints canned JSON, the next of its runs each time it
/// is called (cycling), or fails in a chosen way at a chosen call. Deterministic and fast (no engine, no timing).
/// </summary>
internal sealed class FakeSide
{
    private readonly string _dir;
    private readonly string _name;

    private FakeSide(string dir, string name) { _dir = dir; _name = name; }

    /// <summary>The command to give the gate.</summary>
    public string Command => $"sh '{Path.Combine(_dir, _name + ".sh")}'";

    /// <summary>How many times the side ran.</summary>
    public int Calls => File.Exists(Counter) ? int.Parse(File.ReadAllText(Counter).Trim(), CultureInfo.InvariantCulture) : 0;

    private string Counter => Path.Combine(_dir, _name + ".count");

    /// <summary>
    /// A side printing <paramref name="runs"/> in turn; from call <paramref name="failFromCall"/> (1-based) on it
    /// runs <paramref name="failure"/> instead (shell text: <c>exit 1</c>, <c>echo not json</c>, <c>sleep 30</c>).
    /// </summary>
    public static FakeSide Create(string dir, string name, IReadOnlyList<FakeRun> runs, int failFromCall = 0, string failure = "exit 1")
    {
        for (int i = 0; i < runs.Count; i++) File.WriteAllText(Path.Combine(dir, $"{name}.{i}.json"), runs[i].Json() + "\n");
        string script =
            "#!/bin/sh\n" +
            $"d='{dir}'\n" +
            $"n=$(cat \"$d/{name}.count\" 2>/dev/null || echo 0)\n" +
            "n=$((n + 1))\n" +
            $"echo $n > \"$d/{name}.count\"\n" +
            (failFromCall > 0 ? $"if [ $n -ge {failFromCall} ]; then echo 'fake side: failing as told' >&2; {failure}; fi\n" : "") +
            $"echo 'a banner line before the JSON'\n" +
            $"cat \"$d/{name}.$(( (n - 1) % {runs.Count} )).json\"\n";
        File.WriteAllText(Path.Combine(dir, name + ".sh"), script);
        return new FakeSide(dir, name);
    }
}
