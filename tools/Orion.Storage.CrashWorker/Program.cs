// orion-storage crash worker: opens the engine on --device, recovers the write-ahead log and the page store on it,
// then appends records from several tasks and rewrites pages from two more, printing one line per write ONLY
// after the storage layer acknowledged it durable:
//   ready <nextLsn> $
//   R <lsn> <round> <task> <seq> $
//   P <page> <version> <token> $
// It runs until killed (the crash tests SIGKILL it) or for --seconds.
// Usage: Orion.Storage.CrashWorker --device DEVICE --round N [--tasks 4] [--seconds 60]
using Orion.Pmd.Engine;
using Orion.Pmd.Storage;
using Orion.Storage.CrashWorker;

string? device = null;
int round = 0, tasks = 4, seconds = 60;
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--device": device = Next(); break;
        case "--round": round = int.Parse(Next()); break;
        case "--tasks": tasks = int.Parse(Next()); break;
        case "--seconds": seconds = int.Parse(Next()); break;
        default:
            Console.Error.WriteLine($"unknown argument {args[i]}; usage: --device DEVICE --round N [--tasks 4] [--seconds 60]");
            return 2;
    }
}
if (device is null)
{
    Console.Error.WriteLine("--device is required");
    return 2;
}

using var engine = PmdEngine.Start(new EngineOptions { Device = device, Queues = 1, Pin = false, BufferMemoryBytes = 16L << 20 });
var dev = engine.Device;
long logBlocks = CrashWorkload.LogBlocks(dev.BlockCount);
var recovery = await WriteAheadLog.OpenAsync(BlockStorage.Of(dev, 0, logBlocks), new WriteAheadLogOptions { FormatIfBlank = true, MaxGroupBytes = 64 * 1024 });
await using var log = recovery.Log;
await using var store = await PageStore.OpenAsync(BlockStorage.Of(dev, logBlocks, dev.BlockCount - logBlocks),
                                                   new PageStoreOptions { FormatIfBlank = true, PageCount = CrashWorkload.Pages });
var output = Console.Out;
void Report(string line)
{
    lock (output)
    {
        output.Write(line);
        output.Write(" $\n");
        output.Flush();
    }
}
Report($"ready {recovery.NextLsn}");

using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
var workers = new List<Task>();
for (int t = 0; t < tasks; t++)
{
    int task = t;
    workers.Add(Task.Run(async () =>
    {
        for (long seq = 0; !stop.IsCancellationRequested; seq++)
        {
            long lsn = await log.AppendAsync(CrashWorkload.Record(round, task, seq));
            Report($"R {lsn} {round} {task} {seq}");
        }
    }));
}
for (int t = 0; t < 2; t++)
{
    int owner = t;
    workers.Add(Task.Run(async () =>
    {
        var rnd = new Random(round * 1000 + owner);
        while (!stop.IsCancellationRequested)
        {
            long page = rnd.Next(CrashWorkload.Pages / 2) * 2 + owner;   // each task owns every other page
            long token = rnd.NextInt64(1, long.MaxValue);
            long version = await store.WritePageAsync(page, CrashWorkload.Page(page, token));
            Report($"P {page} {version} {token}");
        }
    }));
}
await Task.WhenAll(workers);
return 0;
