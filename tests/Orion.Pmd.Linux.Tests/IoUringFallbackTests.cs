using System.Diagnostics;
using Orion.Pmd.Linux;
using static Orion.Pmd.Linux.Tests.IoUringTestKit;

namespace Orion.Pmd.Linux.Tests;

/// <summary>
/// The paths an older kernel takes, forced on this one: a ring set up with IORING_SETUP_CQSIZE alone (an SQ index
/// array, no COOP_TASKRUN, no SUBMIT_ALL), and waits bounded with poll instead of IORING_ENTER_EXT_ARG.
/// </summary>
public class IoUringFallbackTests
{
    private const uint CqSizeOnly = 1u << 3;

    private static IoUring CreatePlainRing(uint entries = 8)
    {
        CreateRing(entries).Dispose();   // ignores the test where there is no io_uring at all
        IoUring? ring = IoUring.TryCreateWithFlags(entries, CqSizeOnly, out string? whyNot);
        Assert.That(ring, Is.Not.Null, whyNot);
        Assert.That(ring!.SetupFlags, Is.EqualTo(CqSizeOnly));
        return ring;
    }

    [Test]
    public void WithAnSqIndexArray_NopsWrapAndOverflowWithoutLoss()
    {
        using var ring = CreatePlainRing(8);
        // Three SQs' worth per round before reaping: more than the 16-entry CQ holds.
        var seen = PumpNops(ring, 3_000, submitsPerReap: 3);
        Assert.That(seen, Is.All.EqualTo(1));
    }

    [Test]
    public void WithoutCoopTaskrun_ReadsAndLinksStillComplete()
    {
        using var ring = CreatePlainRing();
        using var efd = new EventFd();
        using var buffer = new NativeBuffer(4096);
        Assert.That(ring.PrepareRead(efd.Fd, buffer.Address, 8, -1, 1), Is.True);
        Assert.That(ring.Submit(), Is.EqualTo(1));
        efd.Signal(3);
        var sw = Stopwatch.StartNew();
        IoCompletion c;
        while (!ring.TryReap(out c))
        {
            if (sw.Elapsed > Patience) Assert.Fail("the completion never showed up");
            Thread.Yield();
        }
        Assert.That(c, Is.EqualTo(new IoCompletion(1, 8, 0)));

        Assert.That(ring.PrepareRead(-1, buffer.Address, 8, 0, 2, IoSqeFlags.IoLink), Is.True);
        Assert.That(ring.PrepareNop(3), Is.True);
        var done = Complete(ring, 2);
        Assert.That(For(done, 2).Result, Is.EqualTo(-Errno.EBADF));
        Assert.That(For(done, 3).Result, Is.EqualTo(-Errno.ECANCELED));
    }

    [Test]
    public void WithoutExtArg_SubmitAndWaitPollsTheRingFd()
    {
        using var ring = CreateRing();
        ring.WaitWithExtArg = false;
        var sw = Stopwatch.StartNew();
        Assert.That(ring.SubmitAndWait(1, TimeSpan.FromMilliseconds(50)), Is.False);
        Assert.That(sw.ElapsedMilliseconds, Is.InRange(40, 2000));

        using var efd = new EventFd();
        using var buffer = new NativeBuffer(4096);
        Assert.That(ring.PrepareRead(efd.Fd, buffer.Address, 8, -1, 1), Is.True);
        var signaller = new Thread(() => { Thread.Sleep(30); efd.Signal(); }) { IsBackground = true };
        signaller.Start();
        try
        {
            Assert.That(ring.SubmitAndWait(1, Patience), Is.True);
            Assert.That(ring.TryReap(out IoCompletion c), Is.True);
            Assert.That(c, Is.EqualTo(new IoCompletion(1, 8, 0)));
        }
        finally
        {
            Assert.That(signaller.Join(5000), Is.True);
        }
    }
}
