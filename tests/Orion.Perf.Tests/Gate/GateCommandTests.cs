using System.Text.Json;
using System.Xml.Linq;
using Orion.Perf;

namespace Orion.Perf.Tests.Gate;

/// <summary>
/// <c>orion-perf gate</c> end to end with fake sides (shell scripts printing canned JSON): every verdict, the stopping
/// rule, the exit codes, the output formats, and that a side which failed to run never lets the gate pass.
/// </summary>
[NonParallelizable]
public class GateCommandTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => Directory.CreateDirectory(_dir = Path.Combine(Path.GetTempPath(), $"orion-gate-{Environment.ProcessId}-{Guid.NewGuid():N}"));

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    internal static (int Code, string Out, string Err) Gate(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = PerfCommand.Run(["gate", .. args], stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private FakeSide Side(string name, params FakeRun[] runs) => FakeSide.Create(_dir, name, runs);

    private FakeSide Steady(string name, double iops = 1000, double alloc = 0.1, double kicks = 0) =>
        Side(name, new FakeRun(iops, Alloc: alloc, KicksPerIo: kicks), new FakeRun(iops * 1.01, Alloc: alloc, KicksPerIo: kicks),
             new FakeRun(iops * 0.99, Alloc: alloc, KicksPerIo: kicks));

    private static string Row(string output, string metric) =>
        output.Split('\n').Single(l => l.StartsWith(metric + " ", StringComparison.Ordinal));

    [Test]
    [CancelAfter(60_000)]
    public void SameNumbersPassWithExitZero()
    {
        var (code, output, err) = Gate("--baseline", Steady("base").Command, "--candidate", Steady("cand").Command, "--rounds", "5");
        Assert.That(code, Is.Zero, output + err);
        Assert.That(Row(output, "read iops"), Does.EndWith("pass"));
        Assert.That(Row(output, "alloc"), Does.EndWith("pass"));
        Assert.That(Row(output, "read p99"), Does.Contain("not judged: too few samples"), "1,000 samples per run cannot judge a p99");
        Assert.That(output, Does.Contain("PASS:").And.Contain("smallest change this run could have detected").And.Contain("seed 1"));
    }

    [Test]
    [CancelAfter(60_000)]
    public void ATwentyPercentDropRegressesWithExitThree()
    {
        var (code, output, err) = Gate("--baseline", Steady("base").Command, "--candidate", Steady("cand", iops: 800).Command, "--rounds", "5");
        Assert.That(code, Is.EqualTo(3), output + err);
        Assert.That(Row(output, "read iops"), Does.EndWith("REGRESSED"));
        Assert.That(Row(output, "read p50"), Does.EndWith("pass"));
        Assert.That(output, Does.Contain("REGRESSED: 1 metric(s) regressed beyond tolerance: read iops"));
    }

    [Test]
    [CancelAfter(60_000)]
    public void NoiseAcrossTheToleranceIsUndecidedWithExitFour()
    {
        // Rounds alternate between no change and a 20 % drop: the interval spans the 5 % tolerance.
        var candidate = Side("cand", new FakeRun(1000), new FakeRun(800));
        var (code, output, err) = Gate("--baseline", Steady("base").Command, "--candidate", candidate.Command, "--rounds", "5");
        Assert.That(code, Is.EqualTo(4), output + err);
        Assert.That(Row(output, "read iops"), Does.EndWith("undecided"));
        Assert.That(output, Does.Contain("UNDECIDED: no regression proven, but read iops undecided"));
    }

    [Test]
    [CancelAfter(60_000)]
    public void OneExtraAllocationPerIoIsCaughtAndNamed()
    {
        var (code, output, err) = Gate("--baseline", Steady("base").Command, "--candidate", Steady("cand", alloc: 24.1).Command, "--rounds", "5");
        Assert.That(code, Is.EqualTo(3), output + err);
        Assert.That(Row(output, "alloc"), Does.Contain("+24 B/io").And.EndWith("REGRESSED"));
        Assert.That(Row(output, "read iops"), Does.EndWith("pass"));
    }

    [Test]
    [CancelAfter(60_000)]
    public void OneExtraKickPerBatchOfEightIsCaught()
    {
        var (code, output, err) = Gate("--baseline", Steady("base").Command, "--candidate", Steady("cand", kicks: 0.125).Command, "--rounds", "5");
        Assert.That(code, Is.EqualTo(3), output + err);
        Assert.That(Row(output, "kicks"), Does.EndWith("REGRESSED"));
        Assert.That(Row(output, "syscalls"), Does.EndWith("REGRESSED"));
    }

    [Test]
    [CancelAfter(60_000)]
    public void ADecidedGateStopsAtItsFirstVerdict()
    {
        var candidate = Steady("cand", iops: 800);
        var (code, output, _) = Gate("--baseline", Steady("base").Command, "--candidate", candidate.Command, "--rounds", "5", "--max-rounds", "20");
        Assert.That(code, Is.EqualTo(3));
        Assert.That(output, Does.Contain("decided after 5 round(s)").And.Contain("round 5").And.Not.Contain("round 6"));
        Assert.That(candidate.Calls, Is.EqualTo(1 + 5), "one warm-up and five rounds");
    }

    [Test]
    [CancelAfter(60_000)]
    public void AnUndecidedGateAddsRoundsUntilDecided()
    {
        // No change at first, then a steady 20 % drop: five rounds cannot tell, more rounds can.
        var runs = new[] { 1000.0, 1000, 810 }.Concat(Enumerable.Repeat(800.0, 30)).Select(i => new FakeRun(i)).ToArray();
        var candidate = Side("cand", runs);
        var (code, output, err) = Gate("--baseline", Steady("base").Command, "--candidate", candidate.Command, "--rounds", "5", "--max-rounds", "30");
        Assert.That(code, Is.EqualTo(3), output + err);
        int rounds = candidate.Calls - 1;
        Assert.That(rounds, Is.InRange(6, 29), output);
        Assert.That(output, Does.Contain($"decided after {rounds} round(s)"));
    }

    [Test]
    [CancelAfter(60_000)]
    public void AnUndecidedGateStopsAtMaxRoundsWithExitFour()
    {
        var candidate = Side("cand", new FakeRun(1000), new FakeRun(800));
        var (code, output, _) = Gate("--baseline", Steady("base").Command, "--candidate", candidate.Command, "--rounds", "5", "--max-rounds", "8");
        Assert.That(code, Is.EqualTo(4));
        Assert.That(output, Does.Contain("8 round(s), the most allowed").And.Contain("round 8").And.Not.Contain("round 9"));
        Assert.That(candidate.Calls, Is.EqualTo(9));
    }

    [Test]
    [CancelAfter(60_000)]
    public void AnUndecidedGateStopsWhenTheBudgetWouldRunOut()
    {
        var candidate = Side("cand", new FakeRun(1000), new FakeRun(800));
        var (code, output, _) = Gate("--baseline", Steady("base").Command, "--candidate", candidate.Command, "--rounds", "5", "--budget", "400ms");
        Assert.That(code, Is.EqualTo(4));
        Assert.That(output, Does.Contain("the budget of 0.4 s would run out"));
        Assert.That(candidate.Calls - 1, Is.LessThan(50), "the budget, not --max-rounds' default of 50, ended it");
    }

    [Test]
    [CancelAfter(60_000)]
    public void RoundsRunInRandomisedInterleavedOrderFromTheSeed()
    {
        var (_, output, _) = Gate("--baseline", Steady("base").Command, "--candidate", Steady("cand").Command, "--rounds", "8", "--seed", "7");
        Assert.That(output, Does.Contain("(baseline first)").And.Contain("(candidate first)"));
        var (_, again, _) = Gate("--baseline", Steady("b2").Command, "--candidate", Steady("c2").Command, "--rounds", "8", "--seed", "7");
        static string Orders(string o) => string.Join(",", o.Split('\n').Where(l => l.StartsWith("round ", StringComparison.Ordinal)).Select(l => l.Contains("(baseline first)")));
        Assert.That(Orders(again), Is.EqualTo(Orders(output)), "the same seed gives the same order");
    }

    [TestCase("exit 1", "exited with status 1; its standard error ends: fake side: failing as told")]
    [TestCase("echo not json; exit 0", "printed no JSON")]
    [TestCase("echo '{\"jobs\": []}'; exit 0", "its output: not an orion-perf/fio JSON report")]
    [CancelAfter(60_000)]
    public void ACandidateThatFailsInAnyRoundNeverPasses(string failure, string reason)
    {
        var candidate = FakeSide.Create(_dir, "cand", [new FakeRun(1000)], failFromCall: 3, failure: failure);
        string junit = Path.Combine(_dir, "gate.xml");
        var (code, output, err) = Gate("--baseline", Steady("base").Command, "--candidate", candidate.Command, "--rounds", "5", "--junit", junit);
        Assert.That(code, Is.EqualTo(2), output + err);
        Assert.That(err, Does.Contain("the candidate failed to run (round 2): " + reason));
        Assert.That(output, Does.Contain("FAILED").And.Not.Contain("PASS"));
        var error = XDocument.Load(junit).Descendants("testcase").Single(t => (string?)t.Attribute("name") == "run").Element("error");
        Assert.That((string?)error?.Attribute("message"), Does.Contain(reason));
    }

    [Test]
    [CancelAfter(60_000)]
    public void ASideReportingFailedIosFails()
    {
        var baseline = Side("base", new FakeRun(1000, Error: 5));
        var (code, _, err) = Gate("--baseline", baseline.Command, "--candidate", Steady("cand").Command);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain("the baseline failed to run (warm-up 1): job 'fake' ended with error 5"));
    }

    [Test]
    [CancelAfter(60_000)]
    public void ASideThatHangsIsKilledAtTheTimeout()
    {
        var candidate = FakeSide.Create(_dir, "cand", [new FakeRun(1000)], failFromCall: 1, failure: "sleep 30");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (code, _, err) = Gate("--baseline", Steady("base").Command, "--candidate", candidate.Command, "--timeout", "1");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain("did not finish within 1 s (killed)"));
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(20)));
    }

    [TestCase(new string[0], "--candidate CMD is required")]
    [TestCase(new[] { "--candidate", "true", "--rounds", "0" }, "--rounds '0'")]
    [TestCase(new[] { "--candidate", "true", "--baseline", "true", "--rounds", "5", "--max-rounds", "3" }, "--max-rounds 3 is below --rounds 5")]
    [TestCase(new[] { "--candidate", "true" }, "nothing to judge against")]
    [TestCase(new[] { "--candidate", "true", "--baseline", "true", "--against", "main" }, "not both")]
    [TestCase(new[] { "--candidate", "true", "--baseline", "true", "--tolerance", "alloc=5%" }, "alloc is counted")]
    [TestCase(new[] { "--candidate", "true", "--baseline", "true", "--tolerance", "iops=100" }, "drop allowed")]
    [TestCase(new[] { "--candidate", "true", "--baseline", "true", "--tolerance", "p42=3" }, "NAME one of iops, p50")]
    [TestCase(new[] { "--candidate", "true", "--baseline", "true", "--metrics", "iops,speed" }, "--metrics 'speed'")]
    [TestCase(new[] { "--candidate", "true", "--save", "../main" }, "--save '../main'")]
    [TestCase(new[] { "--candidate", "true", "--save", "main", "--junit", "x.xml" }, "need --baseline or --against")]
    [TestCase(new[] { "--candidate", "true", "--baseline", "true", "--confidence", "101" }, "--confidence '101'")]
    [TestCase(new[] { "--candidate", "true", "--baseline", "true", "--rounds", "3" }, "a verdict needs at least 5 rounds per side")]
    [TestCase(new[] { "--candidate", "true", "--baseline", "true", "--budget", "soon" }, "--budget 'soon'")]
    [TestCase(new[] { "--candidate", "true", "--baseline", "true", "--warp", "9" }, "unknown option '--warp'")]
    [TestCase(new[] { "--candidate", "true", "--baseline", "true", "stray" }, "unexpected argument 'stray'")]
    public void BadInputExitsTwoBeforeRunningAnything(string[] args, string fragment)
    {
        var (code, output, err) = Gate(args);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain(fragment));
        Assert.That(output, Does.Not.Contain("round 1"));
    }

    [Test]
    [CancelAfter(60_000)]
    public void ReportsComeAsJUnitMarkdownAndJson()
    {
        string junit = Path.Combine(_dir, "gate.xml"), md = Path.Combine(_dir, "gate.md"), json = Path.Combine(_dir, "gate.json");
        var (code, _, _) = Gate("--baseline", Steady("base").Command, "--candidate", Steady("cand", iops: 800, alloc: 24.1).Command,
                                "--rounds", "5", "--junit", junit, "--markdown", md, "--json", json);
        Assert.That(code, Is.EqualTo(3));

        using var verdict = JsonDocument.Parse(File.ReadAllText(json));
        var root = verdict.RootElement;
        Assert.That(root.GetProperty("verdict").GetString(), Is.EqualTo("regressed"));
        Assert.That(root.GetProperty("exit_code").GetInt32(), Is.EqualTo(3));
        Assert.That(root.GetProperty("seed").GetUInt64(), Is.EqualTo(1UL));
        Assert.That(root.GetProperty("paired").GetBoolean(), Is.True);
        var metrics = root.GetProperty("metrics").EnumerateArray().ToList();
        var names = metrics.Select(m => m.GetProperty("name").GetString()).ToList();
        Assert.That(names, Is.EquivalentTo(new[] { "read iops", "read p50", "read p99", "read p99.9", "cpu", "alloc", "kicks", "syscalls" }));
        var alloc = metrics.Single(m => m.GetProperty("name").GetString() == "alloc");
        Assert.That(alloc.GetProperty("verdict").GetString(), Is.EqualTo("regressed"));
        Assert.That(alloc.GetProperty("kind").GetString(), Is.EqualTo("counted"));
        Assert.That(alloc.GetProperty("samples").GetProperty("candidate").GetArrayLength(), Is.EqualTo(5), "every round's sample");

        var doc = XDocument.Load(junit);      // well-formed, or this throws
        var suite = doc.Root!.Element("testsuite")!;
        var cases = suite.Elements("testcase").ToList();
        Assert.That(cases.Select(c => (string?)c.Attribute("name")), Is.EquivalentTo(names), "one test case per metric");
        Assert.That((int)suite.Attribute("tests")!, Is.EqualTo(names.Count));
        Assert.That((int)suite.Attribute("failures")!, Is.EqualTo(2));
        Assert.That((int)suite.Attribute("skipped")!, Is.EqualTo(2));
        Assert.That((string?)cases.Single(c => (string?)c.Attribute("name") == "read iops").Element("failure")?.Attribute("type"), Is.EqualTo("regressed"));
        Assert.That(cases.Single(c => (string?)c.Attribute("name") == "read p99").Element("skipped"), Is.Not.Null);
        Assert.That(cases.Single(c => (string?)c.Attribute("name") == "read p50").Element("failure"), Is.Null);

        string markdown = File.ReadAllText(md);
        Assert.That(markdown, Does.StartWith("### orion-perf gate: REGRESSED"));
        Assert.That(markdown, Does.Contain("| metric | baseline | candidate | change | 95% interval | tolerance | detectable | verdict |"));
        Assert.That(markdown, Does.Contain("| alloc |").And.Contain("**REGRESSED**"));
    }
}
