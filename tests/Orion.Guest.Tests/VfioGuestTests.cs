using Orion.Guest.Tests.Support;

namespace Orion.Guest.Tests;

/// <summary>
/// Inside a guest with an IOMMU (q35, QEMU's intel-iommu, <c>intel_iommu=on</c>), a modern virtio-blk PCI function
/// (<c>disable-legacy=on</c>, 1af4:1042) goes from the kernel's virtio-pci driver to vfio-pci and back through
/// <c>tools/orion-vfio-bind.sh</c>, which refuses what it cannot bind with the reason.
/// </summary>
[NonParallelizable]
public class VfioGuestTests
{
    [Test]
    [CancelAfter(600_000)]
    public void VfioBindingInTheGuest()
    {
        var artefacts = GuestArtefacts.Require();
        using var disk = GuestDisk.Create("file", 64L << 20);
        string helper = Path.Combine(AppContext.BaseDirectory, "guest", "orion-vfio-bind.sh");
        const string script = """
            wait_for_disk /dev/vda
            bdf=""
            for d in /sys/bus/pci/devices/*; do
              [ "$(cat $d/vendor):$(cat $d/device)" = "0x1af4:0x1042" ] && bdf=$(basename $d)
            done
            [ -n "$bdf" ] || fail "no modern virtio-blk PCI function"
            value status "$(orion-vfio-bind.sh status $bdf)"
            if orion-vfio-bind.sh bind 0000:00:00.0 2> /tmp/err; then fail "the host bridge was bound"; fi
            value refusal "$(cat /tmp/err)"
            if orion-vfio-bind.sh bind 00:03.0 2> /tmp/err; then fail "a short address was accepted"; fi
            value bad-address "$(cat /tmp/err)"
            value vfio "$(orion-vfio-bind.sh bind $bdf)"
            [ -c "$(orion-vfio-bind.sh bind $bdf)" ] || fail "binding again did not name the group's device"
            [ ! -b /dev/vda ] || fail "/dev/vda is still there with the function on vfio-pci"
            value bound "$(orion-vfio-bind.sh status $bdf)"
            value unbound "$(orion-vfio-bind.sh unbind $bdf)"
            wait_for_disk /dev/vda
            dd if=/dev/vda of=/dev/null bs=1M count=1 2>/dev/null || fail "/dev/vda does not read after the kernel took it back"
            step done
            """;
        using var vm = GuestVm.Start(artefacts, script,
            ["-device", "intel-iommu,intremap=off",
             "-drive", $"file={disk.ImagePath},if=none,id=d0,format=raw", "-device", "virtio-blk-pci,drive=d0,disable-legacy=on"],
            machine: "q35", kernelArgs: "intel_iommu=on", programs: [helper]);
        vm.AssertPassed(TimeSpan.FromSeconds(240));
        Assert.That(vm.Value("status"), Does.Match(@"^0000:00:0[0-9a-f]\.0 1af4:1042 driver=virtio-pci iommu_group=\d+$"));
        Assert.That(vm.Value("vfio"), Does.Match(@"^/dev/vfio/\d+$"));
        Assert.That(vm.Value("bound"), Does.Contain("driver=vfio-pci"));
        Assert.That(vm.Value("unbound"), Does.EndWith("driver=virtio-pci"));
        Assert.That(vm.Value("refusal"), Does.Contain("not a VirtIO device (0x1af4)"));
        Assert.That(vm.Value("bad-address"), Does.Contain("is not a PCI address"));
    }
}
