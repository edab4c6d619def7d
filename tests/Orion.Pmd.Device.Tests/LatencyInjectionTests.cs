using System.Diagnostics;
using Orion.Pmd.Device.Backends;
using Orion.Pmd.Device.Tests.Support;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Device.Tests;

/// <summary>Fault/latency injection (<see cref="SoftBlkDeviceOptions.InjectedLatency"/>), used by tests and CI gates.</summary>
public class LatencyInjectionTests
{
    [TestCase(DeviceServiceMode.Polled)]
    [TestCase(DeviceServiceMode.Manual)]
    [CancelAfter(30_000)]
    public void EveryRequestTakesAtLeastTheDelay(DeviceServiceMode mode)
    {
        var delay = TimeSpan.FromMilliseconds(2);
        using var backend = new NullBackend(1 << 20);
        using var driver = MiniDriver.Start(backend, new SoftBlkDeviceOptions { InjectedLatency = delay, Mode = mode, YieldWhenIdle = true });
        for (int i = 0; i < 5; i++)
        {
            long start = Stopwatch.GetTimestamp();
            var read = driver.Execute(new BlkRequestHeader(BlkRequestType.In, (ulong)i * 8), inLength: 4096);
            var elapsed = Stopwatch.GetElapsedTime(start);
            Assert.That(read.BlkStatus, Is.EqualTo(BlkStatus.Ok), "a delayed request still completes normally");
            Assert.That(elapsed, Is.GreaterThanOrEqualTo(delay), $"request {i}");
        }
    }

    [Test]
    public void NoDelayByDefault() => Assert.That(new SoftBlkDeviceOptions().InjectedLatency, Is.EqualTo(TimeSpan.Zero));
}
