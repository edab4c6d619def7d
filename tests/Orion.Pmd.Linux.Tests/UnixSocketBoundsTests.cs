namespace Orion.Pmd.Linux.Tests;

/// <summary>
/// A peer that stops part-way through a message, or sends more descriptors than a read takes, must neither hang the
/// reader nor leave descriptors open in it (issue 13: the vhost-user front-end leaked fds from a partially read reply).
/// </summary>
public class UnixSocketBoundsTests
{
    /// <summary>How many of this process's fds are the memfd called <paramref name="name"/>.</summary>
    internal static int OpenCopiesOf(string name) =>
        Directory.GetFiles("/proc/self/fd").Count(f =>
        {
            try { return new FileInfo(f).LinkTarget?.StartsWith($"/memfd:{name}", StringComparison.Ordinal) == true; }
            catch (IOException) { return false; }
        });

    [Test]
    public void DescriptorsFromAnEarlierPartAreClosedWhenALaterPartOverflows()
    {
        string name = $"orion-overflow-{Guid.NewGuid():N}";
        using var marker = SharedMemory.Create(name, 4096);
        var (a, b) = UnixSocket.CreatePair();
        using (a)
        using (b)
        {
            // 4 bytes carrying 8 fds, then the other 8 bytes carrying one more: the second recvmsg has no room left.
            a.Send([1, 2, 3, 4], Enumerable.Repeat(marker.Fd, 8).ToArray());
            a.Send([5, 6, 7, 8, 9, 10, 11, 12], [marker.Fd]);
            Assert.Throws<IOException>(() => b.ReceiveExact(new byte[12], new int[8], out _));
            Assert.That(OpenCopiesOf(name), Is.EqualTo(1), "only the sender's own fd is left");
        }
    }

    [Test]
    public void AReadWithADeadlineGivesUpOnAPeerThatStopsMidMessageAndClosesWhatCame()
    {
        string name = $"orion-stall-{Guid.NewGuid():N}";
        using var marker = SharedMemory.Create(name, 4096);
        var (a, b) = UnixSocket.CreatePair();
        using (a)
        using (b)
        {
            a.Send([1, 2, 3, 4], [marker.Fd, marker.Fd]);
            var ex = Assert.Throws<TimeoutException>(() => b.ReceiveExact(new byte[12], new int[8], out _, timeoutMs: 100));
            Assert.That(ex!.Message, Does.Contain("4 of 12 bytes"));
            Assert.That(OpenCopiesOf(name), Is.EqualTo(1));
        }
    }

    [Test]
    public void AReadWithADeadlineReturnsTheWholeMessageAndFalseOnAnOrderlyHangUp()
    {
        var (a, b) = UnixSocket.CreatePair();
        using (b)
        {
            var writer = Task.Run(() =>
            {
                a.Send([1, 2]);
                Thread.Sleep(20);
                a.Send([3, 4]);
            });
            var buf = new byte[4];
            Assert.That(b.ReceiveExact(buf, new int[1], out _, timeoutMs: 5000), Is.True);
            Assert.That(buf, Is.EqualTo(new byte[] { 1, 2, 3, 4 }));
            writer.Wait(5000);
            a.Dispose();
            Assert.That(b.ReceiveExact(buf, new int[1], out _, timeoutMs: 5000), Is.False);
        }
    }

    [Test]
    public void ASendToAPeerThatNeverReadsEndsAfterTheSendTimeout()
    {
        var (a, b) = UnixSocket.CreatePair();
        using (a)
        using (b)
        {
            a.SendTimeout = TimeSpan.FromMilliseconds(100);
            var big = new byte[1 << 20];
            var send = Task.Run(() => { for (int i = 0; i < 64; i++) a.Send(big); });
            Assert.That(() => send.Wait(10_000), Throws.InstanceOf<AggregateException>().With.InnerException.InstanceOf<TimeoutException>());
        }
    }
}
