using Orion.Pmd.Device.Tests.VhostUser.Support;
using Orion.Pmd.Linux;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;
using Orion.Pmd.Virtio.VhostUser;

namespace Orion.Pmd.Device.Tests.VhostUser;

/// <summary>
/// A front-end hands over a blocking call eventfd whose counter is already at its maximum and asks for interrupts:
/// the device thread must not block in write(2) on it (orion-vhost once stayed alive serving nobody, its next client's
/// handshake timing out). Every received fd is made non-blocking, as QEMU does, so the interrupt is merely lost.
/// </summary>
[NonParallelizable]
public class VhostUserBlockingFdTests
{
    private const ulong FullCounter = 0xffff_ffff_ffff_fffe;     // the largest value an eventfd holds

    [Test]
    [CancelAfter(60_000)]
    public void AFullBlockingCallFdNeitherBlocksTheQueueNorTheNextClient()
    {
        using var server = new ServerHarness();
        var call = new EventFd(nonBlocking: false);
        call.Signal(FullCounter);                                 // one more write of 1 would block
        using (var fe = server.Connect())
        {
            try
            {
                fe.Calls[0].Dispose();
                fe.Calls[0] = call;                               // the front-end disposes it
                // Without EVENT_IDX an interrupt is due on every completion once NO_INTERRUPT is cleared.
                fe.Handshake(~(VirtioFeatures.RingPacked | VirtioFeatures.RingEventIdx));
                fe.StartQueue(0);
                fe.Rings[0]!.EnableInterruptsAndRecheck();        // the device must signal the call fd on completion
                var done = fe.Write(0, Enumerable.Repeat((byte)0x5A, 4096).ToArray());
                Assert.That(done.BlkStatus, Is.EqualTo(BlkStatus.Ok));
                // Stopping the queue joins its device thread: before the fix it sat in write(2) on the call fd for good.
                Assert.That(() => fe.StopQueue(0), Throws.Nothing, "GET_VRING_BASE is answered");
            }
            finally
            {
                // Without the fix the device thread is still blocked in write(2): reading the counter lets it go, so
                // the harness can stop.
                call.TryConsume(out _);
            }
        }
        Assert.That(server.WaitForClosedConnections(1), Is.True, "the first connection was cleaned up: " + server.LogText);
        using var next = server.Connect();
        next.Ready(~VirtioFeatures.RingPacked);
        Assert.That(next.Read(0, 4096).Data, Is.All.EqualTo((byte)0x5A), "the next client is served");
    }
}
