using System.Diagnostics;
using Orion.Pmd.Linux;

namespace Orion.Pmd.Linux.Tests;

public class EventFdTests
{
    [Test]
    public void Signals_Accumulate_AndConsumeResetsTheCounter()
    {
        using var efd = new EventFd();
        Assert.That(efd.TryConsume(out ulong none), Is.False);
        Assert.That(none, Is.Zero);

        efd.Signal();
        efd.Signal(4);
        Assert.That(efd.TryConsume(out ulong value), Is.True);
        Assert.That(value, Is.EqualTo(5));
        Assert.That(efd.TryConsume(out _), Is.False);
    }

    [Test]
    public void Signal_OnAFullCounter_IsNotAnError()
    {
        using var efd = new EventFd();
        efd.Signal(ulong.MaxValue - 1);   // the largest value the counter holds
        Assert.That(() => efd.Signal(), Throws.Nothing);
        Assert.That(efd.TryConsume(out ulong value), Is.True);
        Assert.That(value, Is.EqualTo(ulong.MaxValue - 1));
    }

    [Test]
    public void Wait_TimesOutWhenNotSignalled()
    {
        using var efd = new EventFd();
        var sw = Stopwatch.StartNew();
        Assert.That(efd.Wait(50), Is.False);
        Assert.That(sw.ElapsedMilliseconds, Is.InRange(40, 2000));
        Assert.That(efd.Wait(0), Is.False);
    }

    [Test]
    public void Wait_ReturnsAtOnceWhenAlreadySignalled()
    {
        using var efd = new EventFd();
        efd.Signal();
        Assert.That(efd.Wait(5000), Is.True);
        Assert.That(efd.TryConsume(out _), Is.False, "Wait consumes the signal");
    }

    [Test]
    public void Wait_WakesOnASignalFromAnotherThread()
    {
        using var efd = new EventFd();
        var signaller = new Thread(() => { Thread.Sleep(20); efd.Signal(); }) { IsBackground = true };
        signaller.Start();
        try
        {
            Assert.That(efd.Wait(5000), Is.True);
        }
        finally
        {
            Assert.That(signaller.Join(5000), Is.True);
        }
    }

    [Test]
    public void BlockingEventFd_TryConsumeDoesNotBlock()
    {
        using var efd = new EventFd(nonBlocking: false);
        Assert.That(efd.TryConsume(out _), Is.False);
        efd.Signal(3);
        Assert.That(efd.TryConsume(out ulong value), Is.True);
        Assert.That(value, Is.EqualTo(3));
    }

    [Test]
    public void FromFd_SharesTheCounter_AndOwnershipControlsClose()
    {
        using var original = new EventFd();
        using (var view = EventFd.FromFd(FileDescriptor.Duplicate(original.Fd), ownsFd: true))
        {
            view.Signal(2);
        }
        Assert.That(original.TryConsume(out ulong value), Is.True);
        Assert.That(value, Is.EqualTo(2));

        using (var borrowed = EventFd.FromFd(original.Fd, ownsFd: false))
            borrowed.Signal();
        Assert.That(original.Wait(1000), Is.True, "a borrowed view must not close the fd");
    }

    [Test]
    public void FromFd_OfABadFd_ThrowsEbadf()
    {
        var ex = Assert.Throws<LinuxException>(() => EventFd.FromFd(-1, ownsFd: false));
        Assert.That(ex.Errno, Is.EqualTo(Errno.EBADF));
    }

    [Test]
    public void Dispose_IsIdempotentAndLaterUseThrows()
    {
        var efd = new EventFd();
        efd.Dispose();
        efd.Dispose();
        Assert.That(() => efd.Signal(), Throws.TypeOf<ObjectDisposedException>());
    }
}
