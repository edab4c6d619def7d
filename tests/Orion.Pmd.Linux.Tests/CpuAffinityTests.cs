using Orion.Pmd.Linux;

namespace Orion.Pmd.Linux.Tests;

public class CpuAffinityTests
{
    [Test]
    public void AllowedCpus_AreSortedDistinctAndIncludeTheCurrentCpu()
    {
        int[] cpus = CpuAffinity.GetAllowedCpus();
        Assert.That(cpus, Is.Not.Empty);
        Assert.That(cpus, Is.Ordered.Ascending);
        Assert.That(cpus, Is.Unique);
        Assert.That(cpus, Does.Contain(CpuAffinity.CurrentCpu()));
    }

    [Test]
    public void PinningAFreshThread_KeepsItOnThatCpuOnly()
    {
        int target = CpuAffinity.GetAllowedCpus()[^1];
        int[]? allowedAfter = null;
        var seen = new HashSet<int>();
        int tid = 0;
        Exception? failure = null;

        var thread = new Thread(() =>
        {
            try
            {
                CpuAffinity.PinCurrentThread(target);
                allowedAfter = CpuAffinity.GetAllowedCpus();
                for (int i = 0; i < 20; i++)
                {
                    seen.Add(CpuAffinity.CurrentCpu());
                    Thread.Yield();
                }
                tid = CpuAffinity.CurrentThreadId();
            }
            catch (Exception e)
            {
                failure = e;
            }
        }) { IsBackground = true };
        thread.Start();
        Assert.That(thread.Join(5000), Is.True);

        Assert.That(failure, Is.Null);
        Assert.That(allowedAfter, Is.EqualTo(new[] { target }));
        Assert.That(seen, Is.EquivalentTo(new[] { target }));
        Assert.That(tid, Is.Not.EqualTo(CpuAffinity.CurrentThreadId()), "gettid differs per OS thread");
        // Pinning that thread did not narrow this one.
        Assert.That(CpuAffinity.GetAllowedCpus(), Has.Length.GreaterThanOrEqualTo(1).And.Contains(target));
    }

    [Test]
    public void SetCurrentThreadAllowed_RestoresTheFullSetOnAThread()
    {
        int[] all = CpuAffinity.GetAllowedCpus();
        int[]? narrowed = null, restored = null;
        var thread = new Thread(() =>
        {
            CpuAffinity.PinCurrentThread(all[0]);
            narrowed = CpuAffinity.GetAllowedCpus();
            CpuAffinity.SetCurrentThreadAllowed(all);
            restored = CpuAffinity.GetAllowedCpus();
        }) { IsBackground = true };
        thread.Start();
        Assert.That(thread.Join(5000), Is.True);
        Assert.That(narrowed, Is.EqualTo(new[] { all[0] }));
        Assert.That(restored, Is.EqualTo(all));
    }

    [Test]
    public void InvalidCpuSets_AreRejected()
    {
        Assert.That(() => CpuAffinity.SetCurrentThreadAllowed([]), Throws.TypeOf<ArgumentException>());
        Assert.That(() => CpuAffinity.PinCurrentThread(-1), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => CpuAffinity.PinCurrentThread(CpuAffinity.MaxCpus), Throws.TypeOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void PinningToACpuOutsideTheAllowedSet_ThrowsEinval()
    {
        // cpu 1023 is not online on this machine kind; the kernel answers EINVAL. Run on a throwaway thread
        // so a surprise success cannot narrow the test runner's thread.
        LinuxException? caught = null;
        var thread = new Thread(() =>
        {
            try { CpuAffinity.PinCurrentThread(CpuAffinity.MaxCpus - 1); }
            catch (LinuxException e) { caught = e; }
        }) { IsBackground = true };
        thread.Start();
        Assert.That(thread.Join(5000), Is.True);
        Assume.That(CpuAffinity.GetAllowedCpus(), Does.Not.Contain(CpuAffinity.MaxCpus - 1));
        Assert.That(caught, Is.Not.Null);
        Assert.That(caught!.Errno, Is.EqualTo(Errno.EINVAL));
        Assert.That(caught.Call, Is.EqualTo("sched_setaffinity"));
    }
}
