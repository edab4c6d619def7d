using System.Security.Cryptography;
using Orion.Guest.Tests.Support;

namespace Orion.Guest.Tests;

/// <summary>
/// The engine inside a Linux guest, driving the guest's own virtio-blk PCI disk through VFIO
/// (<c>orion-perf --device virtio-pci:ADDRESS</c>): a q35 guest with QEMU's intel-iommu and interrupt remapping
/// (<c>intremap=on</c>: without it vfio_iommu_type1 refuses the group), a modern disk (<c>disable-legacy=on</c>) that
/// translates its DMA through the IOMMU (<c>iommu_platform=on</c>), bound to vfio-pci by
/// <c>tools/orion-vfio-bind.sh</c>. Each orion-perf run opens the device afresh (VFIO reset, DMA mapped) and releases it
/// (device reset, DMA unmapped), so one boot also shows that a restart takes the device back cleanly. The disk image is
/// checked byte for byte on the host afterwards. orion-perf is a NativeAOT executable (<see cref="NativeOrionPerf"/>).
/// </summary>
[NonParallelizable]
public class EngineThroughVfioGuestTests
{
    private const long DiskBytes = 64L << 20, Mi = 1L << 20;
    private const byte Pattern = 0xa5;

    private const string FindAndBind = """
        bdf=""
        for d in /sys/bus/pci/devices/*; do
          [ "$(cat $d/vendor):$(cat $d/device)" = "0x1af4:0x1042" ] && bdf=$(basename $d)
        done
        [ -n "$bdf" ] || fail "no modern virtio-blk PCI function"
        wait_for_disk /dev/vda
        orion-vfio-bind.sh bind $bdf > /dev/null
        value listed "$(orion-perf --list-devices | grep $bdf)"
        perf() { name=$1; shift; step "$name"; orion-perf --device=virtio-pci:$bdf --output-format=terse "$@" > /tmp/$name.out 2>&1 || { rc=$?; cat /tmp/$name.out; fail "orion-perf $name exited $rc"; }; value "$name" "$(cut -d';' -f1-3 /tmp/$name.out | head -n1)"; }

        """;

    private static string[] Disk(string image, string extra) =>
    [
        "-device", "intel-iommu,intremap=on",   // VFIO gives a device to user space only with interrupt remapping
        "-drive", $"file={image},if=none,id=d0,format=raw,discard=unmap",
        "-device", $"virtio-blk-pci,drive=d0,disable-legacy=on,iommu_platform=on{extra}",
    ];

    /// <summary>A 64 MiB image of seeded random bytes, so every byte the guest did not write can be recognized.</summary>
    private static byte[] SeedImage(string image)
    {
        var bytes = new byte[DiskBytes];
        new Random(17).NextBytes(bytes);
        File.WriteAllBytes(image, bytes);
        return bytes;
    }

    /// <summary>
    /// Boots a guest with the seeded disk (<paramref name="device"/>: extra virtio-blk-pci properties), runs
    /// <paramref name="script"/> after <see cref="FindAndBind"/>, asserts it passed and returns the console's values
    /// and the image before and after.
    /// </summary>
    private static (GuestVm Vm, byte[] Before, byte[] After) RunInGuest(string script, string device)
    {
        var artefacts = GuestArtefacts.Require();
        string layer = NativeOrionPerf.RequireLayer();
        using var disk = GuestDisk.Create("file", DiskBytes);
        byte[] before = SeedImage(disk.ImagePath!);
        string helper = Path.Combine(AppContext.BaseDirectory, "guest", "orion-vfio-bind.sh");
        var vm = GuestVm.Start(artefacts, FindAndBind + script, Disk(disk.ImagePath!, device), memoryMiB: 1024, machine: "q35",
                               kernelArgs: "intel_iommu=on", programs: [helper], layers: [layer]);
        try
        {
            vm.AssertPassed(TimeSpan.FromSeconds(600));
            byte[] after = File.ReadAllBytes(disk.ImagePath!);
            Assert.That(after.Length, Is.EqualTo(DiskBytes));
            return (vm, before, after);
        }
        catch
        {
            vm.Dispose();
            throw;
        }
    }

