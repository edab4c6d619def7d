using System.Diagnostics;
using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;

namespace Orion.Perf.Tests.Cli;

/// <summary>
/// The Orion.Pmd meter as an operator sees it: a running orion-perf process is read from this (another) process over
/// EventPipe with the provider and arguments <c>dotnet-counters monitor --counters Orion.Pmd -p PID</c> uses.
/// </summary>
[NonParallelizable]
public class MeterFromAnotherProcessTests
{
    private const string MetricsProvider = "System.Diagnostics.Metrics";

    [Test]
    [CancelAfter(120_000)]
    public void ARunningOrionPerfPublishesTheOrionPmdMeterToAnotherProcess()
    {
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "orion-perf.dll"), "--rw=randread", "--bs=4k", "--iodepth=4",
                                  "--runtime=60", "--time_based", "--device=null:64M", "--output-format=json" })
            psi.ArgumentList.Add(a);
        using var perf = Process.Start(psi)!;
        var perfOutput = perf.StandardOutput.ReadToEndAsync();
        var perfErrors = perf.StandardError.ReadToEndAsync();
        try
        {
            // The runtime opens its diagnostics socket at start-up; wait (bounded) until it is there.
            var ready = Stopwatch.StartNew();
            while (!DiagnosticsClient.GetPublishedProcesses().Contains(perf.Id))
            {
                Assert.That(perf.HasExited, Is.False, () => $"orion-perf exited early: {perfErrors.Result}");
                Assert.That(ready.Elapsed, Is.LessThan(TimeSpan.FromSeconds(30)), "orion-perf's diagnostics socket did not appear");
                Thread.Sleep(50);
            }
            var client = new DiagnosticsClient(perf.Id);
            var provider = new EventPipeProvider(MetricsProvider, EventLevel.Informational, keywords: 0x2 | 0x4, // time series values, instrument publishing
                new Dictionary<string, string>
                {
                    ["SessionId"] = Guid.NewGuid().ToString(),
                    ["Metrics"] = "Orion.Pmd",
                    ["RefreshInterval"] = "1",
                    ["MaxTimeSeries"] = "1000",
                    ["MaxHistograms"] = "10",
                });
            var seen = new Dictionary<string, double>(StringComparer.Ordinal);
            using var session = client.StartEventPipeSession([provider], requestRundown: false);
            using var done = new ManualResetEventSlim();
            var reader = new Thread(() =>
            {
                using var source = new EventPipeEventSource(session.EventStream);
                source.Dynamic.All += e =>
                {
                    if (e.ProviderName != MetricsProvider || e.PayloadByName("meterName") as string != "Orion.Pmd") return;
                    string? instrument = e.PayloadByName("instrumentName") as string;
                    object? value = e.EventName switch
                    {
                        "CounterRateValuePublished" or "UpDownCounterRateValuePublished" => e.PayloadByName("value"),
                        "GaugeValuePublished" => e.PayloadByName("lastValue"),
                        _ => null,
                    };
                    if (instrument is null || value is not string text || !double.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out double v)) return;
                    lock (seen) seen[instrument] = Math.Max(v, seen.GetValueOrDefault(instrument));
                    if (instrument == "orion.pmd.io.requests" && v > 0) done.Set();
                };
                try { source.Process(); } catch (Exception) when (done.IsSet) { }
            }) { IsBackground = true };
            reader.Start();
            bool gotIo = done.Wait(TimeSpan.FromSeconds(45));
            session.Stop();
            reader.Join(TimeSpan.FromSeconds(10));
            lock (seen)
            {
                Assert.That(gotIo, Is.True, $"no positive orion.pmd.io.requests within 45 s; instruments seen: {string.Join(", ", seen.Keys)}");
                Assert.That(seen.Keys, Does.Contain("orion.pmd.io.in_flight").And.Contain("orion.pmd.buffer_pool.used"));
            }
        }
        finally
        {
            if (!perf.HasExited) perf.Kill();
            perf.WaitForExit(10_000);
        }
    }
}
