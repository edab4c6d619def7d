using Orion.Pmd.Engine.Tests.VhostUser.Support;

namespace Orion.Pmd.Engine.Tests.VhostUser;

/// <summary>
/// Issue 13, item 5: qemu-storage-daemon answers GET_VRING_BASE without waiting for requests it is still executing and
/// completes them later, with vu_queue_push, into whatever ring is there. A queue reset that rebuilt the ring in place
/// after GET_VRING_BASE (the engine's old recovery) let those late completions land in the new ring: a broken ring at
/// best, the wrong request completed at worst. Here a throttle filter node keeps writes in flight past the engine's
/// request timeout; the recovery must wait for the back-end to let go (a reconnect: qemu-storage-daemon accepts a new
/// connection only once the old one's requests are done) and lose nothing.
/// </summary>
[NonParallelizable]
public class ThrottledBackEndResetTests
{
    [Test, CancelAfter(120_000)]
    public async Task RequestsTheBackEndStillExecutes_NeverCompleteIntoARebuiltRing()
    {
        QemuStorageDaemon.RequireInstalled();
        string dir = QemuStorageDaemon.NewDirectory();
        using var imageDir = new TempDirectory(dir);
        string image = Path.Combine(dir, "disk.img");
        using (var f = File.Create(image)) f.SetLength(8 << 20);
        // 4 requests a second: 12 writes at once take 3 s, far past the 800 ms request timeout.
        using var daemon = QemuStorageDaemon.StartThrottledFile(image, iopsTotal: 4);
        using var engine = PmdEngine.Start(new EngineOptions
        {
            Device = daemon.DeviceString, QueueSize = 64, Pin = false, BufferMemoryBytes = 8 << 20,
            RequestTimeout = TimeSpan.FromMilliseconds(800), TimeoutPolicy = TimeoutPolicy.RetryOnce,
        });
        var dev = engine.Device;
        const int Writes = 12;
        var buffers = Enumerable.Range(0, Writes).Select(_ => dev.Rent(4096)).ToArray();
        var failures = new List<string>();
        try
        {
            for (int i = 0; i < Writes; i++) buffers[i].Span.Fill((byte)(i + 1));
            await Task.WhenAll(Enumerable.Range(0, Writes).Select(async i =>
            {
                try { await dev.WriteAsync(i * 8L, buffers[i].Memory); }
                catch (Exception e) { lock (failures) failures.Add($"write {i}: {e.Message}"); }
            }));
            // Read back one at a time (a request every 250 ms, well inside the timeout).
            for (int i = 0; i < Writes; i++)
            {
                buffers[i].Span.Clear();
                try
                {
                    await dev.ReadAsync(i * 8L, buffers[i].Memory);
                    if (buffers[i].Span.ContainsAnyExcept((byte)(i + 1))) failures.Add($"block {i} read back other data");
                }
                catch (Exception e) { failures.Add($"read {i}: {e.Message}"); }
            }
        }
        finally
        {
            foreach (var b in buffers) b.Dispose();
        }
        string state = $"device resets {engine.DeviceResets} ({engine.LastDeviceReset}); queue: {dev.GetQueue(0).Counters}";
        Assert.That(failures, Is.Empty, state);
        Assert.That(engine.DeviceResets, Is.GreaterThanOrEqualTo(1), "the writes outlived the request timeout, so the queue was recovered: " + state);
        Assert.That(dev.GetQueue(0).Counters.Errors, Is.Zero, state);
        Assert.That(engine.Reconnects, Is.Zero, "the back-end never went away; the reset's own reconnect is not a recovered loss: " + state);
        Assert.That(daemon.IsRunning, Is.True, daemon.Log);
    }
}
