using Orion.Pmd.Storage.Tests.Support;

namespace Orion.Pmd.Storage.Tests.Crash;

/// <summary>
/// Crash tests: a child process (tools/Orion.Storage.CrashWorker) appends records from four tasks and rewrites
/// pages from two, printing each only once it is durable; it is SIGKILLed at seeded random points (sometimes before
/// it finished its own recovery), and — with vhost-user — so is the orion-vhost back-end, alone, first or after it.
/// After every crash, recovery must find every acknowledged record with its content in order, every page at or
/// after its acknowledged version, and never a torn or corrupted record or page. Then the next round runs on the
/// same image, so later rounds recover what earlier rounds and crashes left.
/// </summary>
[NonParallelizable]
public class CrashTests
{
    private static readonly string WorkerDll = ChildProcess.ToolDll("Orion.Storage.CrashWorker", "Orion.Storage.CrashWorker.dll");
    private static readonly TimeSpan Ready = TimeSpan.FromSeconds(60);
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("orion-storage-crash-").FullName;

    [TearDown]
    public void TearDown()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private static ChildProcess StartWorker(string device, int round)
        => new(WorkerDll, "--device", device, "--round", round.ToString(System.Globalization.CultureInfo.InvariantCulture), "--seconds", "60");

    [Test]
    public async Task FileDeviceRecoversEverythingAcknowledgedAfterSigkill()
    {
        string image = Path.Combine(_dir, "disk.img");
        var rnd = new Random(7001);
        var ledger = new CrashLedger();
        for (int round = 0; round < 12; round++)
        {
            bool early = round > 0 && rnd.Next(4) == 0;           // sometimes during the worker's own recovery
            using (var worker = StartWorker($"file:{image},size=32M", round))
            {
                if (early) Thread.Sleep(rnd.Next(50, 600));
                else
                {
                    worker.WaitForLine("ready", Ready);
                    Thread.Sleep(rnd.Next(100, 1000));
                }
                worker.Kill();
                ledger.Absorb(worker.Lines);
            }
            using var engine = Engines.Start($"file:{image}");
            string summary = await ledger.VerifyAsync(engine, $"round {round}{(early ? " (killed early)" : "")}");
            TestContext.Out.WriteLine($"round {round}: {summary}");
        }
        Assert.That(ledger.Records, Is.Not.Empty, "the workers acknowledged records");
        Assert.That(ledger.Pages, Is.Not.Empty, "the workers acknowledged pages");
    }

    [Test]
    public async Task VhostUserRecoversEverythingAcknowledgedWhenWorkerAndBackEndAreKilled()
    {
        string image = Path.Combine(_dir, "disk.img");
        using var backEnd = new OrionVhostBackEnd($"file:{image},size=32M");
        var rnd = new Random(7002);
        var ledger = new CrashLedger();
        for (int round = 0; round < 8; round++)
        {
            int mode = rnd.Next(3);
            string how = mode switch { 0 => "worker killed", 1 => "back-end killed, then worker", _ => "worker killed, then back-end" };
            using (var worker = StartWorker(backEnd.DeviceString, round))
            {
                worker.WaitForLine("ready", Ready);
                Thread.Sleep(rnd.Next(100, 1000));
                if (mode == 1)
                {
                    backEnd.Kill();
                    Thread.Sleep(rnd.Next(0, 100));
                }
                worker.Kill();
                if (mode == 2) backEnd.Kill();
                ledger.Absorb(worker.Lines);
            }
            if (mode != 0) backEnd.Restart();
            using var engine = Engines.Start(backEnd.DeviceString);
            string summary = await ledger.VerifyAsync(engine, $"round {round} ({how})");
            TestContext.Out.WriteLine($"round {round} ({how}): {summary}");
        }
        Assert.That(ledger.Records, Is.Not.Empty);
        Assert.That(ledger.Pages, Is.Not.Empty);
    }
}
