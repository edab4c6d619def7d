using Orion.Perf.Options;
using Orion.Perf.Workload;
using Orion.Pmd.Engine;

namespace Orion.Perf.Tests.Workload;

/// <summary>
/// The workload's per-I/O path allocates nothing, with every feature on: slat/clat/lat recording, placement tracking,
/// a Poisson rate schedule and crc32c verification. Manual threading runs the reactor (queue pair and workload) and
/// the device on the test thread, so <see cref="GC.GetAllocatedBytesForCurrentThread"/> sees all of it.
/// </summary>
[NonParallelizable]
public class WorkloadAllocationTests
{
    [TestCase("--rw=randrw")]
    [TestCase("--rw=randrw", "--verify=crc32c")]
    [TestCase("--rw=randrw", "--rate_iops=100000000", "--rate_process=poisson")]
    [TestCase("--rw=randrw", "--bssplit=4k/50:16k/50", "--verify=crc32c", "--rate_iops=100000000")]
    [CancelAfter(120_000)]
    public void SteadyStateAllocatesNothingPerIo(params string[] args) => Measure(args, intervals: false);

    /// <summary>
    /// With interval histograms (--write_hdr_log, --report): recording, cutting intervals on the reactor and the main
    /// thread's taking and freeing of slots (done here on the same thread, every 64 polls) allocate nothing either.
    /// </summary>
    [Test]
    [CancelAfter(120_000)]
    public void IntervalHistogramsAllocateNothingPerIo() => Measure(["--rw=randrw", "--write_hdr_log=unused", "--log_hist_msec=10"], intervals: true);

    /// <summary>
    /// With fio's logs: every completion into the clone's log ring on the reactor, and the writer's draining of it into
    /// the lat, bw, iops and histogram files (done here on the same thread, every 64 polls) allocate nothing either.
    /// </summary>
    [TestCase("0")]
    [TestCase("10")]
    [CancelAfter(120_000)]
    public void FioLogsAllocateNothingPerIo(string avgMsec)
    {
        string dir = Path.Combine(Path.GetTempPath(), $"orion-alloc-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            string p = Path.Combine(dir, "a");
            Measure(["--rw=randrw", $"--write_lat_log={p}", $"--write_bw_log={p}", $"--write_iops_log={p}", $"--write_hist_log={p}", "--log_hist_msec=10",
                     "--log_offset=1", $"--log_avg_msec={avgMsec}"], intervals: false, fioLogs: true);
            Assert.That(new FileInfo(p + "_clat.1.log").Length, Is.GreaterThan(0), "the logs were really written");
            Assert.That(new FileInfo(p + "_clat_hist.1.log").Length, Is.GreaterThan(0));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void Measure(string[] args, bool intervals, bool fioLogs = false)
    {
        var outcome = JobOptionsParser.Parse([.. args, "--iodepth=16", "--runtime=1h", "--time_based", "--size=4M", "--device=mem:16M"]);
        Assert.That(outcome.IsSuccess, Is.True, outcome.Message);
        var options = outcome.Options!;
        using var engine = PmdEngine.Start(JobExecution.EngineOptionsFor(options) with
        {
            Threading = EngineThreading.Manual,
            BufferMemoryBytes = 16L << 20,
            DrainTimeout = TimeSpan.FromSeconds(1),
        });
        var device = engine.Device;
        var plan = JobExecution.PlanFor(options, device);
        var buffers = Enumerable.Range(0, plan.IoDepth).Select(_ => device.Rent(plan.BlockBytes)).ToArray();
        try
        {
            var recorder = intervals
                ? new IntervalRecorder(new IntervalClock(options.IntervalMs * System.Diagnostics.Stopwatch.Frequency / 1000), JobRunner.DirectionsOf(plan), 3)
                : null;
            using var files = fioLogs ? new Orion.Perf.Logs.FioLogFiles() : null;
            var ring = fioLogs ? new IoLogRing(IoLogRing.CapacityFor(plan.IoDepth)) : null;
            var writer = fioLogs ? new Orion.Perf.Logs.FioLogWriter(options, 1, files!, plan.BlockBytes) : null;
            var workload = new WorkloadPoller(device.GetQueue(0), plan, buffers) { Intervals = recorder, IoLog = ring };
            engine.Reactors[0].AddPoller(workload);
            long Done() => workload.Read.Ios + workload.Write.Ios;
            var taken = new List<IntervalRecorder.Slot>(16);
            long slotsTaken = 0, polls = 0;
            void Poll()
            {
                engine.PollOnce();
                if (++polls % 64 != 0) return;
                if (writer is not null && workload.MeasureStartTicks != 0)
                {
                    if (!writer.Started) writer.Start(workload.MeasureStartTicks);
                    ring!.Drain(writer);
                }
                if (recorder is null) return;
                taken.Clear();
                recorder.TakeFull(taken);
                foreach (var slot in taken) IntervalRecorder.Release(slot);
                slotsTaken += taken.Count;
            }

            // Warm-up: JIT, tiering, first-touch of the RAM disk (and, with intervals, a first slot handed over and freed).
            while (Done() < 10_000 || (recorder is not null && slotsTaken < 2)) Poll();
            // Every window is judged: steady state is two clean windows of 20,000 I/Os in a row (of at most five). The
            // runtime's one-time tiering may dirty one window; a per-I/O or periodic allocation dirties every one.
            var windows = new List<long>();
            int clean = 0;
            while (clean < 2 && windows.Count < 5)
            {
                long start = Done(), startSlots = slotsTaken;
                long before = GC.GetAllocatedBytesForCurrentThread();
                // With intervals a window also spans intervals cut, handed over and freed, however fast the I/O is.
                while (Done() < start + 20_000 || (recorder is not null && slotsTaken < startSlots + 2)) Poll();
                long bytes = GC.GetAllocatedBytesForCurrentThread() - before;
                windows.Add(bytes);
                clean = bytes == 0 ? clean + 1 : 0;
            }
            // Stop the endless job and let what is in flight come back, so the engine stops at once.
            engine.Reactors[0].RemovePoller(workload);
            for (int i = 0; i < 100_000 && device.GetQueue(0).Outstanding > 0; i++) engine.PollOnce();
            writer?.Finish(System.Diagnostics.Stopwatch.GetTimestamp());
            Assert.That(clean, Is.EqualTo(2), $"bytes allocated per window of 20,000 I/Os: {string.Join(", ", windows)}");
            if (options.Verify != VerifyMode.None) Assert.That(workload.Verifier!.CheckedInline, Is.GreaterThan(0), "verification really ran");
            Assert.That(workload.Read.SlatNs.TotalCount, Is.GreaterThan(0));
            if (recorder is not null) Assert.That(slotsTaken, Is.GreaterThan(0), "intervals were really cut and handed over");
        }
        finally
        {
            foreach (var b in buffers) b.Dispose();
        }
    }
}
