using Orion.Pmd.Engine.Requests;
using Orion.Pmd.Engine.Tests.VhostUser.Support;
using Orion.Pmd.Engine.Transport.VhostUser;

namespace Orion.Pmd.Engine.Tests.VhostUser;

/// <summary>
/// Helpers shared by the tests against a real qemu-storage-daemon: engine options sized for a 2-core machine, image
/// files in the daemon's private directory, a position-dependent data pattern (a block landing at the wrong place
/// or a stale buffer shows up as a mismatch), and the health check that no silent reconnect hid a daemon panic.
/// </summary>
internal static class QsdTestKit
{
    /// <summary>
    /// Real threads, unpinned, small memory; a short reconnect deadline so a daemon that dies fails the test within
    /// seconds instead of being waited for.
    /// </summary>
    public static EngineOptions Options(string device, int queues = 1, bool indirect = true, bool eventIdx = true,
                                        RingFormat ring = RingFormat.Split, int queueSize = 64,
                                        NotificationMode notifications = NotificationMode.Polled) => new()
    {
        Device = device,
        Queues = queues,
        QueueSize = queueSize,
        Ring = ring,
        UseIndirect = indirect,
        UseEventIdx = eventIdx,
        Notifications = notifications,
        Pin = false,
        BufferMemoryBytes = 8 << 20,
        VhostUser = new VhostUserOptions
        {
            ConnectTimeout = TimeSpan.FromSeconds(5),
            ReplyTimeout = TimeSpan.FromSeconds(5),
            ReconnectTimeout = TimeSpan.FromSeconds(5),
        },
    };

    /// <summary>Creates a raw image of <paramref name="bytes"/> in <paramref name="directory"/>, sparse (reads as zeroes).</summary>
    public static string CreateImage(string directory, long bytes, string name = "disk.img")
    {
        string image = Path.Combine(directory, name);
        using var f = new FileStream(image, FileMode.Create, FileAccess.Write);
        f.SetLength(bytes);
        return image;
    }

    /// <summary>
    /// A pattern that depends on the absolute byte offset and a seed: every 512-byte sector differs from every other
    /// and from the same sector under another seed.
    /// </summary>
    public static void Fill(Span<byte> destination, long byteOffset, int seed)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            long o = byteOffset + i;
            destination[i] = (byte)((o * 31) ^ (o >> 9) * 7 ^ (o >> 17) ^ seed * 0x5D);
        }
    }

    /// <summary>The pattern of <see cref="Fill"/> as a new array.</summary>
    public static byte[] Pattern(long byteOffset, int length, int seed)
    {
        var b = new byte[length];
        Fill(b, byteOffset, seed);
        return b;
    }

    /// <summary>Writes <paramref name="data"/> into the image at <paramref name="byteOffset"/> (before the daemon opens it).</summary>
    public static void WriteFile(string image, long byteOffset, ReadOnlySpan<byte> data)
    {
        using var f = new FileStream(image, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        f.Position = byteOffset;
        f.Write(data);
        f.Flush(flushToDisk: true);
    }

    /// <summary>An independent reader: what the backing file holds at <paramref name="byteOffset"/>.</summary>
    public static byte[] ReadFile(string image, long byteOffset, int length)
    {
        using var f = new FileStream(image, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var b = new byte[length];
        f.Position = byteOffset;
        f.ReadExactly(b);
        return b;
    }

    /// <summary>Index of the first differing byte, or -1: a readable failure message instead of two dumped arrays.</summary>
    public static int FirstDifference(ReadOnlySpan<byte> actual, ReadOnlySpan<byte> expected)
    {
        if (actual.Length != expected.Length) return Math.Min(actual.Length, expected.Length);
        int n = actual.CommonPrefixLength(expected);
        return n == actual.Length ? -1 : n;
    }

    /// <summary>Asserts <paramref name="actual"/> equals <paramref name="expected"/> byte for byte, naming the first difference.</summary>
    public static void AssertSameBytes(ReadOnlySpan<byte> actual, ReadOnlySpan<byte> expected, string what)
    {
        int at = FirstDifference(actual, expected);
        if (at >= 0)
            Assert.Fail($"{what}: first difference at byte {at} of {expected.Length} " +
                        $"(got 0x{(at < actual.Length ? actual[at] : 0):x2}, expected 0x{(at < expected.Length ? expected[at] : 0):x2})");
    }

    /// <summary>
    /// The engine never lost its back-end (a daemon that panics drops the connection and the engine would silently
    /// reconnect and resubmit), the daemon still runs and logged nothing.
    /// </summary>
    public static void AssertHealthy(PmdEngine engine, QemuStorageDaemon daemon)
    {
        Assert.That(engine.Reconnects, Is.Zero, $"the connection to the daemon dropped; daemon log: {daemon.Log}");
        Assert.That(engine.DeviceLost, Is.False, $"daemon log: {daemon.Log}");
        Assert.That(daemon.IsRunning, Is.True, $"the daemon exited; daemon log: {daemon.Log}");
        Assert.That(daemon.Log, Is.Empty, "the daemon logged something (vu_panic, missing headers, ...)");
        Assert.That(Enumerable.Range(0, engine.Device.QueueCount).Sum(q => engine.Device.GetQueue(q).Counters.Errors), Is.Zero, "requests that failed");
    }

    /// <summary>Runs <paramref name="action"/> on <paramref name="queue"/>'s reactor (the callback form's thread) and returns what it threw.</summary>
    public static Exception? CatchOnReactor(BlockQueue queue, Action action)
    {
        Exception? thrown = null;
        using var done = new ManualResetEventSlim();
        queue.Reactor.Post(_ =>
        {
            try { action(); }
            catch (Exception e) { thrown = e; }
            finally { done.Set(); }
        }, null);
        Assert.That(done.Wait(TimeSpan.FromSeconds(10)), Is.True, $"reactor {queue.Index} ran the posted action");
        return thrown;
    }

    /// <summary>Counts callback completions per tag.</summary>
    public sealed class Tally(int count) : IBlockCompletion
    {
        public readonly int[] Completions = new int[count];
        public readonly IoStatus[] Statuses = new IoStatus[count];
        private int _done;
        public readonly ManualResetEventSlim All = new(count == 0);

        public void OnCompleted(long tag, IoStatus status)
        {
            Statuses[tag] = status;
            Interlocked.Increment(ref Completions[tag]);
            if (Interlocked.Increment(ref _done) == Completions.Length) All.Set();
        }
    }
}
