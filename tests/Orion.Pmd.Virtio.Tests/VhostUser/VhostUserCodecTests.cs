using Orion.Pmd.Virtio.VhostUser;

namespace Orion.Pmd.Virtio.Tests.VhostUser;

/// <summary>The codec against the bytes qemu-storage-daemon 7.2 exchanged with a measured front-end (reference §2.3).</summary>
public class VhostUserCodecTests
{
    private static byte[] Hex(string s) => Convert.FromHexString(s.Replace(" ", ""));

    private static byte[] Message(VhostUserRequest request, bool needReply, Action<Span<byte>> payload, int size)
    {
        var bytes = new byte[VhostUserHeader.Size + size];
        VhostUserHeader.ForRequest(request, size, needReply).Write(bytes);
        payload(bytes.AsSpan(VhostUserHeader.Size));
        return bytes;
    }

    [Test]
    public void GetFeaturesRequestMatchesTheCapturedBytes()
    {
        var bytes = new byte[12];
        VhostUserHeader.ForRequest(VhostUserRequest.GetFeatures, 0).Write(bytes);
        Assert.That(bytes, Is.EqualTo(Hex("01 00 00 00 01 00 00 00 00 00 00 00")));
    }

    [Test]
    public void GetFeaturesReplyDecodes()
    {
        var reply = Hex("01 00 00 00 05 00 00 00 08 00 00 00 46 7e 00 75 01 00 00 00");
        var header = VhostUserHeader.Read(reply);
        Assert.That(header.Request, Is.EqualTo(VhostUserRequest.GetFeatures));
        Assert.That(header.IsReply && header.HasValidVersion, Is.True);
        Assert.That(header.PayloadSize, Is.EqualTo(8u));
        Assert.That(VhostUserU64.TryRead(reply.AsSpan(12), out ulong features), Is.True);
        Assert.That(features, Is.EqualTo(0x175007e46UL));
    }

    [Test]
    public void ReplyWithEchoedNeedReplyIsStillAReply()
    {
        var header = VhostUserHeader.Read(Hex("01 00 00 00 0d 00 00 00 08 00 00 00"));
        Assert.That(header.IsReply, Is.True);
        Assert.That(header.HasValidVersion, Is.True);
        Assert.That(header.NeedsReply, Is.True);
    }

    [Test]
    public void BadVersionIsDetected() =>
        Assert.That(VhostUserHeader.Read(Hex("01 00 00 00 06 00 00 00 00 00 00 00")).HasValidVersion, Is.False);

    [Test]
    public void SetVringNumMatchesTheCapturedBytes() =>
        Assert.That(Message(VhostUserRequest.SetVringNum, false, p => new VringState(0, 128).Write(p), VringState.Size),
            Is.EqualTo(Hex("08 00 00 00 01 00 00 00 08 00 00 00 00 00 00 00 80 00 00 00")));

    [Test]
    public void SetVringKickMatchesTheCapturedBytes() =>
        Assert.That(Message(VhostUserRequest.SetVringKick, false, p => new VringFile(1, false).Write(p), VringFile.Size),
            Is.EqualTo(Hex("0c 00 00 00 01 00 00 00 08 00 00 00 01 00 00 00 00 00 00 00")));

    [Test]
    public void SetVringCallNoFdMatchesTheCapturedBytes() =>
        Assert.That(Message(VhostUserRequest.SetVringCall, false, p => new VringFile(0, true).Write(p), VringFile.Size),
            Is.EqualTo(Hex("0d 00 00 00 01 00 00 00 08 00 00 00 00 01 00 00 00 00 00 00")));

    [Test]
    public void SetVringEnableWithNeedReplyMatchesTheCapturedBytes() =>
        Assert.That(Message(VhostUserRequest.SetVringEnable, true, p => new VringState(0, 1).Write(p), VringState.Size),
            Is.EqualTo(Hex("12 00 00 00 09 00 00 00 08 00 00 00 00 00 00 00 01 00 00 00")));

