using System.Text.Json;
using Microsoft.Extensions.Logging;
using Orion.Perf;
using Orion.Perf.Audit;
using Orion.Pmd.Engine.Audit;

namespace Orion.Perf.Tests.Audit;

/// <summary>--audit_log: the engine's audit events as JSON lines in a file, and the sink behind it.</summary>
[NonParallelizable]
public class AuditLogTests
{
    private string _dir = "";

    [SetUp]
    public void MakeDirectory()
    {
        _dir = Path.Combine(Path.GetTempPath(), $"orion-audit-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_dir, recursive: true);

    [Test]
    [CancelAfter(60_000)]
    public void ARunWritesAttachNegotiationAndDetachAsJsonLines()
    {
        string path = Path.Combine(_dir, "audit.jsonl");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = PerfCommand.Run(["--rw=randread", "--number_ios=20", "--device=mem:8M", $"--audit_log={path}"], stdout, stderr);
        Assert.That(code, Is.Zero, stderr.ToString());

        var lines = File.ReadAllLines(path);
        var events = lines.Select(l => JsonDocument.Parse(l).RootElement).ToList();     // every line is one JSON object
        var names = events.Select(e => e.GetProperty("event_name").GetString()).ToList();
        Assert.That(names, Does.Contain(nameof(EngineAuditEvents.DeviceAttached)));
        Assert.That(names, Does.Contain(nameof(EngineAuditEvents.FeaturesNegotiated)));
        Assert.That(names, Does.Contain(nameof(EngineAuditEvents.DeviceDetached)));
        Assert.That(names.IndexOf(nameof(EngineAuditEvents.DeviceAttached)), Is.LessThan(names.IndexOf(nameof(EngineAuditEvents.DeviceDetached))));
        foreach (var e in events)
        {
            Assert.That(e.GetProperty("category").GetString(), Is.EqualTo(EngineAudit.CategoryName));
            Assert.That(DateTime.TryParse(e.GetProperty("time").GetString(), out _), Is.True);
            Assert.That(e.GetProperty("level").GetString(), Is.Not.Empty);
            Assert.That(e.GetProperty("message").GetString(), Is.Not.Empty);
            Assert.That(e.GetProperty("state").ValueKind, Is.EqualTo(JsonValueKind.Object));
        }
        var attached = events.Single(e => e.GetProperty("event_id").GetInt32() == EngineAuditEvents.DeviceAttached).GetProperty("state");
        Assert.That(attached.GetProperty("Queues").GetInt32(), Is.EqualTo(1), "numbers stay numbers");
        Assert.That(attached.GetProperty("BlockSize").GetInt32(), Is.EqualTo(512));
    }

    [Test]
    [CancelAfter(60_000)]
    public void QueueResetsOfARecoveringDeviceAreAudited()
    {
        string path = Path.Combine(_dir, "audit.jsonl");
        var stderr = new StringWriter();
        // Every 100th completion comes back with an out-of-range id: the engine resets the queue and carries on.
        int code = PerfCommand.Run(["--rw=randread", "--number_ios=500", "--iodepth=4", "--device=mem:8M,fault=garbage=id-range:every=100",
                                    $"--audit_log={path}", "--continue_on_error=io"], new StringWriter(), stderr);
        Assert.That(code, Is.Zero, stderr.ToString());
        var resets = File.ReadAllLines(path).Select(l => JsonDocument.Parse(l).RootElement)
                         .Where(e => e.GetProperty("event_id").GetInt32() == EngineAuditEvents.QueueReset).ToList();
        Assert.That(resets, Is.Not.Empty);
        Assert.That(resets[0].GetProperty("state").GetProperty("Queue").GetInt32(), Is.Zero);
    }

    [Test]
    public void TheSinkWritesOneObjectPerEventWithItsStructuredState()
    {
        var text = new StringWriter();
        using (var log = new JsonLinesLog(text, ownsWriter: false))
        {
            var logger = log.CreateLogger("test.category");
            logger.Log(LogLevel.Warning, new EventId(7, "SomethingHappened"), new List<KeyValuePair<string, object?>>
            {
                new("Queue", 3), new("Big", 5_000_000_000L), new("Ok", true), new("Kind", DayOfWeek.Friday), new("Who", "it \"quoted\""),
                new("{OriginalFormat}", "queue {Queue}"),
            }, new InvalidOperationException("boom"), (_, _) => "queue 3");
            Assert.That(log.Written, Is.EqualTo(1));
        }
        var lines = text.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1));
        var e = JsonDocument.Parse(lines[0]).RootElement;
        Assert.That(e.GetProperty("level").GetString(), Is.EqualTo("Warning"));
        Assert.That(e.GetProperty("category").GetString(), Is.EqualTo("test.category"));
        Assert.That(e.GetProperty("event_id").GetInt32(), Is.EqualTo(7));
        Assert.That(e.GetProperty("event_name").GetString(), Is.EqualTo("SomethingHappened"));
        Assert.That(e.GetProperty("message").GetString(), Is.EqualTo("queue 3"));
        var state = e.GetProperty("state");
        Assert.That(state.GetProperty("Queue").GetInt32(), Is.EqualTo(3));
        Assert.That(state.GetProperty("Big").GetInt64(), Is.EqualTo(5_000_000_000L));
        Assert.That(state.GetProperty("Ok").GetBoolean(), Is.True);
        Assert.That(state.GetProperty("Kind").GetString(), Is.EqualTo("Friday"));
        Assert.That(state.GetProperty("Who").GetString(), Is.EqualTo("it \"quoted\""));
        Assert.That(state.TryGetProperty("{OriginalFormat}", out _), Is.False);
        Assert.That(e.GetProperty("exception").GetString(), Does.Contain("boom"));
    }

    [Test]
    public void EventsAfterDisposeAreDroppedAndNoneIsTheOnlyLevelOff()
    {
        var text = new StringWriter();
        var log = new JsonLinesLog(text, ownsWriter: false);
        var logger = log.CreateLogger("c");
        Assert.That(logger.IsEnabled(LogLevel.Trace), Is.True);
        Assert.That(logger.IsEnabled(LogLevel.None), Is.False);
        log.Dispose();
        logger.LogInformation("after");
        Assert.That(text.ToString(), Is.Empty);
        Assert.That(() => log.AddProvider(log), Throws.TypeOf<NotSupportedException>());
    }
}
