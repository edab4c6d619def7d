using Orion.Pmd.Engine;
using Orion.Pmd.Linux;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.VhostUser;

namespace Orion.Vhost.Tests;

/// <summary>The real orion-vhost process: it listens, answers, serves the engine's vhost-user transport, and stops cleanly on a signal.</summary>
[NonParallelizable]
public class VhostProcessTests
{
    private static ulong Call(UnixSocket socket, VhostUserRequest request)
    {
        var message = new byte[VhostUserHeader.Size];
        VhostUserHeader.ForRequest(request, 0).Write(message);
        socket.Send(message);
        Assert.That(socket.WaitReadable(5000), Is.True, $"a reply to {request}");
        var head = new byte[VhostUserHeader.Size];
        Assert.That(socket.ReceiveExact(head, Span<int>.Empty, out _), Is.True);
        var h = VhostUserHeader.Read(head);
        Assert.That((h.Request, h.IsReply, h.PayloadSize), Is.EqualTo((request, true, 8u)));
        var payload = new byte[8];
        socket.ReceiveExact(payload, Span<int>.Empty, out _);
        Assert.That(VhostUserU64.TryRead(payload, out ulong value), Is.True);
        return value;
    }

    [Test]
    [CancelAfter(120_000)]
    public void ListensAnswersAndExitsZeroOnSigtermRemovingTheSocket()
    {
        using var vhost = VhostProcess.Start(["--device", "mem:16M", "--queues", "2", "--packed", "off"]);
        Assert.That(vhost.Stdout, Does.Contain($"listening on {vhost.SocketPath}"));
        Assert.That(File.Exists(vhost.SocketPath), Is.True);
        using (var socket = UnixSocket.Connect(vhost.SocketPath))
        {
            var features = (VirtioFeatures)Call(socket, VhostUserRequest.GetFeatures);
            Assert.That(features.HasFlag(VirtioFeatures.Version1), Is.True);
            Assert.That(features.HasFlag(VirtioFeatures.VhostUserProtocolFeatures), Is.True);
            Assert.That(features.HasFlag(VirtioFeatures.RingPacked), Is.False, "--packed off");
            Assert.That(Call(socket, VhostUserRequest.GetQueueNum), Is.EqualTo(2UL));

            // SIGTERM with a client connected: the connection is closed, the socket removed, exit code 0.
            Assert.That(vhost.Signal(ProcessSignal.Terminate), Is.Zero, vhost.Stderr);
            Assert.That(socket.IsHungUp(5000), Is.True, "the client's connection was closed");
        }
        Assert.That(File.Exists(vhost.SocketPath), Is.False, "the socket file is removed");
        Assert.That(vhost.Stderr, Does.Contain("stopped"));
    }

    [Test]
    [CancelAfter(120_000)]
    public void SigintStopsAnIdleServer()
    {
        // A shell starts background jobs with SIGINT ignored, children inherit that, and the runtime (rightly) keeps an
        // inherited SIG_IGN: then orion-vhost is meant not to stop on SIGINT, and this test cannot ask it to.
        if (VhostProcess.SignalIgnoredHere(2)) Assert.Ignore("SIGINT is ignored in this process tree (started in the background by a shell); orion-vhost keeps it ignored");
        using var vhost = VhostProcess.Start(["--device", "null:1G"]);
        Assert.That(vhost.Signal(ProcessSignal.Interrupt), Is.Zero, vhost.Stderr);
        Assert.That(File.Exists(vhost.SocketPath), Is.False);
    }

    [Test]
    [CancelAfter(120_000)]
    public void BadArgumentsExitTwoAndAMissingFileExitsOne()
    {
        using (var bad = VhostProcess.Start(["--device", "mem:1G", "--queues", "0"], waitReady: false))
        {
            Assert.That(bad.WaitForExit(), Is.EqualTo(2));
            Assert.That(bad.Stderr, Does.Contain("--queues '0' is not valid"));
        }
        using var missing = VhostProcess.Start(["--device", "file:/nonexistent/orion/disk.img"], waitReady: false);
        Assert.That(missing.WaitForExit(), Is.EqualTo(1));
        Assert.That(missing.Stderr, Does.Contain("cannot open device"));
    }

    [TestCase(RingFormat.Split)]
    [TestCase(RingFormat.Packed)]
    [CancelAfter(120_000)]
    public async Task TheEnginesVhostUserTransportDoesIoThroughIt(RingFormat ring)
    {
        using var vhost = VhostProcess.Start(["--device", "mem:16M", "--queues", "2", "--serial", "proc-test"]);
        using (var engine = PmdEngine.Start(new EngineOptions
        {
            Device = $"vhost-user:{vhost.SocketPath}",
            Queues = 2,
            QueueSize = 64,
            Pin = false,
            IdlePolicy = Pmd.Reactors.IdlePolicy.Yield,
            BufferMemoryBytes = 8 << 20,
            Ring = ring,
        }))
        {
            var dev = engine.Device;
            Assert.That(dev.CapacityBytes, Is.EqualTo(16L << 20));
            using var buf = dev.Rent(4096);
            for (int i = 0; i < 4096; i++) buf.Span[i] = (byte)(i * 3 + 1);
            var expected = buf.Span.ToArray();
            for (int i = 0; i < 200; i++) await dev.WriteAsync(i % 64 * 8, buf.Memory);
            buf.Span.Clear();
            await dev.ReadAsync(8, buf.Memory);
            Assert.That(buf.Span.ToArray(), Is.EqualTo(expected));
            await dev.FlushAsync();
        }
        Assert.That(vhost.Signal(ProcessSignal.Terminate), Is.Zero, vhost.Stderr);
        Assert.That(vhost.Stderr, Does.Contain("connection closed: the front-end disconnected"), vhost.Stderr);
    }
}