    [Test]
    public void GetConfigRequestCarriesZeroedData()
    {
        var bytes = Message(VhostUserRequest.GetConfig, false, p => ConfigPayload.Write(p, 0, 0, new byte[60]), ConfigPayload.HeaderSize + 60);
        Assert.That(bytes.AsSpan(0, 24).ToArray(), Is.EqualTo(Hex("18 00 00 00 01 00 00 00 48 00 00 00 00 00 00 00 3c 00 00 00 00 00 00 00")));
        Assert.That(bytes.Skip(24), Is.All.EqualTo(0));
        Assert.That(bytes, Has.Length.EqualTo(84));
    }

    [Test]
    public void ConfigPayloadRefusesATruncatedData()
    {
        var payload = new byte[ConfigPayload.HeaderSize + 10];
        ConfigPayload.Write(payload, 0, 0, new byte[10]);
        Assert.That(ConfigPayload.TryRead(payload, out _, out uint size, out _), Is.True);
        Assert.That(size, Is.EqualTo(10u));
        Assert.That(ConfigPayload.TryRead(payload.AsSpan(0, 20), out _, out _, out _), Is.False);
    }

    [Test]
    public void VringAddressPutsUsedBeforeAvail()
    {
        var payload = new byte[VringAddress.Size];
        new VringAddress(2, 0, 0x1000, 0x3000, 0x2000, 0).Write(payload);
        Assert.That(BitConverter.ToUInt64(payload, 8), Is.EqualTo(0x1000UL));
        Assert.That(BitConverter.ToUInt64(payload, 16), Is.EqualTo(0x3000UL));
        Assert.That(BitConverter.ToUInt64(payload, 24), Is.EqualTo(0x2000UL));
        Assert.That(VringAddress.TryRead(payload, out var back), Is.True);
        Assert.That(back, Is.EqualTo(new VringAddress(2, 0, 0x1000, 0x3000, 0x2000, 0)));
        Assert.That(VringAddress.TryRead(payload.AsSpan(0, 39), out _), Is.False);
    }

    [Test]
    public void VringFileRejectsReservedBitsAndBigIndices()
    {
        Assert.That(VringFile.TryRead(BitConverter.GetBytes(0x200UL), out _), Is.False);
        Assert.That(VringFile.TryRead(BitConverter.GetBytes(0x1FFUL), out var f), Is.True);
        Assert.That(f, Is.EqualTo(new VringFile(0xFF, true)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new VringFile(256, false).Write(new byte[8]));
    }

    [Test]
    public void MemoryTableRoundTripsAndValidates()
    {
        var regions = new[] { new VhostMemoryRegion(0x1000, 0x2000, 0x1000, 0), new VhostMemoryRegion(0x10000, 0x4000, 0x10000, 4096) };
        var payload = new byte[VhostMemoryTable.SizeFor(2)];
        Assert.That(VhostMemoryTable.Write(payload, regions), Is.EqualTo(72));
        var back = new VhostMemoryRegion[8];
        Assert.That(VhostMemoryTable.TryRead(payload, back, out int n, out string error), Is.True, error);
        Assert.That(back.Take(n), Is.EqualTo(regions));

        Assert.That(VhostMemoryTable.TryRead(payload.AsSpan(0, 40), back, out _, out error), Is.False);
        Assert.That(error, Does.Contain("does not match"));
        payload[0] = 9;
        Assert.That(VhostMemoryTable.TryRead(payload, back, out _, out error), Is.False);
        Assert.That(error, Does.Contain("9 regions"));
        payload[0] = 1;
        new VhostMemoryRegion(ulong.MaxValue - 10, 0x100, 0, 0).Write(payload.AsSpan(8));
        Assert.That(VhostMemoryTable.TryRead(payload.AsSpan(0, 40), back, out _, out error), Is.False);
        Assert.That(error, Does.Contain("wraps"));
    }

    [Test]
    public void PackedBaseEncodesPositionsAndWrapCounters()
    {
        Assert.That(PackedVringBase.Fresh, Is.EqualTo(0x8000_8000u));
        uint v = PackedVringBase.Encode(5, false, 3, true);
        PackedVringBase.Decode(v, out ushort avail, out bool aw, out ushort used, out bool uw);
        Assert.That((avail, aw, used, uw), Is.EqualTo(((ushort)5, false, (ushort)3, true)));
        Assert.Throws<ArgumentOutOfRangeException>(() => PackedVringBase.Encode(0x8000, true, 0, true));
    }
}
