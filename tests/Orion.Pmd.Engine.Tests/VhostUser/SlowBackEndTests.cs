using Orion.Pmd.Engine.Tests.VhostUser.Support;
using Orion.Pmd.Engine.Transport.VhostUser;
using Orion.Pmd.Virtio.VhostUser;

namespace Orion.Pmd.Engine.Tests.VhostUser;

/// <summary>
/// A back-end that answers a control request too late: the engine ends that connection (a late reply must never be
/// read as the answer to a later request), the link supervisor reconnects, and every request goes through again.
/// </summary>
[NonParallelizable]
public class SlowBackEndTests
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    [Test]
    [CancelAfter(120_000)]
    public async Task AGetVringBaseAnsweredPastTheReplyTimeoutEndsTheConnectionAndTheEngineComesBack()
    {
        using var daemon = OrionVhostProcess.Start("mem:16M");
        using var proxy = new VhostUserProxy(daemon.SocketPath);
        using var engine = PmdEngine.Start(new EngineOptions
        {
            Device = proxy.DeviceString, Queues = 1, QueueSize = 64, Pin = false, BufferMemoryBytes = 8 << 20,
            VhostUser = new VhostUserOptions { ReplyTimeout = ReplyTimeout, ReconnectTimeout = TimeSpan.FromSeconds(30) },
        });
        var dev = engine.Device;
        using var first = dev.Rent(4096);
        first.Span.Fill(0xA1);
        await dev.WriteAsync(0, first.Memory).AsTask().WaitAsync(Bound);

        // The owner's queue reset (queue disabled and drained) is where GET_VRING_BASE goes out; a device reset
        // reconnects instead (qemu-storage-daemon's GET_VRING_BASE does not wait for what it executes).
        var queue = dev.GetQueue(0);
        queue.Disable();
        proxy.DelayNextReply(VhostUserRequest.GetVringBase, ReplyTimeout + TimeSpan.FromSeconds(1));
        var reset = Task.Run(() => queue.Reset());
        Assert.That(async () => await reset.WaitAsync(Bound), Throws.InstanceOf<IOException>().And.Not.InstanceOf<TimeoutException>(),
            "the reset fails: the back-end did not answer in time");
        Assert.That(proxy.DelayedReplies, Is.EqualTo(1));
        queue.Enable();

        // Every later request completes: the connection was ended and the engine reconnected on a fresh one.
        using var second = dev.Rent(4096);
        second.Span.Fill(0xB2);
        await dev.WriteAsync(8, second.Memory).AsTask().WaitAsync(Bound);
        using var back = dev.Rent(8192);
        await dev.ReadAsync(0, back.Memory).AsTask().WaitAsync(Bound);
        Assert.That(back.Span[..4096].ToArray(), Is.All.EqualTo((byte)0xA1));
        Assert.That(back.Span[4096..].ToArray(), Is.All.EqualTo((byte)0xB2));
        Assert.That(engine.Reconnects, Is.EqualTo(1), engine.LastDeviceReset);
        Assert.That(proxy.Connections, Is.EqualTo(2));
        Assert.That(engine.DeviceLost, Is.False);

        // The engine is usable as before: a device reset on the new connection succeeds.
        await engine.ResetDeviceAsync().WaitAsync(Bound);
        await dev.ReadAsync(0, back.Memory).AsTask().WaitAsync(Bound);
        Assert.That(back.Span[..4096].ToArray(), Is.All.EqualTo((byte)0xA1));
    }
}
