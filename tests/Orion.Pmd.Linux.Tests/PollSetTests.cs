using System.Diagnostics;
using Orion.Pmd.Linux;

namespace Orion.Pmd.Linux.Tests;

public class PollSetTests
{
    [Test]
    public void Wait_TimesOut_WithNothingReady()
    {
        using var a = new EventFd();
        var set = new PollSet();
        set.Add(a.Fd);
        var sw = Stopwatch.StartNew();
        Assert.That(set.Wait(30), Is.Zero);
        Assert.That(sw.ElapsedMilliseconds, Is.InRange(25, 2000));
        Assert.That(set.IsReadable(0), Is.False);
        Assert.That(set.Wait(0), Is.Zero);
    }

    [Test]
    public void Wait_ReportsWhichEntriesAreReadable()
    {
        using var a = new EventFd();
        using var b = new EventFd();
        using var c = new EventFd();
        var set = new PollSet(capacity: 1);   // grows
        Assert.That(set.Add(a.Fd), Is.EqualTo(0));
        Assert.That(set.Add(b.Fd), Is.EqualTo(1));
        Assert.That(set.Add(c.Fd), Is.EqualTo(2));
        b.Signal();
        c.Signal();
        Assert.That(set.Wait(1000), Is.EqualTo(2));
        Assert.That(new[] { set.IsReadable(0), set.IsReadable(1), set.IsReadable(2) }, Is.EqualTo(new[] { false, true, true }));
        Assert.That(set.HasError(1), Is.False);
        Assert.That(b.TryConsume(out _) && c.TryConsume(out _), Is.True, "Wait does not consume");
        Assert.That(set.Wait(0), Is.Zero);
    }

    [Test]
    public void Wait_WakesOnASignalFromAnotherThread()
    {
        using var a = new EventFd();
        var set = new PollSet();
        set.Add(a.Fd);
        var signaller = new Thread(() => { Thread.Sleep(20); a.Signal(); }) { IsBackground = true };
        signaller.Start();
        try
        {
            Assert.That(set.Wait(5000), Is.EqualTo(1));
            Assert.That(set.IsReadable(0), Is.True);
        }
        finally
        {
            Assert.That(signaller.Join(5000), Is.True);
        }
    }

    [Test]
    public void NegativeFds_AreSkipped_AndEntriesCanBeReplaced()
    {
        using var a = new EventFd();
        var set = new PollSet();
        set.Add(-1);
        a.Signal();
        Assert.That(set.Wait(0), Is.Zero);
        set[0] = a.Fd;
        Assert.That(set[0], Is.EqualTo(a.Fd));
        Assert.That(set.Wait(0), Is.EqualTo(1));
        set[0] = -1;
        Assert.That(set.IsReadable(0), Is.False, "replacing clears the last result");
    }

    [Test]
    public void RemoveAt_KeepsTheOrderOfTheRest()
    {
        var set = new PollSet();
        set.Add(10);
        set.Add(11);
        set.Add(12);
        set.RemoveAt(1);
        Assert.That(set.Count, Is.EqualTo(2));
        Assert.That(new[] { set[0], set[1] }, Is.EqualTo(new[] { 10, 12 }));
        Assert.That(set.IndexOf(12), Is.EqualTo(1));
        Assert.That(set.IndexOf(11), Is.EqualTo(-1));
        Assert.That(() => set.RemoveAt(2), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => set.IsReadable(2), Throws.TypeOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void AClosedFd_IsReportedAsAnError()
    {
        using var original = new EventFd();
        int dup = FileDescriptor.Duplicate(original.Fd);
        var set = new PollSet();
        set.Add(dup);
        FileDescriptor.Close(dup);
        Assert.That(set.Wait(1000), Is.EqualTo(1));
        Assert.That(set.HasError(0), Is.True);
        Assert.That(set.IsReadable(0), Is.False);
    }

    [Test]
    public void Wait_AllocatesNothing()
    {
        using var a = new EventFd();
        var set = new PollSet();
        set.Add(a.Fd);
        set.Wait(0);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            a.Signal();
            set.Wait(0);
            a.TryConsume(out _);
        }
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
        Assert.That(() => set.Wait(-2), Throws.TypeOf<ArgumentOutOfRangeException>());
    }
}
