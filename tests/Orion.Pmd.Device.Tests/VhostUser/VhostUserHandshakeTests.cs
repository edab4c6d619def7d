using System.Buffers.Binary;
using Orion.Pmd.Device.Tests.VhostUser.Support;
using Orion.Pmd.Device.VhostUser;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;
using Orion.Pmd.Virtio.VhostUser;

namespace Orion.Pmd.Device.Tests.VhostUser;

/// <summary>The control path: what the back-end offers, what it accepts, how it acknowledges, and config space.</summary>
[NonParallelizable]
public class VhostUserHandshakeTests
{
    [Test]
    public void OffersTheDeviceFeaturesProtocolFeaturesAndQueueCount()
    {
        using var server = new ServerHarness();
        using var fe = server.Connect();
        ulong features = fe.CallU64(VhostUserRequest.GetFeatures);
        Assert.That(features, Is.EqualTo((ulong)server.Device.OfferedFeatures | VhostUserLimits.ProtocolFeaturesBit));
        Assert.That((VirtioFeatures)features & VirtioFeatures.Version1, Is.EqualTo(VirtioFeatures.Version1));
        Assert.That((VhostUserProtocolFeatures)fe.CallU64(VhostUserRequest.GetProtocolFeatures), Is.EqualTo(VhostUserServerOptions.Implemented));
        Assert.That(fe.CallU64(VhostUserRequest.GetQueueNum), Is.EqualTo(2UL));
    }

    [Test]
    public void NeedReplyIsAcknowledgedWithZeroOnSuccess()
    {
        using var server = new ServerHarness();
        using var fe = server.Connect();
        fe.Handshake();                         // SET_FEATURES and SET_MEM_TABLE asserted acked with 0 inside
        Assert.That(fe.Send(VhostUserRequest.SetOwner, needReply: true), Is.Zero);
    }

    [Test]
    public void GetConfigServesTheBlkConfigAndClampsTheSize()
    {
        using var server = new ServerHarness();
        using var fe = server.Connect();
        fe.Handshake();
        var request = new byte[ConfigPayload.HeaderSize + BlkConfig.Size];
        ConfigPayload.Write(request, 0, 0, new byte[BlkConfig.Size]);
        var reply = fe.Call(VhostUserRequest.GetConfig, request);
        Assert.That(ConfigPayload.TryRead(reply, out _, out uint size, out _), Is.True);
        Assert.That(size, Is.EqualTo((uint)BlkConfig.Size));
        var config = BlkConfig.Parse(reply.AsSpan(ConfigPayload.HeaderSize));
        Assert.That(config.Capacity, Is.EqualTo((ulong)server.Backend.Capacity / 512));
        Assert.That(config.NumQueues, Is.EqualTo(2));

        // SPDK asks for 256 bytes: it gets what there is.
        var big = new byte[ConfigPayload.HeaderSize + 256];
        ConfigPayload.Write(big, 0, 0, new byte[256]);
        reply = fe.Call(VhostUserRequest.GetConfig, big);
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(reply.AsSpan(4)), Is.EqualTo((uint)BlkConfig.Size));
        Assert.That(reply, Has.Length.EqualTo(ConfigPayload.HeaderSize + BlkConfig.Size));

