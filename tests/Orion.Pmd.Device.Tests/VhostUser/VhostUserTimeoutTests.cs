using Orion.Pmd.Device.Tests.VhostUser.Support;
using Orion.Pmd.Device.VhostUser;
using Orion.Pmd.Linux;
using Orion.Pmd.Virtio.Blk;
using Orion.Pmd.Virtio.VhostUser;

namespace Orion.Pmd.Device.Tests.VhostUser;

/// <summary>
/// A front-end that stops mid-message, never reads its replies, or connects and sends nothing while another client
/// waits, must not hold the one-client back-end for ever (issue 13, Low): each is dropped after a bounded, configured
/// time with a line on the log, and the next client is served. A quiet client alone, or one whose queues run, stays.
/// </summary>
[NonParallelizable]
public class VhostUserTimeoutTests
{
    private static readonly VhostUserServerOptions Short = new()
    {
        MessageTimeout = TimeSpan.FromMilliseconds(300),
        IdleTimeout = TimeSpan.FromMilliseconds(300),
    };

    private static void NextClientIsServed(ServerHarness server)
    {
        using var good = server.Connect().Ready();
        var data = TestFrontEnd.Pattern(4096, 7);
        Assert.That(good.Write(8, data).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        Assert.That(good.Read(8, 4096, queue: 1).Data, Is.EqualTo(data));
        Assert.That(server.Crash, Is.Null);
    }

    [Test]
    [CancelAfter(60_000)]
    public void AClientThatStopsMidMessageIsDroppedAfterTheMessageTimeout()
    {
        using var server = new ServerHarness(serverOptions: Short);
        using var stalled = server.Connect();
        var header = new byte[VhostUserHeader.Size];
        VhostUserHeader.ForRequest(VhostUserRequest.GetFeatures, 0).Write(header);
        stalled.Socket.Send(header.AsSpan(0, 5));                  // 5 of 12 header bytes, then nothing
        Assert.That(stalled.WaitForHangUp(10_000), Is.True, "dropped: " + server.LogText);
        Assert.That(server.WaitForClosedConnections(1), Is.True);
        Assert.That(server.Server.LastCloseReason, Does.Contain("stopped in the middle of a message").And.Contain("5 of 12 bytes"));
        NextClientIsServed(server);
    }

    [Test]
    [CancelAfter(60_000)]
    public void AClientThatStopsAfterAHeaderIsDroppedAfterTheMessageTimeout()
    {
        using var server = new ServerHarness(serverOptions: Short);
        using var stalled = server.Connect();
        stalled.SendRaw(VhostUserRequest.SetVringNum, new byte[3], size: 8);   // 3 of 8 payload bytes
        Assert.That(stalled.WaitForHangUp(10_000), Is.True, "dropped: " + server.LogText);
        Assert.That(server.WaitForClosedConnections(1), Is.True);
        Assert.That(server.Server.LastCloseReason, Does.Contain("stopped in the middle of a message").And.Contain("SetVringNum"));
        NextClientIsServed(server);
    }

    [Test]
    [CancelAfter(60_000)]
    public void AClientThatNeverReadsItsRepliesIsDropped()
    {
        using var server = new ServerHarness(serverOptions: Short);
        using var deaf = server.Connect();
        deaf.Socket.SendTimeout = TimeSpan.FromMilliseconds(200);
        var message = new byte[VhostUserHeader.Size];
        VhostUserHeader.ForRequest(VhostUserRequest.GetFeatures, 0).Write(message);
        // Requests with replies, never read: the back-end's replies fill the socket, then its own reads stop.
        var flood = Task.Run(() =>
        {
            try { for (int i = 0; i < 1_000_000; i++) deaf.Socket.Send(message); }
            catch (Exception e) when (e is TimeoutException or LinuxException) { }
        });
        Assert.That(flood.Wait(20_000), Is.True, "the flood ended: the back-end stopped reading or hung up");
        Assert.That(server.WaitForClosedConnections(1, TimeSpan.FromSeconds(10)), Is.True, "dropped: " + server.LogText);
        Assert.That(server.Server.LastCloseReason, Does.Contain("does not read its replies"));
        deaf.Socket.Dispose();
        NextClientIsServed(server);
    }

    [Test]
    [CancelAfter(60_000)]
    public void ASilentClientIsDroppedWhenAnotherWaitsButKeptWhileAlone()
    {
        using var server = new ServerHarness(serverOptions: Short);
        using var silent = server.Connect();
        silent.CallU64(VhostUserRequest.GetFeatures);              // then nothing, and no queue runs
        Assert.That(silent.WaitForHangUp(1500), Is.False, "alone, it is kept (QEMU may wait long before it starts a queue)");
        NextClientIsServedAfterTheIdleOneIsDropped(server, silent);
    }

    [Test]
    [CancelAfter(60_000)]
    public void AClientThatConnectsAndSendsNothingIsDroppedWhenAnotherWaits()
    {
        using var server = new ServerHarness(serverOptions: Short);
        using var mute = server.Connect();
        Thread.Sleep(100);
        NextClientIsServedAfterTheIdleOneIsDropped(server, mute);
    }

    private static void NextClientIsServedAfterTheIdleOneIsDropped(ServerHarness server, TestFrontEnd idle)
    {
        using var next = server.Connect();                        // waits in the backlog
        Assert.That(idle.WaitForHangUp(10_000), Is.True, "the idle client was dropped: " + server.LogText);
        Assert.That(server.WaitForClosedConnections(1), Is.True);
        Assert.That(server.Server.LastCloseReason, Does.Contain("sent nothing for 300 ms").And.Contain("another client waits"));
        Assert.That(server.LogText, Does.Contain("another client waits"), "logged");
        next.Ready();
        var data = TestFrontEnd.Pattern(4096, 3);
        Assert.That(next.Write(16, data).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        Assert.That(next.Read(16, 4096).Data, Is.EqualTo(data));
    }

    [Test]
    [CancelAfter(60_000)]
    public void AQuietClientWithRunningQueuesIsNeverDropped()
    {
        using var server = new ServerHarness(serverOptions: Short);
        using var busy = server.Connect().Ready();
        using var waiting = server.Connect();
        Thread.Sleep(1500);                                       // five idle timeouts with a client waiting
        Assert.That(busy.WaitForHangUp(0), Is.False, "a front-end doing I/O through its rings sends no messages");
        var data = TestFrontEnd.Pattern(4096, 5);
        Assert.That(busy.Write(0, data).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        Assert.That(server.Server.ConnectionsServed, Is.Zero);
    }
}
