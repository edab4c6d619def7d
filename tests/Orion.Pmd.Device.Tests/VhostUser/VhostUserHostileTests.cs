using Orion.Pmd.Device.Tests.VhostUser.Support;
using Orion.Pmd.Virtio;
using Orion.Pmd.Virtio.Blk;
using Orion.Pmd.Virtio.Rings;
using Orion.Pmd.Virtio.VhostUser;

namespace Orion.Pmd.Device.Tests.VhostUser;

/// <summary>
/// A hostile or broken front-end gets a closed connection and a one-line reason on the log, never a crash of the
/// target or an access outside the memory it registered; its memory is unmapped, its fds closed, and the next
/// client is served normally.
/// </summary>
[NonParallelizable]
public class VhostUserHostileTests
{
    private sealed record Case(string Name, Action<TestFrontEnd> Attack, string Reason);

    private static VringAddress SplitAddresses(TestFrontEnd fe, int queue, ulong shift = 0)
    {
        var a = fe.UserRingAddresses(queue);
        return new VringAddress((uint)queue, 0, a.DescriptorTable + shift, a.UsedRing + shift, a.AvailRing + shift, 0);
    }

    private static void SplitHandshake(TestFrontEnd fe) => fe.Handshake(~VirtioFeatures.RingPacked);

    /// <summary>Test cases by name (the attacks themselves use internal test types).</summary>
    public static IEnumerable<string> AttackNames() => Attacks().Select(a => a.Name);

