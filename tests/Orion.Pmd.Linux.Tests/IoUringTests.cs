using System.Diagnostics;
using Orion.Pmd.Linux;
using static Orion.Pmd.Linux.Tests.IoUringTestKit;

namespace Orion.Pmd.Linux.Tests;

/// <summary>The io_uring ring itself: setup, the SQ and CQ wrapping and overflowing, waits, cancellation, cost.</summary>
public class IoUringTests
{
    [Test]
    public void Setup_RoundsEntriesUp_WithACompletionQueueOfTwiceThat()
    {
        using var ring = CreateRing(5);
        Assert.That(ring.SubmissionEntries, Is.EqualTo(8));
        Assert.That(ring.CompletionEntries, Is.EqualTo(16));
        Assert.That(ring.SubmissionSpace, Is.EqualTo(8));
        Assert.That(ring.Prepared, Is.Zero);
        Assert.That(ring.Fd, Is.GreaterThanOrEqualTo(0));
        Assert.That(ring.Features & 0x2, Is.Not.Zero, "IORING_FEAT_NODROP");
        TestContext.Out.WriteLine($"features 0x{ring.Features:x}, setup flags 0x{ring.SetupFlags:x}");
    }

    [Test]
    public void Create_RejectsBadEntryCounts()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => IoUring.TryCreate(0, out _, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => IoUring.TryCreate(65536, out _, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => IoUring.Create(0));
    }

    [Test]
    public void Nop_RoundTrip_ReturnsItsUserData()
    {
        using var ring = CreateRing();
        Assert.That(ring.PrepareNop(0xFEED_F00D_0000_0042), Is.True);
        Assert.That(ring.Prepared, Is.EqualTo(1));
        Assert.That(ring.SubmissionSpace, Is.EqualTo(7));
        Assert.That(ring.Submit(), Is.EqualTo(1));
        Assert.That(ring.Prepared, Is.Zero);
        Assert.That(ring.SubmitAndWait(1, Patience), Is.True);
        Assert.That(ring.TryReap(out IoCompletion c), Is.True);
        Assert.That(c, Is.EqualTo(new IoCompletion(0xFEED_F00D_0000_0042, 0, 0)));
        Assert.That(ring.TryReap(out _), Is.False);
    }

    [Test]
    public void Prepare_ReturnsFalseWhenTheSubmissionQueueIsFull()
    {
        using var ring = CreateRing(4);
        for (ulong i = 0; i < 4; i++) Assert.That(ring.PrepareNop(i), Is.True);
        Assert.That(ring.PrepareNop(4), Is.False);
        Assert.That(ring.PrepareRead(-1, 0, 0, 0, 5), Is.False);
        Assert.That(ring.SubmissionSpace, Is.Zero);
        Assert.That(ring.Prepared, Is.EqualTo(4));
        Assert.That(Complete(ring, 4).Select(c => c.UserData), Is.EquivalentTo(new ulong[] { 0, 1, 2, 3 }));
        Assert.That(ring.SubmissionSpace, Is.EqualTo(4));
    }

    [Test]
    public void TenThousandNops_ThroughAnEightEntryRing_EachComeBackOnce()
    {
        using var ring = CreateRing(8);
        var seen = PumpNops(ring, 10_000, submitsPerReap: 1);
        Assert.That(seen, Is.All.EqualTo(1));
        Assert.That(ring.TryReap(out _), Is.False);
    }

    [Test]
    public void CompletionQueueOverflow_LosesAndDoublesNothing()
    {
        using var ring = CreateRing(8);   // CQ of 16
        const int Batches = 5;
        for (int b = 0; b < Batches; b++)
        {
            for (int i = 0; i < 8; i++) Assert.That(ring.PrepareNop((ulong)(b * 8 + i)), Is.True);
            Assert.That(ring.Submit(), Is.EqualTo(8), $"batch {b}");
        }
        Assert.That(ring.KernelSqFlags & 0x2, Is.Not.Zero, "IORING_SQ_CQ_OVERFLOW: the kernel holds a backlog");
        long entersBefore = ring.Enters;

        var seen = new int[Batches * 8];
        Span<IoCompletion> batch = stackalloc IoCompletion[5];
        int reaped = 0;
        // Alternate the two reaping paths; both must pull the kernel's backlog in once the CQ runs dry.
        while (true)
        {
            int n = 0;
            if (reaped % 2 == 0) n = ring.Reap(batch);
            else if (ring.TryReap(out batch[0])) n = 1;
            if (n == 0) break;
            foreach (IoCompletion c in batch[..n]) seen[c.UserData]++;
            reaped += n;
        }
        Assert.That(reaped, Is.EqualTo(Batches * 8));
        Assert.That(seen, Is.All.EqualTo(1));
        Assert.That(ring.Enters, Is.GreaterThan(entersBefore), "the backlog came in through a GETEVENTS flush");
    }

