using Orion.Pmd.Device.Tests.VhostUser.Support;
using Orion.Pmd.Device.VhostUser;
using Orion.Pmd.Linux;
using Orion.Pmd.Virtio.Blk;

namespace Orion.Pmd.Device.Tests.VhostUser;

/// <summary>
/// The back-end maps a front-end's memory fds; a front-end that then shrank one made the device's next access there
/// raise SIGBUS, which kills the process (issue 13, Low). Memory fds must be sealed against shrinking: the back-end
/// adds F_SEAL_SHRINK where the fd allows it and refuses fds that cannot carry it, unless told to accept them.
/// </summary>
[NonParallelizable]
public class VhostUserMemorySealTests
{
    [Test]
    [CancelAfter(60_000)]
    public void AnUnsealedMemfdIsSealedByTheBackEndSoTheFrontEndCanNoLongerShrinkIt()
    {
        using var server = new ServerHarness();
        using var fe = server.Connect(seals: MemorySeal.None).Ready();
        Assert.That(MemorySeals.Get(fe.Memory.Fd)!.Value.HasFlag(MemorySeal.Shrink), Is.True, "the back-end added F_SEAL_SHRINK");
        using (var reopened = File.OpenHandle($"/proc/self/fd/{fe.Memory.Fd}", FileMode.Open, FileAccess.ReadWrite))
            Assert.Throws<UnauthorizedAccessException>(() => RandomAccess.SetLength(reopened, 4096), "the shrink that would have been SIGBUS");
        var data = TestFrontEnd.Pattern(4096, 1);
        Assert.That(fe.Write(0, data).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        Assert.That(fe.Read(0, 4096).Data, Is.EqualTo(data));
    }

    [Test]
    [CancelAfter(60_000)]
    public void AMemfdThatCannotBeSealedIsRefusedWithAReasonAndTheNextClientIsServed()
    {
        using var server = new ServerHarness();
        using (var fe = server.Connect(seals: MemorySeal.Seal))
        {
            fe.CallU64(Virtio.VhostUser.VhostUserRequest.GetFeatures);
            Assert.That(fe.SetMemTable(), Is.Not.Zero, "SET_MEM_TABLE refused");
            Assert.That(fe.WaitForHangUp(), Is.True);
        }
        Assert.That(server.WaitForClosedConnections(1), Is.True);
        Assert.That(server.Server.LastCloseReason, Does.Contain("SetMemTable region 0").And.Contain("F_SEAL_SHRINK").And.Contain("allow unsealed memory"));
        using var good = server.Connect().Ready();
        Assert.That(good.Read(0, 512).BlkStatus, Is.EqualTo(BlkStatus.Ok));
    }

    [Test]
    [CancelAfter(60_000)]
    public void AnUnsealableMemfdIsAcceptedWhenAllowedAndSaidOnTheLog()
    {
        using var server = new ServerHarness(serverOptions: new VhostUserServerOptions { AllowUnsealedMemory = true });
        using var fe = server.Connect(seals: MemorySeal.Seal).Ready();
        var data = TestFrontEnd.Pattern(4096, 2);
        Assert.That(fe.Write(0, data).BlkStatus, Is.EqualTo(BlkStatus.Ok));
        Assert.That(fe.Read(0, 4096).Data, Is.EqualTo(data));
        Assert.That(server.LogText, Does.Contain("cannot be sealed").Or.Contain("F_SEAL_SEAL"));
    }
}