    private static IEnumerable<Case> Attacks()
    {
        yield return new("ring outside the table", fe =>
        {
            SplitHandshake(fe);
            fe.SendState(VhostUserRequest.SetVringNum, 0, 64);
            fe.SendAddress(SplitAddresses(fe, 0, shift: (ulong)TestFrontEnd.RegionBytes));
        }, "does not lie inside one region");
        yield return new("ring given by guest address", fe =>
        {
            SplitHandshake(fe);
            fe.SendState(VhostUserRequest.SetVringNum, 0, 64);
            fe.SendAddress(new VringAddress(0, 0, TestFrontEnd.GuestBase, TestFrontEnd.GuestBase + 4096, TestFrontEnd.GuestBase + 2048, 0));
        }, "does not lie inside one region");
        yield return new("ring straddling two regions", fe =>
        {
            fe.Handshake(~VirtioFeatures.RingPacked);
            // Two regions contiguous in user space; the descriptor table starts 512 bytes before the boundary.
            const ulong Half = TestFrontEnd.RegionBytes / 2;
            Assert.That(fe.SetMemTable([
                new VhostMemoryRegion(TestFrontEnd.GuestBase, Half, TestFrontEnd.UserBase, 0),
                new VhostMemoryRegion(TestFrontEnd.GuestBase + 2 * Half, Half, TestFrontEnd.UserBase + Half, Half),
            ]), Is.Zero);
            fe.SendState(VhostUserRequest.SetVringNum, 0, 64);
            fe.SendAddress(new VringAddress(0, 0, TestFrontEnd.UserBase + Half - 512, TestFrontEnd.UserBase + 8192, TestFrontEnd.UserBase + 4096, 0));
        }, "does not lie inside one region");
        yield return new("misaligned descriptor table", fe =>
        {
            SplitHandshake(fe);
            fe.SendState(VhostUserRequest.SetVringNum, 0, 64);
            fe.SendAddress(SplitAddresses(fe, 0, shift: 8));
        }, "aligned");
        yield return new("ring address before the memory table", fe =>
        {
            fe.CallU64(VhostUserRequest.GetFeatures);
            fe.SendU64(VhostUserRequest.SetFeatures, (ulong)VirtioFeatures.Version1);
            fe.SendState(VhostUserRequest.SetVringNum, 0, 64);
            fe.SendAddress(new VringAddress(0, 0, TestFrontEnd.UserBase, TestFrontEnd.UserBase + 8192, TestFrontEnd.UserBase + 4096, 0));
        }, "before SetMemTable");
        yield return new("overlapping regions", fe =>
        {
            fe.CallU64(VhostUserRequest.GetFeatures);
            Assert.That(fe.SetMemTable([
                new VhostMemoryRegion(TestFrontEnd.GuestBase, 1 << 20, TestFrontEnd.UserBase, 0),
                new VhostMemoryRegion(TestFrontEnd.GuestBase + 4096, 1 << 20, TestFrontEnd.UserBase + (4 << 20), 0),
            ]), Is.Not.Zero, "refused with a non-zero ack");
        }, "overlaps region 0");
        yield return new("region past the end of its fd", fe =>
        {
            fe.CallU64(VhostUserRequest.GetFeatures);
            fe.SetMemTable([new VhostMemoryRegion(TestFrontEnd.GuestBase, (ulong)TestFrontEnd.RegionBytes, TestFrontEnd.UserBase, 4096)]);
        }, "runs past the end");
        yield return new("nine fds", fe =>
        {
            var payload = new byte[VhostMemoryTable.SizeFor(1)];
            VhostMemoryTable.Write(payload, [new VhostMemoryRegion(TestFrontEnd.GuestBase, 4096, TestFrontEnd.UserBase, 0)]);
            fe.SendRaw(VhostUserRequest.SetMemTable, payload, Enumerable.Repeat(fe.Memory.Fd, 9).ToArray());
        }, "too many fds");
        yield return new("fewer fds than regions", fe =>
        {
            var payload = new byte[VhostMemoryTable.SizeFor(2)];
            VhostMemoryTable.Write(payload, [
                new VhostMemoryRegion(TestFrontEnd.GuestBase, 4096, TestFrontEnd.UserBase, 0),
                new VhostMemoryRegion(TestFrontEnd.GuestBase + 8192, 4096, TestFrontEnd.UserBase + 8192, 8192)]);
            fe.SendRaw(VhostUserRequest.SetMemTable, payload, [fe.Memory.Fd]);
        }, "carries 1 fd(s)");
        yield return new("fd on a request that takes none", fe => fe.SendRaw(VhostUserRequest.SetOwner, default, [fe.Memory.Fd], size: 0), "carries 1 fd(s)");
        yield return new("oversize payload", fe => fe.SendRaw(VhostUserRequest.SetMemTable, new byte[273]), "273-byte payload");
        yield return new("queue index past the count", fe =>
        {
            fe.CallU64(VhostUserRequest.GetFeatures);
            Span<byte> p = stackalloc byte[VringState.Size];
            new VringState(5, 64).Write(p);
            Assert.That(fe.Send(VhostUserRequest.SetVringNum, p, needReply: true), Is.Not.Zero);
        }, "names queue 5");
        yield return new("queue size not a power of two", fe =>
        {
            SplitHandshake(fe);
            fe.SendState(VhostUserRequest.SetVringNum, 0, 100);
        }, "power of two");
        yield return new("unknown request", fe => fe.SendRaw((VhostUserRequest)99, default), "unknown request 99");
        yield return new("unnegotiated request", fe => fe.SendRaw(VhostUserRequest.GetInflightFd, new byte[24]), "not supported");
        yield return new("bad version", fe => fe.SendRaw(VhostUserRequest.GetFeatures, default, flags: 2), "version");
        yield return new("short vring state", fe => fe.SendRaw(VhostUserRequest.SetVringNum, new byte[4]), "8-byte vring state");
        yield return new("kick before the ring is described", fe =>
        {
            SplitHandshake(fe);
            fe.SendFile(VhostUserRequest.SetVringKick, 0, fe.Kicks[0]);
        }, "SetVringNum has not been sent");
        yield return new("kick fd that is not an eventfd", fe =>
        {
            SplitHandshake(fe);
            fe.SendState(VhostUserRequest.SetVringNum, 0, 64);
            fe.SendAddress(SplitAddresses(fe, 0));
            Span<byte> p = stackalloc byte[VringFile.Size];
            new VringFile(0, false).Write(p);
            fe.SendRaw(VhostUserRequest.SetVringKick, p, [fe.Memory.Fd]);
        }, "not an eventfd (/memfd:");
        yield return new("descriptor outside memory", fe =>
        {
            fe.Ready(~VirtioFeatures.RingPacked & ~VirtioFeatures.RingIndirectDesc);
            int id = fe.AddRaw(0, [
                new BufferSegment(TestFrontEnd.GuestBase + 0x1000_0000, BlkRequestHeader.Size, false),
                new BufferSegment(fe.Allocate(1), 1, true)], indirect: false);
            fe.Publish(0);
            fe.Kicks[0].Signal();
            Assert.That(fe.WaitUsed(0, id, TimeSpan.FromMilliseconds(300)).Done, Is.False, "never completed");
        }, "AddressOutOfRange");
        yield return new("indirect table outside memory (packed)", fe =>
        {
            fe.Ready();
            Assert.That(fe.Packed, Is.True);
            fe.Rings[0]!.AddIndirect(TestFrontEnd.GuestBase - 4096, 2, 1);
            fe.Publish(0);
            fe.Kicks[0].Signal();
        }, "outside registered memory");
        yield return new("truncated message", fe => fe.SendRaw(VhostUserRequest.SetVringNum, new byte[4], size: 8), "after 4 of 8 bytes");
    }