    [Test]
    public void ReadsComplete_InTheOrderTheirDataArrives()
    {
        using var ring = CreateRing(8);
        var fds = Enumerable.Range(0, 4).Select(_ => new EventFd()).ToArray();
        using var buffer = new NativeBuffer(4096);
        try
        {
            for (int i = 0; i < fds.Length; i++)
                Assert.That(ring.PrepareRead(fds[i].Fd, buffer.Address + i * 8, 8, -1, (ulong)i), Is.True);
            Assert.That(ring.Submit(), Is.EqualTo(4));
            Assert.That(ring.SubmitAndWait(1, TimeSpan.FromMilliseconds(20)), Is.False, "nothing is readable yet");
            for (int i = fds.Length - 1; i >= 0; i--)
            {
                fds[i].Signal((ulong)(100 + i));
                Assert.That(ring.SubmitAndWait(1, Patience), Is.True);
                Assert.That(ring.TryReap(out IoCompletion c), Is.True);
                Assert.That(c.UserData, Is.EqualTo((ulong)i));
                Assert.That(c.Result, Is.EqualTo(8));
                Assert.That(BitConverter.ToUInt64(buffer.Slice(i * 8, 8)), Is.EqualTo(100 + i));
            }
        }
        finally
        {
            foreach (var fd in fds) fd.Dispose();
        }
    }

    [Test]
    public void TryReapAlone_BringsInACompletionWokenByAnotherThread()
    {
        // With COOP_TASKRUN the eventfd's wake-up leaves task work for this thread instead of interrupting it; a
        // polling owner that only calls TryReap must still get the completion (IORING_SQ_TASKRUN tells it to enter).
        using var ring = CreateRing();
        using var efd = new EventFd();
        using var buffer = new NativeBuffer(4096);
        Assert.That(ring.PrepareRead(efd.Fd, buffer.Address, 8, -1, 1), Is.True);
        Assert.That(ring.Submit(), Is.EqualTo(1));
        long enters = ring.Enters;
        // Spin without system calls from the moment the signaller may signal: any return from the kernel (a Join, or
        // Thread.Start, which waits for the new thread to run) runs the task work on its way out, and then the
        // completion is simply there. On two CPUs where there are two, so the signal can land while this thread spins;
        // whether TryReap has to enter then depends on the scheduler, so the test checks only that nothing is lost.
        int[] cpus = CpuAffinity.GetAllowedCpus();
        int go = 0;
        var signaller = new Thread(() =>
        {
            if (cpus.Length > 1) CpuAffinity.PinCurrentThread(cpus[1]);
            while (Volatile.Read(ref go) == 0) Thread.Yield();
            efd.Signal(5);
        }) { IsBackground = true };
        IoCompletion c;
        var sw = Stopwatch.StartNew();
        try
        {
            if (cpus.Length > 1) CpuAffinity.PinCurrentThread(cpus[0]);
            signaller.Start();
            sw.Restart();
            Volatile.Write(ref go, 1);
            while (!ring.TryReap(out c))
            {
                if (sw.Elapsed > Patience) Assert.Fail("the completion never showed up");
            }
        }
        finally
        {
            CpuAffinity.SetCurrentThreadAllowed(cpus);
            Volatile.Write(ref go, 1);
        }
        Assert.That(signaller.Join(5000), Is.True);
        Assert.That(c, Is.EqualTo(new IoCompletion(1, 8, 0)));
        TestContext.Out.WriteLine($"io_uring_enter calls TryReap made to bring it in: {ring.Enters - enters} (after {sw.Elapsed.TotalMilliseconds:F1} ms)");
    }

