#!/bin/sh
# Binds a virtio-blk PCI function to vfio-pci (for a user-space driver through VFIO) and gives it back to the kernel.
#   orion-vfio-bind.sh bind   0000:00:03.0   unbind from its driver, set driver_override=vfio-pci, reprobe;
#                                            prints /dev/vfio/GROUP
#   orion-vfio-bind.sh unbind 0000:00:03.0   unbind from vfio-pci, clear driver_override, reprobe (virtio-pci takes it)
#   orion-vfio-bind.sh status 0000:00:03.0   vendor:device, driver, IOMMU group and the group's other members
# Every refusal names what is wrong and what would be right. POSIX sh (runs under busybox too). Needs root.
set -eu
die() { echo "orion-vfio-bind: $*" >&2; exit 1; }
[ $# -eq 2 ] || die "usage: $0 bind|unbind|status DOMAIN:BUS:SLOT.FUNC (for example 0000:00:03.0)"
action="$1"; bdf="$2"
case "$bdf" in
  [0-9a-f][0-9a-f][0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-1][0-9a-f].[0-7]) ;;
  *) die "'$bdf' is not a PCI address; give DOMAIN:BUS:SLOT.FUNC in lower-case hex, for example 0000:00:03.0" ;;
esac
dev="/sys/bus/pci/devices/$bdf"
[ -d "$dev" ] || die "no PCI function $bdf (lspci -D, or ls /sys/bus/pci/devices, lists them)"
vendor="$(cat "$dev/vendor")"; device="$(cat "$dev/device")"
driver() { if [ -e "$dev/driver" ]; then basename "$(readlink "$dev/driver")"; else echo none; fi; }
group() { if [ -e "$dev/iommu_group" ]; then basename "$(readlink "$dev/iommu_group")"; fi; }

case "$action" in
  status)
    echo "$bdf ${vendor#0x}:${device#0x} driver=$(driver) iommu_group=$(group || true)"
    g="$(group || true)"
    if [ -n "$g" ]; then
      for m in /sys/kernel/iommu_groups/"$g"/devices/*; do
        b="$(basename "$m")"; [ "$b" = "$bdf" ] && continue
        d=none; [ -e "$m/driver" ] && d="$(basename "$(readlink "$m/driver")")"
        echo "  group $g also holds $b driver=$d"
      done
    fi
    ;;
  bind)
    [ "$(id -u)" = 0 ] || die "binding a PCI function needs root (run with sudo)"
    [ "$vendor" = 0x1af4 ] || die "$bdf is vendor $vendor, not a VirtIO device (0x1af4)"
    case "$device" in
      0x1042) ;;
      0x1001) die "$bdf is a transitional virtio-blk (1af4:1001); Orion drives modern devices only: give QEMU disable-legacy=on (then it is 1af4:1042)" ;;
      *) die "$bdf is VirtIO device $device, not virtio-blk (1af4:1042)" ;;
    esac
    g="$(group || true)"
    [ -n "$g" ] || die "$bdf has no IOMMU group: enable the IOMMU (VT-d/AMD-Vi in the firmware, intel_iommu=on or amd_iommu=on on the kernel line; in QEMU -machine q35 -device intel-iommu,intremap=off)"
    [ -d /sys/bus/pci/drivers/vfio-pci ] || die "the vfio-pci driver is not loaded (modprobe vfio-pci)"
    for m in /sys/kernel/iommu_groups/"$g"/devices/*; do
      b="$(basename "$m")"; [ "$b" = "$bdf" ] && continue
      [ -e "$m/driver" ] || continue
      d="$(basename "$(readlink "$m/driver")")"
      case "$d" in vfio-pci|pcieport|pci-stub) ;; *) die "IOMMU group $g is not viable: $b in it is bound to $d; bind every member of the group to vfio-pci first (or move the disk to a slot of its own)" ;; esac
    done
    if [ "$(driver)" != vfio-pci ]; then
      [ "$(driver)" = none ] || echo "$bdf" > "$dev/driver/unbind"
      echo vfio-pci > "$dev/driver_override"
      echo "$bdf" > /sys/bus/pci/drivers_probe
    fi
    [ "$(driver)" = vfio-pci ] || die "$bdf did not bind to vfio-pci (driver now: $(driver)); see dmesg"
    i=0; while [ ! -e "/dev/vfio/$g" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    [ -e "/dev/vfio/$g" ] || die "/dev/vfio/$g did not appear"
    echo "/dev/vfio/$g"
    ;;
  unbind)
    [ "$(id -u)" = 0 ] || die "unbinding a PCI function needs root (run with sudo)"
    [ "$(driver)" = vfio-pci ] || die "$bdf is bound to $(driver), not vfio-pci; nothing to give back"
    echo "$bdf" > "$dev/driver/unbind"
    echo > "$dev/driver_override"
    echo "$bdf" > /sys/bus/pci/drivers_probe
    echo "$bdf driver=$(driver)"
    ;;
  *) die "unknown action '$action'; use bind, unbind or status" ;;
esac