    [TestCaseSource(nameof(AttackNames))]
    public void IsRefusedWithAClosedConnectionAndTheNextClientIsServed(string name)
    {
        var attack = Attacks().Single(a => a.Name == name);
        using var server = new ServerHarness();
        using (var hostile = server.Connect())
        {
            attack.Attack(hostile);
            if (attack.Name == "truncated message") hostile.Socket.Shutdown();
            Assert.That(hostile.WaitForHangUp(), Is.True, "the server closed the connection");
            Assert.That(server.WaitForClosedConnections(1), Is.True);
        }
        Assert.That(server.Server.LastCloseReason, Does.Contain(attack.Reason));
        Assert.That(server.LogText, Does.Contain(attack.Reason), "the reason is logged");
        Assert.That(server.Device.IsQueueStarted(0), Is.False);

        using var good = server.Connect().Ready();
        var data = TestFrontEnd.Pattern(4096, 42);
        Assert.That(good.Write(24, data).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        Assert.That(good.Read(24, 4096, queue: 1).Data, Is.EqualTo(data));
        Assert.That(server.Crash, Is.Null);
    }

    [Test]
    public void AClosedConnectionLeavesNoMappingAndNoFdBehind()
    {
        using var server = new ServerHarness();
        using var warm = server.Connect().Ready();                 // first use loads everything that opens fds once
        warm.Read(0, 512);
        warm.Socket.Dispose();
        Assert.That(server.WaitForClosedConnections(1), Is.True);
        int fdsBefore = Directory.GetFiles("/proc/self/fd").Length;

        for (int round = 0; round < 3; round++)
        {
            using var fe = server.Connect().Ready();
            fe.Read(0, 512);
            string name = MemfdName(fe);
            Assert.That(MappingsOf(name), Is.EqualTo(2), "the front-end's mapping and the device's");
            fe.SendState(VhostUserRequest.SetVringNum, 7, 64);        // hostile: queue 7 does not exist
            Assert.That(fe.WaitForHangUp(), Is.True);
            Assert.That(server.WaitForClosedConnections(2 + round), Is.True);
            Assert.That(MappingsOf(name), Is.EqualTo(1), "the device unmapped the client's memory");
        }
        // The front-ends' own fds are disposed by now; what remains open must be what was open before.
        Assert.That(TestFrontEnd.Eventually(() => Directory.GetFiles("/proc/self/fd").Length <= fdsBefore, TimeSpan.FromSeconds(2)), Is.True,
            $"fds: {fdsBefore} before, {Directory.GetFiles("/proc/self/fd").Length} after");
    }

    private static string MemfdName(TestFrontEnd fe) =>
        new FileInfo($"/proc/self/fd/{fe.Memory.Fd}").LinkTarget!.Replace("/memfd:", "", StringComparison.Ordinal).Replace(" (deleted)", "", StringComparison.Ordinal);

    private static int MappingsOf(string memfdName) =>
        File.ReadLines("/proc/self/maps").Count(l => l.Contains($"/memfd:{memfdName}", StringComparison.Ordinal));
}