    [Test]
    public void ReadOnABadFd_CompletesWithEbadf()
    {
        using var ring = CreateRing();
        using var buffer = new NativeBuffer(4096);
        Assert.That(ring.PrepareRead(-1, buffer.Address, 4096, 0, 7), Is.True);
        Assert.That(Complete(ring, 1)[0], Is.EqualTo(new IoCompletion(7, -Errno.EBADF, 0)));
    }

    [Test]
    public void LinkLastPrepared_MakesTheNextRequestWaitForIt_AndCancelsItWhenItFails()
    {
        using var ring = CreateRing();
        using var buffer = new NativeBuffer(4096);
        // A failing request linked to the next: the kernel never runs the next one.
        Assert.That(ring.PrepareRead(-1, buffer.Address, 4096, 0, 1), Is.True);
        Assert.That(ring.LinkLastPrepared(2), Is.False, "another request's SQE is not linked");
        Assert.That(ring.LinkLastPrepared(1), Is.True);
        Assert.That(ring.PrepareNop(2), Is.True);
        var failed = Complete(ring, 2);
        Assert.That((For(failed, 1).Result, For(failed, 2).Result), Is.EqualTo((-Errno.EBADF, -Errno.ECANCELED)));
        // A request that succeeds lets the next one run.
        Assert.That(ring.PrepareNop(3), Is.True);
        Assert.That(ring.LinkLastPrepared(3), Is.True);
        Assert.That(ring.PrepareNop(4), Is.True);
        var ran = Complete(ring, 2);
        Assert.That((For(ran, 3).Result, For(ran, 4).Result), Is.EqualTo((0, 0)));
        // An SQE already handed to the kernel cannot be linked any more.
        Assert.That(ring.PrepareNop(5), Is.True);
        Assert.That(ring.Submit(), Is.EqualTo(1));
        Assert.That(ring.LinkLastPrepared(5), Is.False);
        Complete(ring, 1);
    }

    [Test]
    public void Cancel_StopsAReadThatWouldWaitForever()
    {
        using var ring = CreateRing();
        using var efd = new EventFd();
        using var buffer = new NativeBuffer(4096);
        Assert.That(ring.PrepareRead(efd.Fd, buffer.Address, 8, -1, 1), Is.True);
        Assert.That(ring.Submit(), Is.EqualTo(1));
        Assert.That(ring.PrepareCancel(1, 2), Is.True);
        var done = Complete(ring, 2);
        Assert.That(For(done, 1).Result, Is.EqualTo(-Errno.ECANCELED));
        Assert.That(For(done, 2).Result, Is.Zero);
    }

    [Test]
    public void CancelOfNothing_CompletesWithEnoent()
    {
        using var ring = CreateRing();
        Assert.That(ring.PrepareCancel(12345, 2), Is.True);
        Assert.That(Complete(ring, 1)[0].Result, Is.EqualTo(-Errno.ENOENT));
    }

    [Test]
    public void CancelAll_StopsEveryRequestInFlight()
    {
        using var ring = CreateRing();
        var fds = Enumerable.Range(0, 3).Select(_ => new EventFd()).ToArray();
        using var buffer = new NativeBuffer(4096);
        try
        {
            for (int i = 0; i < fds.Length; i++) Assert.That(ring.PrepareRead(fds[i].Fd, buffer.Address + i * 8, 8, -1, (ulong)i), Is.True);
            Assert.That(ring.Submit(), Is.EqualTo(3));
            Assert.That(ring.PrepareCancelAll(99), Is.True);
            var done = Complete(ring, 4);
            for (ulong i = 0; i < 3; i++) Assert.That(For(done, i).Result, Is.EqualTo(-Errno.ECANCELED), $"read {i}");
            Assert.That(For(done, 99).Result, Is.EqualTo(3), "the count cancelled");
        }
        finally
        {
            foreach (var fd in fds) fd.Dispose();
        }
    }

