using Orion.Guest.Tests.Support;
using Orion.Vhost.Tests;

namespace Orion.Guest.Tests;

/// <summary>
/// A Linux guest's block I/O on orion-vhost beyond a file system: fio's verified random writes and trims inside the
/// guest, and orion-vhost killed and restarted while the guest writes (QEMU's chardev <c>reconnect=</c>).
/// </summary>
[NonParallelizable]
public class VhostUserGuestIoTests
{
    private static readonly TimeSpan GuestTimeout = TimeSpan.FromSeconds(300);

    [Test]
    [CancelAfter(600_000)]
    public void FioInTheGuestVerifiesRandomWritesOnTwoPackedQueues()
    {
        var artefacts = GuestArtefacts.Require(fio: true);
        using var disk = GuestDisk.Create("file", 256L << 20);
        using var vhost = VhostProcess.Start(disk.VhostArgs(queues: 2, packed: true), directory: disk.Directory);
        const string script = """
            wait_for_disk /dev/vda
            step fio
            fio --name=verify --filename=/dev/vda --ioengine=libaio --direct=1 --rw=randwrite --bs=4k --iodepth=16 \
                --size=32M --numjobs=2 --offset_increment=64M --verify=crc32c --verify_fatal=1 --thread \
                --output-format=terse > /tmp/fio.out 2>&1 || { cat /tmp/fio.out; fail "fio verify failed"; }
            value fio-jobs $(grep -c '^3;' /tmp/fio.out)
            step trim
            fio --name=trim --filename=/dev/vda --ioengine=psync --rw=randtrim --bs=64k --size=32M --offset=192M \
                --output-format=terse > /tmp/trim.out 2>&1 || { cat /tmp/trim.out; fail "fio randtrim failed"; }
            [ "$(dd if=/dev/vda bs=1M skip=192 count=32 iflag=direct 2>/dev/null | md5sum)" = "$(dd if=/dev/zero bs=1M count=32 2>/dev/null | md5sum)" ] || fail "the trimmed range does not read back as zeroes"
            step done
            """;
        using var vm = GuestVm.Start(artefacts, script, GuestDisk.QemuArgs(vhost.SocketPath, queues: 2, packed: true), memoryMiB: 768);
        vm.AssertPassed(GuestTimeout);
        Assert.That(vm.Value("fio-jobs"), Is.EqualTo("2"), "both fio jobs reported (terse lines)");
    }

    /// <summary>The guest writes 48 x 4 MiB with O_DIRECT, each synced, then reads it all back.</summary>
    private const string WriteLoopScript = """
        wait_for_disk /dev/vda
        dd if=/dev/urandom of=/tmp/pat bs=1M count=4 2>/dev/null
        pat=$(md5sum < /tmp/pat)
        step kill-now
        i=0; while [ $i -lt 48 ]; do dd if=/tmp/pat of=/dev/vda bs=1M count=4 seek=$((i * 4)) oflag=direct conv=fsync 2>/dev/null || fail "write $i failed"; i=$((i + 1)); done
        step written
        echo 3 > /proc/sys/vm/drop_caches
        i=0; while [ $i -lt 48 ]; do [ "$(dd if=/dev/vda bs=1M count=4 skip=$((i * 4)) iflag=direct 2>/dev/null | md5sum)" = "$pat" ] || fail "block $i differs"; i=$((i + 1)); done
        step done
        """;

    /// <summary>
    /// Split ring: orion-vhost is killed (SIGKILL) while the guest writes and started again on the same socket; QEMU
    /// reconnects (<c>reconnect=1</c>), cannot ask the dead back-end where the ring stood, so it resumes the new one at
    /// the used index in guest memory (<c>virtio_queue_restore_last_avail_idx</c>): what was popped but not completed is
    /// popped again and executed again. The guest's writes stall for the outage and then complete; every block reads back.
    /// (Requests completed out of order before the kill would break this: QEMU's remedy is the inflight-tracking
    /// protocol feature, INFLIGHT_SHMFD, which orion-vhost does not offer.)
    /// </summary>
    [Test]
    [CancelAfter(600_000)]
    public void SplitRingGuestResumesAfterOrionVhostIsKilledAndRestarted() =>
        KillAndRestartInsideTheWriteLoop(packed: false, (vm, _) => vm.AssertPassed(GuestTimeout));

