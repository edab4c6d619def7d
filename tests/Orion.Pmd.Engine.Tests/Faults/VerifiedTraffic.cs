namespace Orion.Pmd.Engine.Tests.Faults;

/// <summary>
/// Four writers, each writing a block with a fresh tag and reading it back, until stopped: the traffic that device
/// and queue resets must not disturb. Counts every request it submits, so a test can hold the queues' completion
/// counters to it (a request lost in a reset hangs <see cref="StopAsync"/>; one failed makes it throw).
/// </summary>
internal sealed class VerifiedTraffic
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _workers;
    private long _submitted, _mismatches;

    private VerifiedTraffic(BlockDevice device, int writers)
    {
        _workers = Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            using var buf = device.Rent(4096);
            for (int n = 0; !_stop.IsCancellationRequested; n++)
            {
                long lba = (w * 64 + n % 64) * 8;
                byte tag = (byte)(n * 7 + w + 1);
                buf.Span.Fill(tag);
                Interlocked.Add(ref _submitted, 2);
                await device.WriteAsync(lba, buf.Memory);
                buf.Span.Clear();
                await device.ReadAsync(lba, buf.Memory);
                if (buf.Span.ContainsAnyExcept(tag)) Interlocked.Increment(ref _mismatches);
            }
        })).ToArray();
    }

    /// <summary>Starts <paramref name="writers"/> writers on <paramref name="device"/>, each on its own 64 blocks.</summary>
    public static VerifiedTraffic Start(BlockDevice device, int writers = 4) => new(device, writers);

    /// <summary>Requests submitted so far (a write and its read-back count two).</summary>
    public long Submitted => Interlocked.Read(ref _submitted);

    /// <summary>Read-backs that did not return what was just written.</summary>
    public long Mismatches => Interlocked.Read(ref _mismatches);

    /// <summary>Stops the writers and waits for every request they submitted.</summary>
    public async Task StopAsync()
    {
        _stop.Cancel();
        await Task.WhenAll(_workers);
        _stop.Dispose();
    }
}
