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

        // Spin until this thread has been charged 30 ms of CPU: on a loaded 2-core machine that can take far longer
        // than 30 ms of wall time, so the bound is generous; a counter that never moves fails at the deadline.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        CpuTimes threadDelta;
        do
        {
            Burn(TimeSpan.FromMilliseconds(10));
            threadDelta = ResourceUsage.CurrentThread() - thread0;
        }
        while (threadDelta.Total < TimeSpan.FromMilliseconds(30) && DateTime.UtcNow < deadline);

        CpuTimes processDelta = ResourceUsage.Process() - process0;
        Assert.That(threadDelta.Total, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(30)), "the thread's CPU time never grew");
        // The kernel samples and scales RUSAGE_SELF differently from RUSAGE_THREAD (cputime_adjust), so under load the
        // process figure can trail the thread's by a millisecond or so; it must not trail it by more.
        Assert.That(processDelta.Total, Is.GreaterThanOrEqualTo(threadDelta.Total - TimeSpan.FromMilliseconds(5)));
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
