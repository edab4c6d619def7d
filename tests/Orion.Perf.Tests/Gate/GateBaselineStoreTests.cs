using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orion.Perf.Tests.Gate;

/// <summary><c>--save NAME</c> and <c>--against NAME</c>: stored rounds with their machine, and the refusal of another machine's.</summary>
[NonParallelizable]
public class GateBaselineStoreTests
{
    private string _dir = "", _store = "";

    [SetUp]
    public void SetUp()
    {
        Directory.CreateDirectory(_dir = Path.Combine(Path.GetTempPath(), $"orion-gate-store-{Environment.ProcessId}-{Guid.NewGuid():N}"));
        _store = Path.Combine(_dir, "baselines");
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private FakeSide Steady(string name, double iops) =>
        FakeSide.Create(_dir, name, [new FakeRun(iops), new FakeRun(iops * 1.01), new FakeRun(iops * 0.99)]);

    private string Saved(string name = "main")
    {
        var (code, output, err) = GateCommandTests.Gate("--candidate", Steady("rec", 1000).Command, "--save", name, "--store", _store, "--rounds", "5");
        Assert.That(code, Is.Zero, output + err);
        Assert.That(output, Does.Contain($"saved 5 round(s) as '{name}'"));
        return Path.Combine(_store, name + ".gate.json");
    }

    [Test]
    [CancelAfter(60_000)]
    public void SaveStoresEveryRoundWithMachineAndBuild()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Saved()));
        var root = doc.RootElement;
        Assert.That(root.GetProperty("format").GetString(), Is.EqualTo("orion-perf-gate-baseline"));
        Assert.That(root.GetProperty("rounds").GetArrayLength(), Is.EqualTo(5));
        Assert.That(root.GetProperty("rounds")[0].GetProperty("values").GetProperty("read iops").GetDouble(), Is.GreaterThan(0));
        var machine = root.GetProperty("machine");
        Assert.That(machine.GetProperty("cores").GetInt32(), Is.EqualTo(Environment.ProcessorCount));
        Assert.That(machine.GetProperty("cpu_model").GetString(), Is.Not.Empty);
        Assert.That(machine.GetProperty("kernel").GetString(), Is.Not.Empty);
        Assert.That(root.GetProperty("build").TryGetProperty("git_commit", out _), Is.True);
        Assert.That(root.GetProperty("command").GetString(), Does.Contain("rec.sh"));
    }

    [Test]
    [CancelAfter(60_000)]
    public void AgainstJudgesTheCandidateOnTheStoredRounds()
    {
        Saved();
        var (same, output, err) = GateCommandTests.Gate("--candidate", Steady("same", 1000).Command, "--against", "main", "--store", _store, "--rounds", "5");
        Assert.That(same, Is.Zero, output + err);
        Assert.That(output, Does.Contain("baseline: stored 'main', 5 round(s)").And.Contain("unpaired"));
        var (slower, output2, _) = GateCommandTests.Gate("--candidate", Steady("slow", 800).Command, "--against", "main", "--store", _store, "--rounds", "5");
        Assert.That(slower, Is.EqualTo(3), output2);
    }

    [TestCase("cpu_model", "\"Fake CPU 9000\"", "cpu model 'Fake CPU 9000' (stored)")]
    [TestCase("cores", "977", "cores 977 (stored)")]
    [TestCase("kernel", "\"0.0.1-fake\"", "kernel '0.0.1-fake' (stored)")]
    [CancelAfter(60_000)]
    public void AgainstRefusesAnotherMachinesRoundsNamingTheDifference(string field, string value, string named)
    {
        string path = Saved();
        var node = JsonNode.Parse(File.ReadAllText(path))!;
        node["machine"]![field] = JsonNode.Parse(value);
        File.WriteAllText(path, node.ToJsonString());
        var candidate = Steady("cand", 1000);
        var (code, output, err) = GateCommandTests.Gate("--candidate", candidate.Command, "--against", "main", "--store", _store);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain("refusing to judge against rounds recorded on a different machine").And.Contain(named));
        Assert.That(candidate.Calls, Is.Zero, "nothing ran");
        Assert.That(output, Is.Empty);
    }

    [Test]
    public void AgainstAMissingOrBrokenBaselineIsBadInput()
    {
        var (missing, _, err) = GateCommandTests.Gate("--candidate", "true", "--against", "nightly", "--store", _store);
        Assert.That(missing, Is.EqualTo(2));
        Assert.That(err, Does.Contain("no stored baseline").And.Contain("--save nightly"));

        Directory.CreateDirectory(_store);
        File.WriteAllText(Path.Combine(_store, "broken.gate.json"), "{\"jobs\": []}");
        var (broken, _, err2) = GateCommandTests.Gate("--candidate", "true", "--against", "broken", "--store", _store);
        Assert.That(broken, Is.EqualTo(2));
        Assert.That(err2, Does.Contain("not a stored gate baseline"));
    }

    [Test]
    [CancelAfter(60_000)]
    public void ASaveOfAFailedRunStoresNothing()
    {
        var failing = FakeSide.Create(_dir, "bad", [new FakeRun(1000)], failFromCall: 2);
        var (code, _, err) = GateCommandTests.Gate("--candidate", failing.Command, "--save", "main", "--store", _store);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain("the candidate failed to run (round 1)"));
        Assert.That(File.Exists(Path.Combine(_store, "main.gate.json")), Is.False);
    }
}
