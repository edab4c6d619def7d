using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Orion.Pmd.Linux;

namespace Orion.Pmd.Benchmarks;

/// <summary>
/// The bare round trip the engine's QD1 walk is measured against (issue 16): two pinned threads, one request token
/// each way through single-producer single-consumer rings, no VirtIO, no engine. The "driver" thread writes a token
/// into one ring and spins until the "device" thread has sent it back through the other. Prints round trips a second.
/// Run: <c>dotnet perf/Orion.Pmd.Benchmarks/bin/Release/net10.0/Orion.Pmd.Benchmarks.dll ring-probe [seconds] [cpuA] [cpuB]</c>
/// (cpus default to the last two the process may use).
/// </summary>
internal static class RingProbe
{
    public static int Run(string[] args)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        double seconds = args.Length > 1 ? double.Parse(args[1], inv) : 5;
        var allowed = CpuAffinity.GetAllowedCpus();
        int cpuA = args.Length > 2 ? int.Parse(args[2], inv) : allowed[^Math.Min(2, allowed.Length)];
        int cpuB = args.Length > 3 ? int.Parse(args[3], inv) : allowed[^1];
        var toDevice = new SpscRing(1024);
        var toDriver = new SpscRing(1024);
        using var stop = new CancellationTokenSource();
        var device = new Thread(() =>
        {
            CpuAffinity.PinCurrentThread(cpuB);
            while (!stop.IsCancellationRequested)
                if (toDevice.TryDequeue(out long token))
                    while (!toDriver.TryEnqueue(token)) { }
        }) { IsBackground = true, Name = "ring-probe-device" };
        device.Start();

        long trips = 0;
        var driver = new Thread(() =>
        {
            CpuAffinity.PinCurrentThread(cpuA);
            long deadline = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
            long n = 0;
            // Clock reads every 4096 trips only: the probe measures the rings, not the clock.
            while ((n & 4095) != 0 || Stopwatch.GetTimestamp() < deadline)
            {
                while (!toDevice.TryEnqueue(n)) { }
                long back;
                while (!toDriver.TryDequeue(out back)) { }
                if (back != n) throw new InvalidOperationException($"token {back} came back for {n}");
                n++;
            }
            trips = n;
        }) { Name = "ring-probe-driver" };
        var started = Stopwatch.GetTimestamp();
        driver.Start();
        driver.Join();
        var elapsed = Stopwatch.GetElapsedTime(started);
        stop.Cancel();
        device.Join();
        Console.WriteLine($"ring probe: {trips} round trips in {elapsed.TotalSeconds:F2} s on cpus {cpuA} and {cpuB}: " +
                          $"{trips / elapsed.TotalSeconds:F0} round trips/s ({elapsed.TotalNanoseconds / Math.Max(1, trips):F0} ns each)");
        return 0;
    }

    /// <summary>One producer, one consumer; head and tail on cache lines of their own, each side caching the other's index.</summary>
    private sealed class SpscRing(int capacity)
    {
        private readonly long[] _items = new long[capacity];
        private readonly int _mask = capacity - 1;
        private PaddedLong _tail;          // written by the producer
        private PaddedLong _head;          // written by the consumer
        private long _cachedHead;          // producer's view of _head
        private long _cachedTail;          // consumer's view of _tail

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool TryEnqueue(long item)
        {
            long tail = _tail.Value;
            if (tail - _cachedHead == _items.Length)
            {
                _cachedHead = Volatile.Read(ref _head.Value);
                if (tail - _cachedHead == _items.Length) return false;
            }
            _items[tail & _mask] = item;
            Volatile.Write(ref _tail.Value, tail + 1);     // release: the item before the index
            return true;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool TryDequeue(out long item)
        {
            long head = _head.Value;
            if (head == _cachedTail)
            {
                _cachedTail = Volatile.Read(ref _tail.Value);    // acquire: the index before the item
                if (head == _cachedTail)
                {
                    item = 0;
                    return false;
                }
            }
            item = _items[head & _mask];
            Volatile.Write(ref _head.Value, head + 1);
            return true;
        }
    }

    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct PaddedLong
    {
        [FieldOffset(64)] public long Value;
    }
}
