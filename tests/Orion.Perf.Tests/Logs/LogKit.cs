using System.Text.Json;

namespace Orion.Perf.Tests.Logs;

/// <summary>What the log tests share: a temporary directory per test, an orion-perf run that returns its JSON jobs, and log files read as fields.</summary>
public abstract class LogKit
{
    /// <summary>The test's own directory, removed after it.</summary>
    protected string Dir { get; private set; } = "";

    [SetUp]
    public void MakeDirectory()
    {
        Dir = Path.Combine(Path.GetTempPath(), $"orion-fiolog-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Dir);
    }

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(Dir, recursive: true);

    /// <summary>A path in <see cref="Dir"/>.</summary>
    protected string At(string name) => Path.Combine(Dir, name);

    /// <summary>Runs orion-perf in this process with JSON output; asserts it succeeded and returns <c>jobs</c>.</summary>
    protected static JsonElement Jobs(params string[] args) => Cli.CliKit.Jobs(args);

    /// <summary>A direction's <c>total_ios</c>.</summary>
    protected static long Ios(JsonElement job, string direction) => Cli.CliKit.Ios(job, direction);

    /// <summary>A log's lines, each as its ", "-separated fields.</summary>
    protected static List<string[]> Fields(string path) =>
        File.ReadAllLines(path).Where(l => l.Length > 0).Select(l => l.Split(", ")).ToList();
}
