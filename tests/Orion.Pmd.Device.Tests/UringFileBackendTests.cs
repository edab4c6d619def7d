using System.Runtime.CompilerServices;
using Orion.Pmd.Device.Backends;
using Orion.Pmd.Device.Tests.Support;
using Orion.Pmd.Linux;
using Orion.Pmd.Virtio.Blk;
using Orion.Pmd.Virtio.Rings;

namespace Orion.Pmd.Device.Tests;

/// <summary>
/// The file backend's io_uring path behind the software device: many requests in flight per queue, data byte-exact
/// (both engines), short transfers never reported as success, the synchronous fallback, and every way a queue or the
/// device stops with requests still in the kernel: nothing the kernel could still write is handed back before it finished.
/// </summary>
public class UringFileBackendTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp()
    {
        if (!IoUring.TryCreate(4, out var probe, out string? why)) Assert.Ignore($"io_uring is not available here: {why}");
        probe!.Dispose();
        // /var/tmp is on the disk (tmpfs takes no O_DIRECT and would answer every read at once).
        _dir = Directory.CreateTempSubdirectory("orion-uring-").FullName;
        _dir = Path.Combine("/var/tmp", Path.GetFileName(_dir));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown()
    {
        if (_dir is not null && Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private string FileWith(byte[] contents)
    {
        string path = Path.Combine(_dir, "disk.img");
        File.WriteAllBytes(path, contents);
        return path;
    }

    private static byte[] Random(int length, int seed) => Payload.RandomBytes(length, seed);

    private static MiniDriver StartManual(string path, bool direct, FileIoEngine engine, int queueSize = 64, long regionBytes = 48 << 20)
        => MiniDriver.Start(new FileBackend(new FileBackendOptions { Path = path, Direct = direct, IoEngine = engine }),
                            new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Manual },
                            new MiniDriverOptions { QueueSize = queueSize, RegionBytes = regionBytes });

    /// <summary>A read whose data buffer is 4 KiB aligned (so O_DIRECT takes it as it is), status byte right after it.</summary>
    private static Pending AlignedRead(MiniDriver d, ulong sector, int length, int queue = 0)
    {
        ulong header = d.Allocate(BlkRequestHeader.Size);
        Unsafe.WriteUnaligned(ref d.Host(header, BlkRequestHeader.Size)[0], new BlkRequestHeader(BlkRequestType.In, sector));
        ulong data = d.Allocate(length + 1, 4096);
        d.Host(data, length).Fill(0xEE);
        d.Host(data + (ulong)length, 1)[0] = Payload.UntouchedStatus;
        int id = d.AddRaw(queue, [new BufferSegment(header, BlkRequestHeader.Size, false),
                                  new BufferSegment(data, (uint)length, true),
                                  new BufferSegment(data + (ulong)length, 1, true)]);
        return d.Track(queue, id, data, length);
    }

    /// <summary>A write whose data buffer is 4 KiB aligned.</summary>
    private static Pending AlignedWrite(MiniDriver d, ulong sector, byte[] payload, int queue = 0)
    {
        ulong header = d.Allocate(BlkRequestHeader.Size);
        Unsafe.WriteUnaligned(ref d.Host(header, BlkRequestHeader.Size)[0], new BlkRequestHeader(BlkRequestType.Out, sector));
        ulong data = d.Allocate(payload.Length, 4096);
        payload.CopyTo(d.Host(data, payload.Length));
        ulong status = d.Allocate(1);
        d.Host(status, 1)[0] = Payload.UntouchedStatus;
        int id = d.AddRaw(queue, [new BufferSegment(header, BlkRequestHeader.Size, false),
                                  new BufferSegment(data, (uint)payload.Length, false),
                                  new BufferSegment(status, 1, true)]);
        return d.Track(queue, id, status, 0);
    }

    /// <summary>Starts an aligned read of block <paramref name="block"/> with one pass; returns it and what that pass kept back.</summary>
    private static (Pending Read, int KeptBack) OnePassRead(MiniDriver d, int block)
    {
        var read = AlignedRead(d, (ulong)block * 8, 4096);
        d.Publish(0);
        d.Device.PollQueue(0);
        return (read, d.Device.QueueUnsubmittedIo(0));
    }

    /// <summary>The owner sleeps inside the queue's ring once (with a read in the kernel): passes may defer from then on.</summary>
    private static void SleepInTheRingOnce(MiniDriver d, EventFd wake, int block)
    {
        var (read, _) = OnePassRead(d, block);
        Assert.That(d.Device.SleepOnQueue(0, wake.Fd, 5000, out _), Is.True);
        Assert.That(d.Wait(read).BlkStatus, Is.EqualTo(BlkStatus.Ok));
    }

    /// <summary>
    /// A queue whose owner slept inside its io_uring keeps what a pass started for the owner's next sleep there (submit and
    /// wait in one call). An owner that stops sleeping there (switched to busy polling: the reactor says so through
    /// SubmitQueue; or silently: a deferral runs out) must get its submissions at once again, not two passes late.
    /// </summary>
    [Test]
    [CancelAfter(30_000)]
    public void AnOwnerThatStopsSleepingInTheRing_GetsItsSubmissionsAtOnceAgain()
    {
        string path = FileWith(Random(1 << 20, 9));
        using var d = StartManual(path, direct: true, FileIoEngine.IoUring);
        using var wake = new EventFd();

        SleepInTheRingOnce(d, wake, block: 0);
        var (kept, keptBack) = OnePassRead(d, 1);
        Assert.That(keptBack, Is.EqualTo(1), "kept for the owner's next sleep in the ring");
        d.Device.SubmitQueue(0);                                        // what a reactor switched to busy polling does
        Assert.That(d.Device.QueueUnsubmittedIo(0), Is.Zero, "handed over");
        Assert.That(d.Wait(kept).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        for (int i = 2; i < 6; i++)
        {
            var (read, left) = OnePassRead(d, i);
            Assert.That(left, Is.Zero, $"read {i}: a busy-polling owner's pass hands its request to the kernel at once");
            Assert.That(d.Wait(read).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        }

        SleepInTheRingOnce(d, wake, block: 6);
        var (late, lateKept) = OnePassRead(d, 7);
        Assert.That(lateKept, Is.EqualTo(1), "deferring again after a new sleep in the ring");
        Assert.That(d.Wait(late).BlkStatus, Is.EqualTo(BlkStatus.Ok), "the owner never slept: the deferral ran out");
        for (int i = 8; i < 12; i++)
        {
            var (read, left) = OnePassRead(d, i);
            Assert.That(left, Is.Zero, $"read {i}: an owner that let a deferral run out no longer waits for one");
            Assert.That(d.Wait(read).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        }
    }

    [TestCase(false)]
    [TestCase(true)]
    public void OnePassStartsEveryAvailableRequest_AndTheyCompleteWithTheRightData(bool direct)
    {
        var original = Random(4 << 20, 1);
        string path = FileWith(original);
        using var d = StartManual(path, direct, FileIoEngine.IoUring);
        Assert.That(d.Device.IoEngine, Is.EqualTo("io_uring"));
        var reads = Enumerable.Range(0, 32).Select(i => AlignedRead(d, (ulong)(i * 31 % 1000) * 8, 4096)).ToArray();
        d.Publish(0);
        d.Device.Poll();
        var counters = d.Device.GetQueueIoCounters(0);
        Assert.That(counters, Is.Not.Null);
        Assert.That(counters!.Value.Started, Is.EqualTo(32), "one pass hands every available request to the kernel: 32 in flight on one queue");
        Assert.That(counters.Value.Fallbacks, Is.Zero);
        var done = d.WaitAll(reads);
        for (int i = 0; i < done.Length; i++)
        {
            Assert.That(done[i].BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(done[i].UsedLength, Is.EqualTo(4096 + 1));
            int at = i * 31 % 1000 * 4096;
            Assert.That(done[i].Data, Is.EqualTo(original.AsSpan(at, 4096).ToArray()), $"read {i}");
        }
    }

    [TestCase(FileIoEngine.IoUring, false, 0)]
    [TestCase(FileIoEngine.IoUring, true, 0)]
    [TestCase(FileIoEngine.IoUring, false, 1000)]   // many small descriptors: READV/WRITEV of several iovecs
    [TestCase(FileIoEngine.IoUring, true, 100)]     // unaligned pieces: served synchronously (bounced), still correct
    [TestCase(FileIoEngine.Sync, true, 0)]
    public void WritesFlushesAndReadsLandByteExact(FileIoEngine engine, bool direct, int segmentBytes)
    {
        var original = Random(1 << 20, 2);
        string path = FileWith(original);
        var data = Random(64 << 10, 3);
        using (var d = StartManual(path, direct, engine))
        {
            var w = AlignedWrite(d, 64, data);
            d.Publish(0);
            Assert.That(d.Wait(w).BlkStatus, Is.EqualTo(BlkStatus.Ok));
            var w2 = d.Execute(new BlkRequestHeader(BlkRequestType.Out, 600), data, segmentBytes: segmentBytes);
            Assert.That(w2.BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(d.Execute(new BlkRequestHeader(BlkRequestType.Flush, 0)).BlkStatus, Is.EqualTo(BlkStatus.Ok));
            var r = d.Execute(new BlkRequestHeader(BlkRequestType.In, 600), inLength: data.Length, segmentBytes: segmentBytes);
            Assert.That(r.BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(r.Data, Is.EqualTo(data));
            if (engine == FileIoEngine.Sync) Assert.That(d.Device.GetQueueIoCounters(0), Is.Null, "io=sync opens no io_uring");
        }
        var expected = (byte[])original.Clone();
        data.CopyTo(expected, 64 * 512);
        data.CopyTo(expected, 600 * 512);
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(expected));
    }

    [Test]
    public void AShortReadIsResubmitted_AndTheEndOfTheFileIsAnIoErrorNeverSuccess()
    {
        string path = FileWith(Random(1 << 20, 4));
        using var d = StartManual(path, direct: false, FileIoEngine.IoUring);
        // The file shrinks underneath the device: the last 8 KiB now ends 1 KiB into it.
        using (var f = new FileStream(path, FileMode.Open, FileAccess.Write)) f.SetLength((1 << 20) - 7 * 1024);
        var tail = AlignedRead(d, ((1 << 20) - 8192) / 512, 8192);
        d.Publish(0);
        var done = d.Wait(tail);
        Assert.That(done.BlkStatus, Is.EqualTo(BlkStatus.IoError), "1 KiB of 8 KiB read is not a successful read");
        Assert.That(d.Device.GetQueueIoCounters(0)!.Value.Resubmitted, Is.GreaterThanOrEqualTo(1), "the short read went back for the rest");
        var head = AlignedRead(d, 0, 4096);
        d.Publish(0);
        Assert.That(d.Wait(head).BlkStatus, Is.EqualTo(BlkStatus.Ok), "the queue keeps serving");
    }

    [Test]
    public void EagainAndEintrFromTheKernel_AreRetried_NeverReportedAsErrors()
    {
        var original = Random(1 << 20, 12);
        string path = FileWith(original);
        using var d = MiniDriver.Start(
            new FileBackend(new FileBackendOptions { Path = path, IoEngine = FileIoEngine.IoUring, TransientErrorsForTests = 6 }),
            new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Manual }, new MiniDriverOptions { RegionBytes = 48 << 20 });
        var payload = Random(8192, 13);
        var write = AlignedWrite(d, 16, payload);
        var reads = Enumerable.Range(0, 4).Select(i => AlignedRead(d, (ulong)i * 64, 4096)).ToArray();
        d.Publish(0);
        Assert.That(d.Wait(write).BlkStatus, Is.EqualTo(BlkStatus.Ok), "the write was retried, not failed");
        var done = d.WaitAll(reads);
        for (int i = 0; i < done.Length; i++)
        {
            Assert.That(done[i].BlkStatus, Is.EqualTo(BlkStatus.Ok), $"read {i} was retried, not failed");
            Assert.That(done[i].Data, Is.EqualTo(original.AsSpan(i * 64 * 512, 4096).ToArray()), $"read {i} has the file's data");
        }
        var counters = d.Device.GetQueueIoCounters(0)!.Value;
        Assert.That(counters.Resubmitted, Is.EqualTo(6), "each EAGAIN and EINTR went back to the kernel once");
        Assert.That(File.ReadAllBytes(path).AsSpan(16 * 512, 8192).SequenceEqual(payload), "the retried write is in the file");
    }

    /// <summary>Large O_DIRECT reads spread over the file take real time on the disk: long enough to catch a stop that does not wait.</summary>
    private static Pending[] StartSlowReads(MiniDriver d, int count)
    {
        var reads = Enumerable.Range(0, count).Select(i => AlignedRead(d, (ulong)i * 2048 * 3, 1 << 20)).ToArray();
        d.Publish(0);
        d.Device.Poll();
        Assert.That(d.Device.GetQueueIoCounters(0)!.Value.Started, Is.EqualTo(count));
        return reads;
    }

    private static void AssertNothingWrittenAfterRelease(MiniDriver d, Pending[] reads)
    {
        foreach (var r in reads)
            Assert.That(d.Host(r.StatusGuest, 1)[0], Is.Not.EqualTo(Payload.UntouchedStatus), "every request was answered before the stop returned");
        // Poison what the driver got back; nothing may write it any more.
        foreach (var r in reads) d.Host(r.InGuest, r.InLength + 1).Fill(0xC5);
        Thread.Sleep(50);
        foreach (var r in reads)
            Assert.That(d.Host(r.InGuest, r.InLength + 1).IndexOfAnyExcept((byte)0xC5), Is.EqualTo(-1), "a released buffer was written");
    }

    private string BigFile()
    {
        // 40 MiB of real data on the disk (holes would read back at once), read with O_DIRECT: each 1 MiB read goes to the disk.
        string path = Path.Combine(_dir, "big.img");
        var block = Random(1 << 20, 5);
        using (var f = new FileStream(path, FileMode.Create))
            for (int i = 0; i < 40; i++) f.Write(block);
        return path;
    }

    /// <summary>
    /// The device's promise beyond VirtIO's rule (the engine sends a write and its flush together on it): a flush made
    /// available behind writes still in the kernel completes only after them — with O_DIRECT a bare fdatasync has
    /// nothing dirty to wait for and would overtake megabyte writes still on their way to the disk.
    /// </summary>
    [Test]
    public void AFlushMadeAvailableBehindWritesInTheKernel_CompletesOnlyAfterThem()
    {
        using var d = StartManual(BigFile(), direct: true, FileIoEngine.IoUring, regionBytes: 64 << 20);
        var payload = Random(1 << 20, 11);
        for (int round = 0; round < 6; round++)
        {
            var writes = Enumerable.Range(0, 6).Select(i => AlignedWrite(d, (ulong)(round * 6 + i) * 2048, payload)).ToArray();
            var flush = d.Add(0, new BlkRequestHeader(BlkRequestType.Flush, 0));
            d.Publish(0);
            long before = d.Device.GetQueueIoCounters(0)!.Value.Started;
            d.Device.Poll();
            Assert.That(d.Device.GetQueueIoCounters(0)!.Value.Started - before, Is.EqualTo(7), "the writes and the flush went to the kernel in one pass");
            // Here the disk itself (a virtio disk that executes in order) may keep the order anyway: the count says the
            // flush was sent to wait for them, which is what a reordering disk needs.
            Assert.That(d.Device.GetQueueIoCounters(0)!.Value.OrderedFlushes, Is.EqualTo(round + 1), "the flush went drained behind the writes");
            Assert.That(d.WaitAll([.. writes, flush]).Select(c => c.BlkStatus), Is.All.EqualTo(BlkStatus.Ok));
            Assert.That(writes.Select(w => w.ReapedAs), Is.All.LessThan(flush.ReapedAs),
                $"round {round}: the flush completed as number {flush.ReapedAs}, before a write it covers ({string.Join(", ", writes.Select(w => w.ReapedAs))})");
        }
        Assert.That(File.ReadAllBytes(Path.Combine(_dir, "big.img")).AsSpan(0, 1 << 20).SequenceEqual(payload), "the data is in the file");
    }

    /// <summary>
    /// A write and its flush made available together (a WAL group) go to the kernel in one submission, the fsync linked
    /// behind the write (IOSQE_IO_LINK), so it needs no round trip through the device queue; it still completes after
    /// the write, and the data is in the file.
    /// </summary>
    [Test]
    public void AFlushBehindTheOneWriteOfItsPass_GoesLinkedInTheSameSubmission()
    {
        using var d = StartManual(BigFile(), direct: true, FileIoEngine.IoUring);
        var payload = Random(64 << 10, 12);
        for (int round = 0; round < 4; round++)
        {
            var write = AlignedWrite(d, (ulong)round * 128, payload);
            var flush = d.Add(0, new BlkRequestHeader(BlkRequestType.Flush, 0));
            d.Publish(0);
            var before = d.Device.GetQueueIoCounters(0)!.Value;
            d.Device.Poll();
            var after = d.Device.GetQueueIoCounters(0)!.Value;
            Assert.That((after.Started - before.Started, after.LinkedFlushes - before.LinkedFlushes), Is.EqualTo((2L, 1L)),
                "the write and its flush went to the kernel together, linked");
            Assert.That(d.WaitAll([write, flush]).Select(c => c.BlkStatus), Is.All.EqualTo(BlkStatus.Ok));
            Assert.That(write.ReapedAs, Is.LessThan(flush.ReapedAs), "the flush completed after the write it covers");
        }
        using var file = File.OpenRead(Path.Combine(_dir, "big.img"));
        var back = new byte[payload.Length];
        file.Position = 3 * 128 * 512;
        file.ReadExactly(back);
        Assert.That(back, Is.EqualTo(payload));
    }

    /// <summary>
    /// When the kernel fails the write a flush is linked behind, it cancels the flush (-ECANCELED): the device then holds
    /// the flush like any other behind a write and sends it once that write is over, so the flush is answered (OK: it
    /// covers what was written) after the write's IOERR, never cancelled into an error of its own.
    /// </summary>
    [Test]
    public void AFlushLinkedBehindAWriteTheKernelFails_IsSentAgainAfterIt()
    {
        string path = BigFile();
        using var d = MiniDriver.Start(
            new FileBackend(new FileBackendOptions { Path = path, Direct = true, IoEngine = FileIoEngine.IoUring, KernelFailedWritesForTests = 1 }),
            new SoftBlkDeviceOptions { Mode = DeviceServiceMode.Manual }, new MiniDriverOptions { QueueSize = 64, RegionBytes = 48 << 20 });
        var write = AlignedWrite(d, 0, Random(4096, 13));
        var flush = d.Add(0, new BlkRequestHeader(BlkRequestType.Flush, 0));
        d.Publish(0);
        d.Device.Poll();
        Assert.That(d.Device.GetQueueIoCounters(0)!.Value.LinkedFlushes, Is.EqualTo(1), "the flush went linked behind the write");
        var done = d.WaitAll([write, flush]);
        Assert.That(done.Select(c => c.BlkStatus), Is.EqualTo(new[] { BlkStatus.IoError, BlkStatus.Ok }));
        Assert.That(write.ReapedAs, Is.LessThan(flush.ReapedAs));
        Assert.That(d.Device.GetQueueIoCounters(0)!.Value.Canceled, Is.Zero, "the link's cancellation is not a drain's");
        // The queue goes on serving, linked pairs included.
        var again = AlignedWrite(d, 8, Random(4096, 14));
        var flushAgain = d.Add(0, new BlkRequestHeader(BlkRequestType.Flush, 0));
        d.Publish(0);
        Assert.That(d.WaitAll([again, flushAgain]).Select(c => c.BlkStatus), Is.All.EqualTo(BlkStatus.Ok));
    }

    [Test]
    public void AQueueResetWaitsForTheKernel_BeforeTheDriverGetsItsBuffersBack()
    {
        using var d = StartManual(BigFile(), direct: true, FileIoEngine.IoUring);
        var reads = StartSlowReads(d, 12);
        d.Device.ResetQueue(0);
        Assert.That(d.Device.InFlightBackendRequests, Is.Zero);
        AssertNothingWrittenAfterRelease(d, reads);
    }

    [Test]
    public void ADeviceResetWaitsForTheKernel_BeforeItUnmapsGuestMemory()
    {
        using var d = StartManual(BigFile(), direct: true, FileIoEngine.IoUring);
        var reads = StartSlowReads(d, 12);
        d.Device.Reset();
        AssertNothingWrittenAfterRelease(d, reads);
    }

    [Test]
    public void StoppingAQueueWaitsForTheKernel_AndReportsAPositionWithEverythingPoppedCompleted()
    {
        using var d = StartManual(BigFile(), direct: true, FileIoEngine.IoUring);
        var reads = StartSlowReads(d, 12);
        var position = d.Device.StopQueue(0);
        Assert.That(position, Is.Not.Null);
        Assert.That(position!.Value.AvailIndex, Is.EqualTo(12), "everything popped; GET_VRING_BASE reports where the device stopped");
        AssertNothingWrittenAfterRelease(d, reads);
        Assert.That(d.Reap(0), Is.EqualTo(12), "every popped request was completed into the used ring before the stop returned");
    }

    [TestCase(DeviceServiceMode.Polled)]
    [TestCase(DeviceServiceMode.Adaptive)]
    public void TheDeviceThreadAllocatesNothingPerRequest_ThroughIoUring(DeviceServiceMode mode)
    {
        string path = FileWith(Random(1 << 20, 7));
        using var d = MiniDriver.Start(new FileBackend(new FileBackendOptions { Path = path, IoEngine = FileIoEngine.IoUring }),
            new SoftBlkDeviceOptions { Mode = mode, YieldWhenIdle = true },
            new MiniDriverOptions { KickEventFds = true, QueueSize = 128 });
        var data = Payload.Pattern(4096);
        void Burst()
        {
            var pending = new List<Pending>();
            for (int i = 0; i < 32; i++)
            {
                pending.Add(d.Add(0, new BlkRequestHeader(BlkRequestType.Out, (ulong)i * 8), data));
                pending.Add(d.Add(0, new BlkRequestHeader(BlkRequestType.In, (ulong)i * 8), inLength: 4096, segmentBytes: 1024));
                pending.Add(d.Add(0, new BlkRequestHeader(BlkRequestType.Flush, 0)));
            }
            d.Publish(0);
            Assert.That(d.WaitAll(pending).Select(c => c.BlkStatus), Is.All.EqualTo(BlkStatus.Ok));
        }

        for (int i = 0; i < 3; i++) Burst();
        // Steady state is two clean windows in a row (of at most six): the runtime's one-time tiering of a path first
        // taken late (the adaptive thread's sleep with requests in the kernel) may allocate once; a per-request or
        // periodic allocation dirties every window.
        var windows = new List<long>();
        int clean = 0;
        while (clean < 2 && windows.Count < 6)
        {
            long started = d.Device.GetQueueIoCounters(0)!.Value.Started;
            long before = d.SettledDeviceThreadAllocatedBytes();
            for (int i = 0; i < 10; i++) Burst();
            long after = d.SettledDeviceThreadAllocatedBytes();
            Assert.That(d.Device.GetQueueIoCounters(0)!.Value.Started - started, Is.EqualTo(960), "every request went through io_uring");
            windows.Add(after - before);
            clean = after == before ? clean + 1 : 0;
        }
        Assert.That(clean, Is.EqualTo(2), $"bytes allocated on the device thread per window of 960 requests through io_uring: {string.Join(", ", windows)}");
    }

    /// <summary>
    /// Adaptive mode with <see cref="SoftBlkDeviceOptions.AdaptiveSleepWithIoAfter"/>: zero sleeps as soon as the only
    /// work is a read in the kernel (and the kernel's completion wakes the thread); a long one spins through it. The
    /// plain poll window is a second long here, so every sleep counted comes from the rule under test.
    /// </summary>
    [TestCase(0, true)]
    [TestCase(1_000_000, false)]
    public void AnAdaptiveThreadWithRequestsInTheKernel_SleepsOnlyWhenItsIoWindowSaysSo(int ioWindowUs, bool sleeps)
    {
        string path = FileWith(Random(4 << 20, 11));
        using var d = MiniDriver.Start(new FileBackend(new FileBackendOptions { Path = path, Direct = true, IoEngine = FileIoEngine.IoUring }),
            new SoftBlkDeviceOptions
            {
                Mode = DeviceServiceMode.Adaptive, YieldWhenIdle = true,
                AdaptiveSleepAfter = TimeSpan.FromSeconds(1), AdaptiveSleepWithIoAfter = TimeSpan.FromMicroseconds(ioWindowUs),
            },
            new MiniDriverOptions { KickEventFds = true, QueueSize = 64 });
        var expected = File.ReadAllBytes(path);
        const int Reads = 40;
        long before = d.Device.GetQueueStats(0).Sleeps;
        for (int i = 0; i < Reads; i++)
        {
            // Spread over the file, so the disk (not a cache) answers and each read spends time in the kernel.
            ulong sector = (ulong)(i * 97 % 1024) * 8;
            var read = AlignedRead(d, sector, 4096);
            d.Publish(0);
            var c = d.Wait(read);
            Assert.That(c.BlkStatus, Is.EqualTo(BlkStatus.Ok));
            Assert.That(c.Data, Is.EqualTo(expected.AsSpan((int)sector * 512, 4096).ToArray()), $"read {i}");
        }
        long slept = d.Device.GetQueueStats(0).Sleeps - before;
        if (sleeps) Assert.That(slept, Is.GreaterThanOrEqualTo(Reads / 2), "with a zero I/O window the thread sleeps while the disk works");
        else Assert.That(slept, Is.LessThanOrEqualTo(2), "with a long I/O window the thread spins through each read");
    }

    [Test]
    public void WithIoUringOff_TheDeviceServesSynchronously_AndSaysSo()
    {
        string path = FileWith(Random(1 << 20, 6));
        using var backend = new FileBackend(new FileBackendOptions { Path = path, IoEngine = FileIoEngine.Sync });
        Assert.That(backend.UsesIoUring, Is.False);
        Assert.That(backend.IoEngine, Does.StartWith("sync"));
        Assert.That(backend.OpenQueueIo(64, 16, new Execution.BlkRequestExecutor(backend, new Execution.BlkDeviceSettings())), Is.Null);
    }
}
