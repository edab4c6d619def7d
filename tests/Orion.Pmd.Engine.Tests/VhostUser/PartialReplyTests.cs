using Orion.Pmd.Engine.Transport.VhostUser;
using Orion.Pmd.Linux;
using Orion.Pmd.Virtio.VhostUser;

namespace Orion.Pmd.Engine.Tests.VhostUser;

/// <summary>
/// A back-end that sends part of a reply (issue 13, Low): the front-end's channel neither keeps the descriptors that
/// came with the part it read nor waits for the rest beyond its reply timeout.
/// </summary>
public class PartialReplyTests
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromMilliseconds(300);

    private static int OpenCopiesOf(string name) =>
        Directory.GetFiles("/proc/self/fd").Count(f =>
        {
            try { return new FileInfo(f).LinkTarget?.StartsWith($"/memfd:{name}", StringComparison.Ordinal) == true; }
            catch (IOException) { return false; }
        });

    private static byte[] ReplyHeader(VhostUserRequest request, int payload)
    {
        var h = new byte[VhostUserHeader.Size];
        VhostUserHeader.ForReply(request, payload).Write(h);
        return h;
    }

    [Test]
    [CancelAfter(30_000)]
    public void DescriptorsThatCameWithAPartOfTheReplyAreClosedWhenTheRestOverflows()
    {
        string name = $"orion-reply-{Guid.NewGuid():N}";
        using var marker = SharedMemory.Create(name, 4096);
        var (front, back) = UnixSocket.CreatePair();
        using var channel = new VhostUserChannel(front, ReplyTimeout, "test");
        using (back)
        {
            var header = ReplyHeader(VhostUserRequest.GetFeatures, 8);
            back.Send(header.AsSpan(0, 4), Enumerable.Repeat(marker.Fd, 8).ToArray());
            back.Send(header.AsSpan(4), [marker.Fd]);
            Assert.Throws<VhostUserDisconnectedException>(() => channel.Call(VhostUserRequest.GetFeatures, default, new byte[8]));
            Assert.That(OpenCopiesOf(name), Is.EqualTo(1), "only the test's own fd is open");
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public void AReplyThatStopsAfterItsHeaderEndsTheConnectionWithinTheReplyTimeout()
    {
        string name = $"orion-reply-{Guid.NewGuid():N}";
        using var marker = SharedMemory.Create(name, 4096);
        var (front, back) = UnixSocket.CreatePair();
        using var channel = new VhostUserChannel(front, ReplyTimeout, "test");
        using (back)
        {
            back.Send(ReplyHeader(VhostUserRequest.GetFeatures, 8), [marker.Fd]);      // the 8-byte payload never comes
            var call = Task.Run(() => channel.Call(VhostUserRequest.GetFeatures, default, new byte[8]));
            Assert.That(() => call.Wait(TimeSpan.FromSeconds(10)),
                Throws.InstanceOf<AggregateException>().With.InnerException.InstanceOf<VhostUserDisconnectedException>()
                    .And.InnerException.Message.Contains("within"),
                "the call gives up instead of waiting for ever");
            Assert.That(channel.Failure, Is.Not.Null, "the connection is ended");
            Assert.That(OpenCopiesOf(name), Is.EqualTo(1));
        }
    }
}