        // More than 256 bytes (header only, as the data would not fit a message) gets an empty reply, like qemu's.
        var huge = new byte[ConfigPayload.HeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(huge.AsSpan(4), 300);
        Assert.That(fe.Call(VhostUserRequest.GetConfig, huge), Is.Empty);

        // An offset reads from there.
        var at = new byte[ConfigPayload.HeaderSize + 4];
        ConfigPayload.Write(at, (uint)BlkConfig.Offsets.BlockSize, 0, new byte[4]);
        reply = fe.Call(VhostUserRequest.GetConfig, at);
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(reply.AsSpan(ConfigPayload.HeaderSize)), Is.EqualTo(512u));
        Assert.That(fe.WaitForHangUp(50), Is.False, "the connection survives all of that");
    }

    [Test]
    public void SetConfigTogglesTheWriteCacheOnlyThroughTheWritebackByte()
    {
        using var server = new ServerHarness();
        using var fe = server.Connect();
        fe.Handshake();
        var write = new byte[ConfigPayload.HeaderSize + 1];
        ConfigPayload.Write(write, (uint)BlkConfig.Offsets.Writeback, 0, [0]);
        Assert.That(fe.Send(VhostUserRequest.SetConfig, write, needReply: true), Is.Zero);
        Assert.That(server.Device.WriteCacheEnabled, Is.False);

        // Another field: refused with a non-zero ack, and the connection stays up.
        var capacity = new byte[ConfigPayload.HeaderSize + 8];
        ConfigPayload.Write(capacity, 0, 0, new byte[8]);
        Assert.That(fe.Send(VhostUserRequest.SetConfig, capacity, needReply: true), Is.Not.Zero);
        Assert.That(fe.CallU64(VhostUserRequest.GetQueueNum), Is.EqualTo(2UL));
    }

    [Test]
    public void FeaturesThatWereNotOfferedAreRefusedAndTheConnectionClosed()
    {
        using var server = new ServerHarness(new SoftBlkDeviceOptions
        {
            Mode = DeviceServiceMode.KickDriven,
            OfferedFeatures = SoftBlkDeviceOptions.SupportedFeatures & ~VirtioFeatures.RingPacked,
        });
        using var fe = server.Connect(1);
        fe.CallU64(VhostUserRequest.GetFeatures);
        ulong ack = fe.SendU64(VhostUserRequest.SetFeatures, (ulong)(VirtioFeatures.Version1 | VirtioFeatures.RingPacked), needReply: true);
        Assert.That(ack, Is.Not.Zero, "a failed request is acked non-zero");
        Assert.That(fe.WaitForHangUp(), Is.True);
        Assert.That(server.WaitForClosedConnections(1), Is.True);
        Assert.That(server.Server.LastCloseReason, Does.Contain("not offered"));
    }

    [Test]
    public void FeaturesWithoutVersion1AreRefused()
    {
        using var server = new ServerHarness();
        using var fe = server.Connect();
        fe.CallU64(VhostUserRequest.GetFeatures);
        fe.SendU64(VhostUserRequest.SetFeatures, (ulong)VirtioFeatures.BlkFlush);
        Assert.That(fe.WaitForHangUp(), Is.True);
        Assert.That(server.WaitForClosedConnections(1), Is.True);
        Assert.That(server.Server.LastCloseReason, Does.Contain("VERSION_1"));
    }

    [Test]
    public void ProtocolFeaturesThatWereNotOfferedAreRefused()
    {
        using var server = new ServerHarness();
        using var fe = server.Connect();
        fe.SendU64(VhostUserRequest.SetProtocolFeatures, (ulong)VhostUserProtocolFeatures.InflightShmfd);
        Assert.That(fe.WaitForHangUp(), Is.True);
        Assert.That(server.WaitForClosedConnections(1), Is.True);
        Assert.That(server.Server.LastCloseReason, Does.Contain("SetProtocolFeatures"));
    }

    [Test]
    public void AClientThatLeavesIsCleanedUpAndTheNextOneIsServed()
    {
        using var server = new ServerHarness();
        using (var first = server.Connect())
        {
            first.Ready();
            Assert.That(first.Write(8, TestFrontEnd.Pattern(4096, 1)).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        }
        Assert.That(server.WaitForClosedConnections(1), Is.True);
        Assert.That(server.Server.LastCloseReason, Is.EqualTo("the front-end disconnected"));
        Assert.That(server.Device.IsQueueStarted(0) || server.Device.IsQueueStarted(1), Is.False, "queues stopped");

        using var second = server.Connect().Ready();
        var read = second.Read(8, 4096);
        Assert.That(read.BlkStatus, Is.EqualTo(BlkStatus.Ok));
        Assert.That(read.Data, Is.EqualTo(TestFrontEnd.Pattern(4096, 1)), "the backend keeps its data across clients");
        Assert.That(server.Crash, Is.Null);
    }
}
