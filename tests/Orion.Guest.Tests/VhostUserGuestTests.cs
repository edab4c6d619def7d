using Orion.Guest.Tests.Support;
using Orion.Vhost.Tests;

namespace Orion.Guest.Tests;

/// <summary>
/// A real Linux guest's virtio-blk driver against orion-vhost: QEMU's <c>vhost-user-blk-pci</c> with the guest's memory
/// in a shared memfd. The guest makes ext4, writes, syncs, unmounts, checks and reads it back, trims, and discards a
/// raw range; on a file backend the host then checks the image (e2fsck -fn, the file's bytes).
/// <para>
/// Ring format × queue count × backend is 8 combinations of about 15 s each under TCG; CI boots the 4 that cover every
/// pair of values (<see cref="CiCases"/>); the other 4 are the category <c>GuestMatrix</c>, run with
/// <c>ORION_GUEST_ALL=1 dotnet test tests/Orion.Guest.Tests -c Release --filter TestCategory=GuestMatrix</c>.
/// </para>
/// </summary>
[NonParallelizable]
public class VhostUserGuestTests
{
    private static readonly TimeSpan GuestTimeout = TimeSpan.FromSeconds(240);   // ~15 s alone; a busy 2-core host is slower
    private const long ImageBytes = 256L << 20;

    /// <summary>The file system and discard script (the fs spans the first 192 MiB; the raw discard check uses 224-232 MiB).</summary>
    private const string FileSystemScript = """
        wait_for_disk /dev/vda
        value queues $(ls /sys/block/vda/mq | wc -l)
        value features $(cat /sys/block/vda/device/features)
        step mkfs
        mkfs.ext4 -q -F -b 4096 /dev/vda 49152
        mount -t ext4 /dev/vda /mnt
        step write
        dd if=/dev/urandom of=/mnt/big bs=1M count=16 2>/dev/null
        i=0; while [ $i -lt 200 ]; do echo "small file $i" > /mnt/small$i; i=$((i + 1)); done
        big=$(md5sum /mnt/big | cut -d' ' -f1)
        value big-md5 $big
        dd if=/dev/urandom of=/mnt/trimme bs=1M count=32 2>/dev/null
        sync
        rm /mnt/trimme
        sync
        value trimmed $(fstrim -v /mnt | grep -o '[0-9][0-9]*' | head -n1)
        umount /mnt
        step check
        echo 3 > /proc/sys/vm/drop_caches
        e2fsck -fn /dev/vda > /tmp/fsck 2>&1 || { cat /tmp/fsck; fail "e2fsck -fn in the guest found errors"; }
        mount -t ext4 -o ro /dev/vda /mnt
        [ "$(md5sum /mnt/big | cut -d' ' -f1)" = "$big" ] || fail "/mnt/big read back differs"
        i=0; while [ $i -lt 200 ]; do [ "$(cat /mnt/small$i)" = "small file $i" ] || fail "small$i differs"; i=$((i + 1)); done
        umount /mnt
        step discard
        dd if=/dev/urandom of=/tmp/raw bs=1M count=8 2>/dev/null
        dd if=/tmp/raw of=/dev/vda bs=1M seek=224 conv=fsync 2>/dev/null
        echo 3 > /proc/sys/vm/drop_caches
        [ "$(dd if=/dev/vda bs=1M skip=224 count=8 iflag=direct 2>/dev/null | md5sum)" = "$(md5sum < /tmp/raw)" ] || fail "the raw range read back differs"
        blkdiscard -o $((224 << 20)) -l $((8 << 20)) /dev/vda
        [ "$(dd if=/dev/vda bs=1M skip=224 count=8 iflag=direct 2>/dev/null | md5sum)" = "$(dd if=/dev/zero bs=1M count=8 2>/dev/null | md5sum)" ] || fail "the discarded range does not read back as zeroes"
        step done
        """;

    /// <summary>A pairwise cover of ring × queues × backend: every pair of values meets once.</summary>
    public static IEnumerable<TestCaseData> CiCases()
    {
        yield return new TestCaseData(false, 1, "file");
        yield return new TestCaseData(true, 2, "file");
        yield return new TestCaseData(false, 2, "mem");
        yield return new TestCaseData(true, 1, "mem");
    }

    /// <summary>The rest of the matrix (category GuestMatrix, with ORION_GUEST_ALL=1).</summary>
    public static IEnumerable<TestCaseData> MatrixCases()
    {
        yield return new TestCaseData(true, 1, "file");
        yield return new TestCaseData(false, 2, "file");
        yield return new TestCaseData(true, 2, "mem");
        yield return new TestCaseData(false, 1, "mem");
    }

    [TestCaseSource(nameof(CiCases))]
    [CancelAfter(600_000)]
    public void Ext4MadeWrittenCheckedAndTrimmedByTheGuest(bool packed, int queues, string backend) => RunFileSystem(packed, queues, backend);

    [TestCaseSource(nameof(MatrixCases))]
    [Category("GuestMatrix")]
    [CancelAfter(600_000)]
    public void Ext4ByTheGuestTheRestOfTheMatrix(bool packed, int queues, string backend)
    {
        if (Environment.GetEnvironmentVariable("ORION_GUEST_ALL") != "1")
            Assert.Ignore("the rest of the guest matrix runs with ORION_GUEST_ALL=1 (dotnet test tests/Orion.Guest.Tests -c Release --filter TestCategory=GuestMatrix); CI boots the pairwise cover");
        RunFileSystem(packed, queues, backend);
    }

    private static void RunFileSystem(bool packed, int queues, string backend)
    {
        var artefacts = GuestArtefacts.Require();
        using var disk = GuestDisk.Create(backend, ImageBytes);
        using var vhost = VhostProcess.Start(disk.VhostArgs(queues, packed), directory: disk.Directory);
        using (var vm = GuestVm.Start(artefacts, FileSystemScript, GuestDisk.QemuArgs(vhost.SocketPath, queues, packed)))
        {
            vm.AssertPassed(GuestTimeout);
            Assert.That(vm.Value("queues"), Is.EqualTo(queues.ToString()), "the guest's blk-mq hardware queues");
            Assert.That(vm.Value("features")[34], Is.EqualTo(packed ? '1' : '0'), "VIRTIO_F_RING_PACKED (bit 34) as the guest negotiated it");
            Assert.That(long.Parse(vm.Value("trimmed")), Is.GreaterThanOrEqualTo(32L << 20), "fstrim trimmed at least the deleted 32 MiB");
            if (disk.ImagePath is null) return;
            Assert.That(vhost.Signal(Orion.Pmd.Linux.ProcessSignal.Terminate), Is.Zero, vhost.Stderr);
            HostImage.AssertCleanExt4(disk.ImagePath);
            Assert.That(HostImage.Md5OfFileInExt4(disk.ImagePath, "/big"), Is.EqualTo(vm.Value("big-md5")), "/big as the host reads it");
        }
    }
}