    [Test]
    public void SubmitAndWait_TimesOutWithinTheBound_WhenNothingCompletes()
    {
        using var ring = CreateRing();
        var sw = Stopwatch.StartNew();
        Assert.That(ring.SubmitAndWait(1, TimeSpan.FromMilliseconds(50)), Is.False);
        Assert.That(sw.ElapsedMilliseconds, Is.InRange(40, 2000));

        using var efd = new EventFd();
        using var buffer = new NativeBuffer(4096);
        Assert.That(ring.PrepareRead(efd.Fd, buffer.Address, 8, -1, 1), Is.True);
        sw.Restart();
        Assert.That(ring.SubmitAndWait(1, TimeSpan.FromMilliseconds(50)), Is.False, "submits, then times out");
        Assert.That(sw.ElapsedMilliseconds, Is.InRange(40, 2000));
        Assert.That(ring.Prepared, Is.Zero, "the read was submitted");
        Assert.That(ring.SubmitAndWait(1, TimeSpan.Zero), Is.False);
    }

    [Test]
    public void SubmitAndWait_ReturnsOnceACompletionArrives()
    {
        using var ring = CreateRing();
        using var efd = new EventFd();
        using var buffer = new NativeBuffer(4096);
        Assert.That(ring.PrepareRead(efd.Fd, buffer.Address, 8, -1, 1), Is.True);
        var signaller = new Thread(() => { Thread.Sleep(30); efd.Signal(); }) { IsBackground = true };
        signaller.Start();
        var sw = Stopwatch.StartNew();
        try
        {
            Assert.That(ring.SubmitAndWait(1, Patience), Is.True);
            Assert.That(sw.Elapsed, Is.LessThan(Patience));
            Assert.That(ring.TryReap(out IoCompletion c), Is.True);
            Assert.That(c, Is.EqualTo(new IoCompletion(1, 8, 0)));
        }
        finally
        {
            Assert.That(signaller.Join(5000), Is.True);
        }
        Assert.That(ring.SubmitAndWait(0, TimeSpan.Zero), Is.True, "zero completions are always there");
    }

    [Test]
    public void NothingDue_MakesNoSystemCall()
    {
        using var ring = CreateRing();
        Span<IoCompletion> batch = stackalloc IoCompletion[8];
        long before = ring.Enters;
        Assert.That(ring.Submit(), Is.Zero);
        Assert.That(ring.TryReap(out _), Is.False);
        Assert.That(ring.Reap(batch), Is.Zero);
        Assert.That(ring.Enters, Is.EqualTo(before));

        Assert.That(ring.PrepareNop(1), Is.True);
        Assert.That(ring.Submit(), Is.EqualTo(1));
        Assert.That(ring.Enters, Is.EqualTo(before + 1), "one submit, one enter");
        Complete(ring, 1);
        long after = ring.Enters;
        Assert.That(ring.Submit(), Is.Zero);
        Assert.That(ring.TryReap(out _), Is.False);
        Assert.That(ring.Reap(batch), Is.Zero);
        Assert.That(ring.Enters, Is.EqualTo(after), "a drained ring stays quiet");
    }

    [Test]
    public void PrepareSubmitReap_AllocateNothing()
    {
        using var ring = CreateRing(8);
        Span<IoCompletion> batch = stackalloc IoCompletion[8];
        void Cycles(int count, Span<IoCompletion> reaped)
        {
            for (int i = 0; i < count; i++)
            {
                ring.PrepareNop((ulong)i);
                ring.PrepareNop((ulong)i, IoSqeFlags.IoLink);
                ring.PrepareNop((ulong)i);
                ring.Submit();
                if (!ring.TryReap(out _)) ring.SubmitAndWait(1, Patience);
                while (ring.Reap(reaped) > 0) { }
            }
        }
        Cycles(2_000, batch);   // warm up: JIT tiers, statics
        long before = GC.GetAllocatedBytesForCurrentThread();
        Cycles(10_000, batch);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(allocated, Is.Zero);
    }