    /// <summary>
    /// Packed ring: the same crash cannot be resumed. QEMU 7.2 has no used index in guest memory to restore a packed
    /// ring from (<c>virtio_queue_packed_restore_last_avail_idx</c> does nothing), so it starts the new back-end at ring
    /// position 0, where the guest's descriptors were used long ago. orion-vhost refuses that ring with a named error
    /// (WrapCounterInvalid) and closes the connection instead of executing stale descriptors; QEMU reconnects every second
    /// and is refused every time, orion-vhost stays up, and the guest's I/O stays stalled (it needs INFLIGHT_SHMFD, or a
    /// guest reset, to go on).
    /// </summary>
    [Test]
    [CancelAfter(600_000)]
    public void PackedRingAfterOrionVhostIsKilledIsRefusedByTheRestartedOneWithANamedError() =>
        KillAndRestartInsideTheWriteLoop(packed: true, (vm, vhost) =>
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
            while (CountOf(vhost.Stderr, "is broken (WrapCounterInvalid)") < 2 && DateTime.UtcNow < deadline) Thread.Sleep(200);
            Assert.That(CountOf(vhost.Stderr, "is broken (WrapCounterInvalid)"), Is.GreaterThanOrEqualTo(2),
                $"QEMU reconnected at least twice and was refused each time; orion-vhost said: {vhost.Stderr}\nconsole:\n{vm.Console}");
            Assert.That(vhost.Process.HasExited, Is.False, "orion-vhost keeps serving after refusing a ring");
            Assert.That(vm.Console, Does.Not.Contain("ORION-GUEST-STEP: written"), "the guest's writes stay stalled");
        });

    /// <summary>
    /// Boots a guest on orion-vhost (a file, one queue, QEMU's <c>reconnect=1</c>) running <see cref="WriteLoopScript"/>,
    /// kills orion-vhost inside the write loop, starts it again on the same socket, and hands both to <paramref name="then"/>.
    /// </summary>
    private static void KillAndRestartInsideTheWriteLoop(bool packed, Action<GuestVm, VhostProcess> then)
    {
        var artefacts = GuestArtefacts.Require();
        using var disk = GuestDisk.Create("file", 256L << 20);
        string[] args = disk.VhostArgs(queues: 1, packed);
        var vhost = VhostProcess.Start(args, directory: disk.Directory);
        try
        {
            using var vm = GuestVm.Start(artefacts, WriteLoopScript, GuestDisk.QemuArgs(vhost.SocketPath, queues: 1, packed, reconnectSeconds: 1));
            KillInsideTheWriteLoop(vm, vhost);
            vhost = VhostProcess.Start(args, directory: disk.Directory);
            then(vm, vhost);
        }
        finally
        {
            vhost.Dispose();
        }
    }

    /// <summary>Waits for the guest's write loop, kills orion-vhost there (SIGKILL), and checks the loop was running.</summary>
    private static void KillInsideTheWriteLoop(GuestVm vm, VhostProcess vhost)
    {
        vm.WaitForStep("kill-now", GuestTimeout);
        Thread.Sleep(500);
        vhost.Process.Kill();
        Assert.That(vhost.Process.WaitForExit(10_000), Is.True, "orion-vhost died");
        Assert.That(vm.Console, Does.Not.Contain("ORION-GUEST-STEP: written"), "the kill landed inside the guest's write loop");
        vhost.Dispose();
        Thread.Sleep(1000);                                             // QEMU sees the hang-up and starts reconnecting
    }

    private static int CountOf(string text, string what)
    {
        int n = 0;
        for (int i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal)) n++;
        return n;
    }
}
