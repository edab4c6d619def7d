using HdrHistogram;
using Orion.Perf.Options;
using Orion.Perf.Reporting;

namespace Orion.Perf.Tests.Reporting;

/// <summary>Job results with known contents for the report tests.</summary>
internal static class ReportFixtures
{
    public static LongHistogram Histogram(IEnumerable<(long Ns, long Count)> values)
    {
        var h = new LongHistogram(1, 10_000_000_000L, 3);
        foreach (var (ns, count) in values) h.RecordValueWithCount(ns, count);
        return h;
    }

    /// <summary>A 10 s QD32 randread: 5,120,000 reads of 4 KiB, latencies from 1.5 µs to 250 µs.</summary>
    public static JobResult RandRead(int queues = 1)
    {
        var options = new JobOptions { Rw = ReadWriteMode.RandRead, IoDepth = 32, Runtime = TimeSpan.FromSeconds(10), TimeBased = true, Device = "null:1G" };
        const long ios = 5_120_000;
        var clat = Histogram([(1_500, 1_000_000), (9_000, 3_000_000), (12_000, 1_000_000), (40_000, 110_000), (250_000, 10_000)]);
        return new JobResult
        {
            Name = "orion",
            Options = options,
            Device = "null:1g (null device, 1 GiB, 512-byte blocks)",
            Runtime = TimeSpan.FromMilliseconds(10_000.4),
            Read = new DirectionResult { TotalIos = ios, Bytes = ios * 4096, ClatNs = clat },
            UserCpuSeconds = 15.0,
            SystemCpuSeconds = 1.0,
            CpuCount = 2,
            Start = new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero),
            ProcessId = 4242,
            ContextSwitches = 12,
            MinorFaults = 900,
            Queues = Enumerable.Range(0, queues).Select(q => new QueueReport
            {
                Queue = q, Core = q == 0 ? 1 : null, Requests = ios / queues, Bytes = ios / queues * 4096, Batches = ios / queues / 8,
                Kicks = 10, Polls = ios / queues * 3, IdlePolls = ios / queues, Bounces = 0, BufferPoolInUse = 32,
                BufferPoolCapacity = 1024, ReactorIdleFraction = 0.25,
            }).ToList(),
        };
    }

    /// <summary>A QD1 randrw with tiny (ns) latencies on both directions, like a null device.</summary>
    public static JobResult MixedNanoseconds()
    {
        var options = new JobOptions { Rw = ReadWriteMode.RandRw, RwMixRead = 70, Runtime = TimeSpan.FromSeconds(1), Device = "mem:64M", RampTime = TimeSpan.FromSeconds(1) };
        return new JobResult
        {
            Name = "mix",
            Options = options,
            Device = "mem:64m",
            Runtime = TimeSpan.FromSeconds(1),
            Read = new DirectionResult { TotalIos = 700, Bytes = 700 * 4096, ClatNs = Histogram([(300, 690), (1_200, 10)]) },
            Write = new DirectionResult { TotalIos = 300, Bytes = 300 * 4096, Errors = 1, ClatNs = Histogram([(800, 299), (3_000_000, 1)]) },
            UserCpuSeconds = 0.9,
            SystemCpuSeconds = 0.1,
            CpuCount = 2,
            Start = DateTimeOffset.UnixEpoch.AddDays(20_000),
        };
    }

    /// <summary>
    /// A 1 s open-loop randread at --rate_iops=1000 on a device that fell behind: slat 300 ns, clat (service) 200 µs,
    /// and latency from the intended start growing to 50 ms.
    /// </summary>
    public static JobResult RateLimited()
    {
        var options = new JobOptions { Rw = ReadWriteMode.RandRead, IoDepth = 4, Runtime = TimeSpan.FromSeconds(1), TimeBased = true,
                                       Device = "null:64M,delay=200us", RateIops = 1000, RateProcess = RateProcess.Poisson };
        const long ios = 1000;
        return new JobResult
        {
            Name = "open",
            Options = options,
            Device = "null:64m",
            Runtime = TimeSpan.FromSeconds(1),
            Read = new DirectionResult
            {
                TotalIos = ios, Bytes = ios * 4096,
                SlatNs = Histogram([(300, 990), (2_000, 10)]),
                ClatNs = Histogram([(200_000, 990), (800_000, 10)]),
                LatNs = Histogram([(200_300, 990), (802_000, 10)]),
                IntendedLatNs = Histogram([(1_000_000, 500), (20_000_000, 400), (50_000_000, 100)]),
                ScheduledIos = ios, ScheduleLagSumNs = ios * 9_000_000, ScheduleLagMaxNs = 49_800_000,
            },
            UnissuedAtEnd = 37,
            UserCpuSeconds = 1,
            CpuCount = 2,
            Start = DateTimeOffset.UnixEpoch.AddDays(20_000),
        };
    }

    /// <summary>A 1 MiB sequential write with --verify=crc32c whose read-back found one corrupted block.</summary>
    public static JobResult VerifyFailed()
    {
        var options = new JobOptions { Rw = ReadWriteMode.Write, Size = 1 << 20, Device = "mem:16M", Verify = VerifyMode.Crc32c, VerifyFatal = true };
        var expected = new Orion.Perf.Verify.VerifyHeader(0xacca, 5, 4096, 0x9E3779B97F4A7C15UL, 65536, 0, 0, 1, 17, 0x11111111);
        var found = expected with { Crc = 0x22222222 };
        return new JobResult
        {
            Name = "check",
            Options = options,
            Device = "mem:16m",
            Runtime = TimeSpan.FromMilliseconds(20),
            Write = new DirectionResult { TotalIos = 256, Bytes = 1 << 20, ClatNs = Histogram([(5_000, 256)]) },
            Error = 84,
            Verify = new Orion.Perf.Verify.VerifySummary
            {
                BlockBytes = 4096, CheckedAfterWrites = 17, Mismatches = 1, ReadBackRan = true, StoppedEarly = true,
                FirstMismatches = [new Orion.Perf.Verify.VerifyMismatch(65536, 4096, expected with { Crc = 0x11111111 }, found, 0x11111111, AfterWrites: true)],
            },
            CpuCount = 2,
            Start = DateTimeOffset.UnixEpoch.AddDays(20_000),
        };
    }

    /// <summary>A job that did nothing (for example it failed to start).</summary>
    public static JobResult Empty() => new()
    {
        Name = "idle",
        Options = new JobOptions(),
        Device = "mem:1g",
        Runtime = TimeSpan.Zero,
        Start = DateTimeOffset.UnixEpoch,
    };
}
