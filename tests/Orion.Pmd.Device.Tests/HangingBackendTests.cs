using Orion.Pmd.Device.Backends;
using Orion.Pmd.Device.Tests.Support;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Device.Tests;

/// <summary>
/// A backend request that hangs keeps the device thread inside its pass. A queue reset waits for that pass only up to
/// <see cref="SoftBlkDeviceOptions.StopTimeout"/>, then fails with a named error and leaves the queue unserved; once the
/// request returns, the next reset goes through. A device reset refuses to let go of memory that thread may still write.
/// </summary>
[NonParallelizable]
public class HangingBackendTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromMilliseconds(300);

    /// <summary>Reads hang while <see cref="Hang"/> is set, until <see cref="Release"/> (or a minute).</summary>
    private sealed class HangingBackend : IBlockBackend
    {
        private readonly MemoryBackend _inner = new(1 << 20);
        public readonly ManualResetEventSlim Entered = new(), Release = new();
        public volatile bool Hang;
        public long Capacity => _inner.Capacity;
        public string Description => "hanging";
        public void Read(long offset, Span<byte> destination)
        {
            if (Hang)
            {
                Entered.Set();
                Release.Wait(TimeSpan.FromMinutes(1));
            }
            _inner.Read(offset, destination);
        }
        public void Write(long offset, ReadOnlySpan<byte> source) => _inner.Write(offset, source);
        public void Flush() { }
        public void Discard(long offset, long length) => _inner.Discard(offset, length);
        public void WriteZeroes(long offset, long length) => _inner.WriteZeroes(offset, length);
        public void Dispose() => _inner.Dispose();
    }

    private static (MiniDriver Driver, HangingBackend Backend, Pending Read) StartWithAHangingRead()
    {
        var backend = new HangingBackend();
        var driver = MiniDriver.Start(backend, new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Polled, YieldWhenIdle = true, StopTimeout = Bound });
        backend.Hang = true;
        var read = driver.Submit(0, new BlkRequestHeader(BlkRequestType.In, 0), inLength: 512);
        Assert.That(backend.Entered.Wait(TimeSpan.FromSeconds(10)), Is.True, "the device thread is in the backend");
        return (driver, backend, read);
    }

    /// <summary>
    /// Runs <paramref name="reset"/> on another thread while the backend hangs, then lets the backend return; the
    /// reset's exception, or a failure when it did not end within 10 s.
    /// </summary>
    private static Exception? WhileHanging(HangingBackend backend, Action reset)
    {
        try
        {
            var task = Task.Run(reset);
            Assert.That(Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(10))).Result, Is.SameAs(task), "it did not return: no bound");
            return task.Exception?.InnerException;
        }
        finally
        {
            backend.Hang = false;
            backend.Release.Set();
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public void AQueueResetWhileABackendRequestHangsFailsWithinItsBoundAndALaterOneGoesThrough()
    {
        var (driver, backend, read) = StartWithAHangingRead();
        using var owned = driver;
        var e = WhileHanging(backend, () => driver.Device.ResetQueue(0));
        Assert.That(e, Is.TypeOf<TimeoutException>());
        Assert.That(e!.Message, Does.Contain("queue 0").And.Contain("300 ms").And.Contain("hangs"));
        Assert.That(driver.Wait(read).BlkStatus, Is.EqualTo(BlkStatus.Ok), "the request that hung completes when it returns");
        driver.Device.ResetQueue(0);                 // the pass is over: the reset goes through now
        driver.CreateRings();
        driver.Device.EnableQueue(0);
        Assert.That(driver.Read(0, 512).BlkStatus, Is.EqualTo(BlkStatus.Ok));
    }

    [Test]
    [CancelAfter(60_000)]
    public void ADeviceResetWhileABackendRequestHangsFailsAndKeepsTheMemoryMapped()
    {
        var (driver, backend, read) = StartWithAHangingRead();
        using var owned = driver;
        var e = WhileHanging(backend, () => driver.Device.Reset());
        Assert.That(e, Is.TypeOf<IOException>());
        Assert.That(e!.Message, Does.Contain("did not stop").And.Contain("hangs"));
        // The thread finishes its pass into memory that is still mapped (no crash), and a reset goes through now.
        Assert.That(driver.Wait(read).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        driver.Device.Reset();
    }
}
