namespace Orion.Pmd.Linux.Tests;

public class UnixSocketTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("orion-us-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void PassesDescriptorsWithTheMessage()
    {
        var (a, b) = UnixSocket.CreatePair();
        using (a)
        using (b)
        using (var e1 = new EventFd())
        using (var e2 = new EventFd())
        {
            a.Send([1, 2, 3, 4], [e1.Fd, e2.Fd]);
            Span<byte> buf = stackalloc byte[4];
            Span<int> fds = stackalloc int[8];
            Assert.That(b.ReceiveExact(buf, fds, out int count), Is.True);
            Assert.That(buf.ToArray(), Is.EqualTo(new byte[] { 1, 2, 3, 4 }));
            Assert.That(count, Is.EqualTo(2));
            // The received descriptors are new numbers for the same eventfds.
            using var r1 = EventFd.FromFd(fds[0], ownsFd: true);
            using var r2 = EventFd.FromFd(fds[1], ownsFd: true);
            Assert.That(fds[0], Is.Not.EqualTo(e1.Fd));
            r1.Signal(5);
            Assert.That(e1.TryConsume(out ulong v) && v == 5, Is.True);
            e2.Signal(7);
            Assert.That(r2.TryConsume(out v) && v == 7, Is.True);
        }
    }

    [Test]
    public void TooManyDescriptorsAreClosedAndReported()
    {
        var (a, b) = UnixSocket.CreatePair();
        using (a)
        using (b)
        using (var e = new EventFd())
        {
            a.Send([9], [e.Fd, e.Fd, e.Fd]);
            Span<int> fds = stackalloc int[2];
            var ex = Assert.Throws<IOException>(() => b.Receive(new byte[1], new int[2], out _));
            Assert.That(ex!.Message, Does.Contain("3 descriptors"));
        }
    }

    [Test]
    public void OrderlyHangUpBeforeAMessageIsFalseAndMidMessageThrows()
    {
        var (a, b) = UnixSocket.CreatePair();
        using (b)
        {
            a.Send([1, 2]);
            a.Dispose();
            Assert.That(b.IsHungUp(1000), Is.True);
            Assert.Throws<EndOfStreamException>(() => b.ReceiveExact(new byte[4], new int[1], out _));
            Assert.That(b.ReceiveExact(new byte[4], new int[1], out _), Is.False);
        }
    }

    [Test]
    public void SendToAClosedPeerIsAnErrorNotASignal()
    {
        var (a, b) = UnixSocket.CreatePair();
        b.Dispose();
        using (a)
        {
            var ex = Assert.Throws<LinuxException>(() => { for (int i = 0; i < 4; i++) a.Send(new byte[64]); });
            Assert.That(ex!.Errno, Is.EqualTo(Errno.EPIPE).Or.EqualTo(Errno.ECONNRESET));
        }
    }

    [Test]
    public void ListenAcceptConnectAndRemoveTheSocketFile()
    {
        string path = Path.Combine(_dir, "s.sock");
        using (var listener = UnixSocket.Listen(path))
        {
            Assert.That(listener.Accept(0), Is.Null);
            using var client = UnixSocket.Connect(path);
            using var server = listener.Accept(5000);
            Assert.That(server, Is.Not.Null);
            client.Send([42]);
            var buf = new byte[1];
            Assert.That(server!.ReceiveExact(buf, default, out _), Is.True);
            Assert.That(buf[0], Is.EqualTo(42));
            Assert.Throws<IOException>(() => UnixSocket.Listen(path), "a live listener must not be replaced");
        }
        Assert.That(File.Exists(path), Is.False);
    }

    [Test]
    public void AStaleSocketFileIsReplaced()
    {
        string path = Path.Combine(_dir, "stale.sock");
        var first = UnixSocket.Listen(path);
        // Simulate a process that died: close the fd without running Dispose's unlink.
        Interop.LibC.close(first.Fd);
        Assert.That(File.Exists(path), Is.True);
        using var second = UnixSocket.Listen(path);
        using var client = UnixSocket.Connect(path);
        Assert.That(second.Accept(5000), Is.Not.Null);
    }

    [Test]
    public void ARegularFileIsNotRemoved()
    {
        string path = Path.Combine(_dir, "data");
        File.WriteAllText(path, "keep");
        var ex = Assert.Throws<IOException>(() => UnixSocket.Listen(path));
        Assert.That(ex!.Message, Does.Contain("not a socket"));
        Assert.That(File.ReadAllText(path), Is.EqualTo("keep"));
    }

    [Test]
    public void ConnectErrorsNameThePath()
    {
        string path = Path.Combine(_dir, "none.sock");
        var ex = Assert.Throws<LinuxException>(() => UnixSocket.Connect(path));
        Assert.That(ex!.Errno, Is.EqualTo(Errno.ENOENT));
        Assert.That(ex.Message, Does.Contain(path));
    }

    [Test]
    public void OverlongPathsAreRefusedClearly()
    {
        var ex = Assert.Throws<ArgumentException>(() => UnixSocket.Connect("/tmp/" + new string('x', 120)));
        Assert.That(ex!.Message, Does.Contain("at most 107"));
    }

    [Test]
    public void ShutdownWakesABlockedReader()
    {
        var (a, b) = UnixSocket.CreatePair();
        using (a)
        using (b)
        {
            var reader = Task.Run(() => b.ReceiveExact(new byte[12], new int[8], out _));
            Thread.Sleep(50);
            b.Shutdown();
            Assert.That(reader.Wait(5000), Is.True);
            Assert.That(reader.Result, Is.False);
        }
    }

    [Test]
    public void AdoptsAnInheritedListenerAndLeavesItsFile()
    {
        string path = Path.Combine(_dir, "activated.sock");
        using var owner = UnixSocket.Listen(path);                  // stands for systemd, which made the socket
        using var adopted = UnixSocket.AdoptListener(Dup(owner.Fd), path);
        using (var client = UnixSocket.Connect(path))
        using (var server = adopted.Accept(5000))
            Assert.That(server, Is.Not.Null, "the adopted descriptor accepts");
        adopted.Dispose();
        Assert.That(File.Exists(path), Is.True, "an adopted socket's file belongs to whoever made it");
    }

    [Test]
    public void RefusesToAdoptWhatIsNotAListeningUnixSocket()
    {
        var (a, b) = UnixSocket.CreatePair();
        using (a)
        using (b)
            Assert.That(() => UnixSocket.AdoptListener(a.Fd), Throws.ArgumentException.With.Message.Contains("is not a listening Unix stream socket"));
        using var eventFd = new EventFd();
        Assert.That(() => UnixSocket.AdoptListener(eventFd.Fd), Throws.ArgumentException.With.Message.Contains("is not an open socket"));
    }

    // A second descriptor for the same socket, as systemd keeps its own while the service has descriptor 3.
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "dup", SetLastError = true)]
    private static extern int Dup(int fd);
}