    [Test]
    public void Prepare_RejectsBadArguments_AndPreparesNothing()
    {
        using var ring = CreateRing();
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.PrepareRead(0, 0, 1, -2, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.PrepareReadv(0, 4096, 0, 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.PrepareWritev(0, 4096, -1, 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.PrepareWritev(0, 0, 1, 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.PrepareFallocate(0, 0, -1, 4096, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.PrepareFallocate(0, 0, 0, -4096, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.PrepareNop(1, (IoSqeFlags)0x80));
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.SubmitAndWait(-1, Patience));
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.SubmitAndWait(17, Patience));
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.SubmitAndWait(1, TimeSpan.FromMilliseconds(-5)));
        Assert.That(ring.Prepared, Is.Zero);
    }

    [Test]
    public void RingFd_PollsReadableWhileACompletionIsReady()
    {
        using var ring = CreateRing();
        var set = new PollSet();
        set.Add(ring.Fd);
        Assert.That(set.Wait(0), Is.Zero);
        Assert.That(ring.PrepareNop(1), Is.True);
        Assert.That(ring.Submit(), Is.EqualTo(1));
        Assert.That(set.Wait(5000), Is.EqualTo(1));
        Assert.That(set.IsReadable(0), Is.True);
        Assert.That(ring.TryReap(out _), Is.True);
        Assert.That(set.Wait(0), Is.Zero);
    }

    [Test]
    public void RegisteredEventFd_IsSignalledOnCompletion()
    {
        using var ring = CreateRing();
        using var efd = new EventFd();
        ring.RegisterEventFd(efd.Fd);
        Assert.That(ring.PrepareNop(1), Is.True);
        Complete(ring, 1);
        Assert.That(efd.Wait(5000), Is.True);
    }

    [Test]
    public void SwitchingEventFdSignalsOff_SparesCompletionsTheSignal_AndOnAgainRestoresIt()
    {
        using var ring = CreateRing();
        using var efd = new EventFd();
        ring.RegisterEventFd(efd.Fd);
        Assert.That(ring.EventFdSignals, Is.True);
        ring.EventFdSignals = false;
        Assert.That(ring.EventFdSignals, Is.False);
        Assert.That(ring.PrepareNop(1), Is.True);
        Complete(ring, 1);
        Assert.That(efd.TryConsume(out _), Is.False, "no signal while switched off");
        ring.EventFdSignals = true;
        Assert.That(ring.PrepareNop(2), Is.True);
        Complete(ring, 1);
        Assert.That(efd.Wait(5000), Is.True, "signalled again once switched on");
    }

    [Test]
    public void APollOfAnEventFd_EndsASleepInTheRing_WhenAnotherThreadSignalsIt()
    {
        using var ring = CreateRing();
        using var efd = new EventFd();
        Assert.That(ring.PreparePollIn(efd.Fd, 7), Is.True);
        Assert.That(ring.Submit(), Is.EqualTo(1));
        Assert.That(ring.SubmitAndWait(1, TimeSpan.FromMilliseconds(50)), Is.False, "nothing signalled yet: the sleep runs out");
        var signaller = Task.Run(async () =>
        {
            await Task.Delay(100);
            efd.Signal();
        });
        Assert.That(ring.SubmitAndWait(1, TimeSpan.FromSeconds(20)), Is.True, "the signal ended the sleep");
        Assert.That(ring.TryReap(out var c), Is.True);
        Assert.That(c.UserData, Is.EqualTo(7UL));
        Assert.That(c.Result & 0x001, Is.EqualTo(0x001), "POLLIN reported");
        signaller.Wait();
    }

    [Test]
    public void Dispose_IsIdempotent_AndLaterUseThrows()
    {
        var ring = CreateRing();
        Assert.That(ring.PrepareNop(1), Is.True);
        ring.Dispose();
        ring.Dispose();
        Assert.Throws<ObjectDisposedException>(() => ring.PrepareNop(2));
        Assert.Throws<ObjectDisposedException>(() => ring.Submit());
        Assert.Throws<ObjectDisposedException>(() => ring.SubmitAndWait(1, TimeSpan.Zero));
        Assert.Throws<ObjectDisposedException>(() => ring.TryReap(out _));
        Assert.Throws<ObjectDisposedException>(() => ring.Reap(new IoCompletion[1]));
        Assert.Throws<ObjectDisposedException>(() => _ = ring.Fd);
        Assert.Throws<ObjectDisposedException>(() => _ = ring.Prepared);
        Assert.Throws<ObjectDisposedException>(() => ring.RegisterFiles([0]));
        Assert.Throws<ObjectDisposedException>(() => ring.UnregisterBuffers());
    }
}