    [Test]
    [CancelAfter(900_000)]
    public void VerifiedIoThroughVfioOnASplitRing()
    {
        // [0,16M) a pattern, polled; [16M,24M) random 4 KiB writes with crc32c through MSI-X interrupts, read back;
        // the pattern read back without indirect descriptors and event index, adaptive; [24M,28M) trimmed and read
        // back as zeroes; [28M,64M) untouched. Then the kernel takes the disk back and reads the pattern.
        const string script = """
            perf pattern --rw=write --bs=64k --iodepth=8 --size=16M --verify=pattern --verify_pattern=0xa5
            perf crc32c --rw=randwrite --bs=4k --iodepth=16 --offset=16M --size=8M --verify=crc32c --poll_mode=interrupt
            perf readback --rw=read --bs=16k --iodepth=4 --size=16M --verify=pattern --verify_pattern=0xa5 --indirect=0 --event_idx=0 --poll_mode=adaptive
            perf trim --rw=trim --bs=1M --iodepth=2 --offset=24M --size=4M
            perf zeroes --rw=read --bs=64k --offset=24M --size=4M --verify=pattern --verify_pattern=0x00
            orion-vfio-bind.sh unbind $bdf > /dev/null
            wait_for_disk /dev/vda
            value kernel-md5 "$(dd if=/dev/vda bs=1M count=16 2>/dev/null | md5sum | cut -d' ' -f1)"
            step done
            """;
        var (vm, before, after) = RunInGuest(script, "");
        using var _ = vm;
        Assert.That(vm.Value("listed"), Does.Contain("driver=vfio-pci").And.Contain("ready for VFIO"));
        var expected16M = new byte[16 * Mi];
        Array.Fill(expected16M, Pattern);
        Assert.That(vm.Value("kernel-md5"), Is.EqualTo(Convert.ToHexStringLower(MD5.HashData(expected16M))),
                    "the guest kernel, given the disk back, reads what the engine wrote");

        Assert.That(Array.FindIndex(after, 0, (int)(16 * Mi), b => b != Pattern), Is.EqualTo(-1), "[0, 16M) holds the pattern");
        Assert.That(after.AsSpan((int)(16 * Mi), (int)(8 * Mi)).SequenceEqual(before.AsSpan((int)(16 * Mi), (int)(8 * Mi))), Is.False,
                    "[16M, 24M) was written");
        Assert.That(Array.FindIndex(after, (int)(24 * Mi), (int)(4 * Mi), b => b != 0), Is.EqualTo(-1), "[24M, 28M) was trimmed to zeroes");
        Assert.That(after.AsSpan((int)(28 * Mi)).SequenceEqual(before.AsSpan((int)(28 * Mi))), Is.True, "[28M, 64M) is untouched, byte for byte");
    }

    [Test]
    [CancelAfter(900_000)]
    public void PackedRingsOnTwoQueuesThroughVfio()
    {
        // Two jobs on two packed queues of one engine, each with its own MSI-X vector, random writes over [0,8M) and
        // [8M,16M) (orion-perf verifies one job per region only); crc32c random writes read back over [16M,24M) on one
        // packed queue; a pattern over [32M,48M) on one polled packed queue without indirect descriptors, read back.
        const string script = """
            perf twoqueues --ring=packed --numjobs=2 --offset_increment=8M --rw=randwrite --bs=4k --iodepth=8 --size=8M --poll_mode=interrupt
            value queues "$(grep -c . /tmp/twoqueues.out)"
            perf crc32c --ring=packed --rw=randwrite --bs=4k --iodepth=16 --offset=16M --size=8M --verify=crc32c
            perf packed --ring=packed --rw=write --bs=32k --iodepth=8 --offset=32M --size=16M --verify=pattern --verify_pattern=0x3c --indirect=0
            step done
            """;
        var (vm, before, after) = RunInGuest(script, ",num-queues=2,packed=on");
        using var _ = vm;
        Assert.That(vm.Value("queues"), Is.EqualTo("2"), "one terse line per job: both ran");

        for (int job = 0; job < 3; job++)
            Assert.That(after.AsSpan((int)(job * 8 * Mi), (int)(8 * Mi)).SequenceEqual(before.AsSpan((int)(job * 8 * Mi), (int)(8 * Mi))), Is.False,
                        $"[{job * 8}M, {job * 8 + 8}M) was written");
        Assert.That(after.AsSpan((int)(24 * Mi), (int)(8 * Mi)).SequenceEqual(before.AsSpan((int)(24 * Mi), (int)(8 * Mi))), Is.True, "[24M, 32M) is untouched");
        Assert.That(Array.FindIndex(after, (int)(32 * Mi), (int)(16 * Mi), b => b != 0x3c), Is.EqualTo(-1), "[32M, 48M) holds the pattern");
        Assert.That(after.AsSpan((int)(48 * Mi)).SequenceEqual(before.AsSpan((int)(48 * Mi))), Is.True, "[48M, 64M) is untouched, byte for byte");
    }
}
