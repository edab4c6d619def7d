using System.Diagnostics;
using Orion.Pmd.Linux;

namespace Orion.Pmd.Linux.Tests;

public class ResourceUsageTests
{
    [Test]
    public void CpuTimes_GrowAfterBurningCpu()
    {
        CpuTimes thread0 = ResourceUsage.CurrentThread();
        CpuTimes process0 = ResourceUsage.Process();

        Burn(TimeSpan.FromMilliseconds(100));

        CpuTimes threadDelta = ResourceUsage.CurrentThread() - thread0;
        CpuTimes processDelta = ResourceUsage.Process() - process0;
        // Wall time 100 ms of spinning; allow for being descheduled on a busy 2-core machine.
        Assert.That(threadDelta.Total, Is.GreaterThan(TimeSpan.FromMilliseconds(20)));
        Assert.That(processDelta.Total, Is.GreaterThanOrEqualTo(threadDelta.Total));
        Assert.That(threadDelta.User, Is.GreaterThan(TimeSpan.Zero));
    }

    [Test]
    public void ThreadTimes_AreAtMostProcessTimes()
    {
        Assert.That(ResourceUsage.CurrentThread().Total, Is.LessThanOrEqualTo(ResourceUsage.Process().Total));
    }

    [Test]
    public void Subtraction_IsPerComponent()
    {
        var a = new CpuTimes(TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(2));
        var b = new CpuTimes(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        Assert.That(a - b, Is.EqualTo(new CpuTimes(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1))));
        Assert.That((a - b).Total, Is.EqualTo(TimeSpan.FromSeconds(3)));
    }

    private static void Burn(TimeSpan duration)
    {
        long end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        ulong x = 1;
        while (Stopwatch.GetTimestamp() < end)
            for (int i = 0; i < 1000; i++) x = x * 6364136223846793005UL + 1442695040888963407UL;
        GC.KeepAlive(x);
    }
}
