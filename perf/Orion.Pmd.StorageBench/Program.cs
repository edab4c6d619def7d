// Write-ahead log commits: the same WriteAheadLog (group commit, 128-byte records) on
//   orion file:  Orion.Pmd's embedded device on an image file opened with O_DIRECT (FLUSH = fdatasync)
//   orion file write-through: the same with the device's write cache off (every write RWF_DSYNC, no FLUSH)
//   orion mem:   Orion.Pmd's RAM disk (FLUSH completes at once: the engine's own cost)
//   FileStream:  positioned FileStream writes, Flush(true) (fsync) per group
//   O_DIRECT:    RandomAccess writes on a File.OpenHandle(O_DIRECT) handle, fdatasync per group
// in one run, files in one directory (one filesystem), each case for a fixed time per concurrency.
// Usage: dotnet perf/Orion.Pmd.StorageBench/bin/Release/net10.0/Orion.Pmd.StorageBench.dll [--dir DIR] [--seconds 3] [--appenders 1,8,32] [--record 128]
//        [--placement auto|reactors|threads] [--notifications auto|polled|adaptive|interrupt|hybrid]   (the engine's, for both Orion targets)
//        [--rounds N] [--targets file,write-through,mem,filestream,direct]
// With --rounds the targets run in a shuffled order each round (interleaved), and a summary gives each target's median
// commits/s with its range, and the Orion targets' ratio to RandomAccess O_DIRECT + fdatasync (median of the rounds' ratios).
using System.Diagnostics;
using System.Globalization;
using Orion.Pmd.Engine;
using Orion.Pmd.Storage;
using Orion.Pmd.StorageBench;

string dir = "/var/tmp";
double seconds = 3;
int[] appenders = [1, 8, 32];
int recordBytes = 128;
bool? onReactors = null;
var notifications = NotificationMode.Auto;
int rounds = 1;
string[] allTargets = ["file", "write-through", "mem", "filestream", "direct"];
string[] targets = allTargets;
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--dir": dir = Next(); break;
        case "--seconds": seconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--appenders": appenders = Next().Split(',').Select(int.Parse).ToArray(); break;
        case "--record": recordBytes = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--placement": onReactors = Next() switch { "reactors" => true, "threads" => false, _ => null }; break;
        case "--notifications": notifications = Enum.Parse<NotificationMode>(Next(), ignoreCase: true); break;
        case "--rounds": rounds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--targets":
            targets = Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (targets.FirstOrDefault(t => !allTargets.Contains(t)) is { } bad)
            {
                Console.Error.WriteLine($"unknown target '{bad}': the targets are {string.Join(", ", allTargets)}");
                return 2;
            }
            break;
        default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
    }
}

const long LogBytes = 256L << 20;
const int BlockSize = 4096;
long truncations = 0;                                            // checkpoints (log truncations) over the whole run
string work = Path.Combine(dir, $"orion-storagebench-{Environment.ProcessId}");
Directory.CreateDirectory(work);
Console.WriteLine($"# {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} CPUs, files in {work}, {seconds} s per case, {recordBytes}-byte records, {BlockSize}-byte blocks, " +
                  $"device placement {(onReactors is null ? "auto" : onReactors.Value ? "reactors" : "threads")}, notifications {notifications}");
Console.WriteLine("| target | appenders | commits/s | p50 (µs) | p99 (µs) | p99.9 (µs) | appends per group |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
try
{
    await RunAll();
}
finally
{
    Directory.Delete(work, recursive: true);
}
Console.WriteLine($"# log truncations (checkpoints when a 256 MiB log filled): {truncations}");
if (rounds > 1) PrintSummary();
return 0;

async Task RunAll()
{
    var shuffle = new Random(20261207);
    for (int round = 0; round < rounds; round++)
        foreach (int n in appenders)
            foreach (string target in rounds > 1 ? targets.OrderBy(_ => shuffle.Next()).ToArray() : targets)
                await RunTarget(target, n);
}

async Task RunTarget(string target, int n)
{
    switch (target)
    {
        case "file":
            using (var engine = StartEngine($"file:{Path.Combine(work, "orion.img")},size={LogBytes >> 20}M,direct,bs={BlockSize}"))
                await RunCase(target, "Orion.Pmd file: (O_DIRECT, FLUSH = fdatasync)", BlockStorage.Of(engine.Device), n);
            break;
        case "write-through":
            using (var engine = StartEngine($"file:{Path.Combine(work, "orion-wt.img")},size={LogBytes >> 20}M,direct,bs={BlockSize}"))
            {
                // Write-through: each write is durable when it completes (RWF_DSYNC: write and flush in one request to the
                // kernel), so the log sends no FLUSH; the same durability per commit as the other targets.
                engine.Device.SetWriteCache(false);
                await RunCase(target, "Orion.Pmd file: write-through (O_DIRECT, RWF_DSYNC)", BlockStorage.Of(engine.Device), n);
            }
            break;
        case "mem":
            using (var engine = StartEngine($"mem:{LogBytes >> 20}M,bs={BlockSize}"))
                await RunCase(target, "Orion.Pmd mem:", BlockStorage.Of(engine.Device), n);
            break;
        case "filestream":
            using (var fs = new FileStreamStorage(Path.Combine(work, "filestream.img"), LogBytes, BlockSize))
                await RunCase(target, "FileStream + Flush(true)", fs, n);
            break;
        default:
            using (var direct = new DirectFileStorage(Path.Combine(work, "direct.img"), LogBytes, BlockSize))
                await RunCase(target, "RandomAccess O_DIRECT + fdatasync", direct, n);
            break;
    }
}

void PrintSummary()
{
    static double Median(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        return v.Length == 0 ? double.NaN : v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }
    Console.WriteLine();
    Console.WriteLine($"# summary over {rounds} interleaved rounds: commits/s median (min-max); ratio = the target's rate / RandomAccess O_DIRECT's in the same round, median (min-max)");
    Console.WriteLine("| target | appenders | commits/s | ratio to O_DIRECT |");
    Console.WriteLine("|---|---:|---:|---:|");
    foreach (int n in appenders)
        foreach (string target in targets)
        {
            var rates = s_results.Where(r => r.Target == target && r.Appenders == n).Select(r => r.Rate).ToArray();
            var direct = s_results.Where(r => r.Target == "direct" && r.Appenders == n).Select(r => r.Rate).ToArray();
            string ratio = target == "direct" || direct.Length != rates.Length ? "" : string.Create(CultureInfo.InvariantCulture,
                $"{Median(rates.Zip(direct, (a, b) => a / b)):F2}x ({rates.Zip(direct, (a, b) => a / b).Min():F2}-{rates.Zip(direct, (a, b) => a / b).Max():F2})");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {target} | {n} | {Median(rates):N0} ({rates.Min():N0}-{rates.Max():N0}) | {ratio} |"));
        }
}

PmdEngine StartEngine(string device) => PmdEngine.Start(new EngineOptions
{
    Device = device, Queues = 1, Pin = false, DeviceOnReactors = onReactors, Notifications = notifications,
});

async Task RunCase(string key, string target, IBlockStorage storage, int n)
{
    await Measure(storage, n, 0.3);                              // warm-up (JIT, page cache, device threads)
    var (latencies, stats, elapsed) = await Measure(storage, n, seconds);
    latencies.Sort();
    s_results.Add((key, n, latencies.Count / elapsed));
    double P(double q) => latencies.Count == 0 ? double.NaN : latencies[Math.Min(latencies.Count - 1, (int)(q * latencies.Count))] * 1e6 / Stopwatch.Frequency;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {target} | {n} | {latencies.Count / elapsed:N0} | {P(0.50):F1} | {P(0.99):F1} | {P(0.999):F1} | {(double)stats.Appends / Math.Max(1, stats.Groups):F1} |"));
}

async Task<(List<long> Latencies, WriteAheadLogStatistics Stats, double Elapsed)> Measure(IBlockStorage storage, int n, double duration)
{
    await using var log = await WriteAheadLog.FormatAsync(storage);
    var record = new byte[recordBytes];
    var truncation = new SemaphoreSlim(1, 1);
    var perTask = Enumerable.Range(0, n).Select(_ => new List<long>(1 << 16)).ToArray();
    var stop = Stopwatch.GetTimestamp() + (long)(duration * Stopwatch.Frequency);
    long start = Stopwatch.GetTimestamp();
    await Task.WhenAll(Enumerable.Range(0, n).Select(t => Task.Run(async () =>
    {
        var mine = perTask[t];
        while (true)
        {
            long before = Stopwatch.GetTimestamp();
            if (before >= stop) break;
            try
            {
                await log.AppendAsync(record);
            }
            catch (WriteAheadLogFullException)
            {
                // A checkpoint: the first appender to find the log full truncates it; the others just retry.
                await truncation.WaitAsync();
                try { if (log.CapacityBytes - log.UsedBytes < 1 << 20) { await log.TruncateAsync(); Interlocked.Increment(ref truncations); } }
                finally { truncation.Release(); }
                await log.AppendAsync(record);
            }
            mine.Add(Stopwatch.GetTimestamp() - before);
        }
    })));
    double elapsed = (Stopwatch.GetTimestamp() - start) / (double)Stopwatch.Frequency;
    return (perTask.SelectMany(l => l).ToList(), log.Statistics, elapsed);
}

partial class Program
{
    // Each round's commits/s per (target, appenders), for the summary.
    private static readonly List<(string Target, int Appenders, double Rate)> s_results = [];
}
