#!/usr/bin/env bash
# Builds what the guest tests boot under QEMU (tests/Orion.Guest.Tests), into CACHE (created if missing):
#   CACHE/vmlinuz          Debian's cloud kernel (linux-image-cloud-amd64), fetched with `apt-get download` and
#                          unpacked with `dpkg -x`: no install, no root needed
#   CACHE/base.cpio.gz     a busybox initramfs: /init, busybox (static) and its applets, the kernel's virtio-pci,
#                          virtio-blk and VFIO modules (/lib/modules/*.ko, loaded by /init in dependency order),
#                          mke2fs and its libraries (ldd)
#   CACHE/fio.cpio.gz      (with --fio) fio and its libraries, a layer appended after base.cpio.gz
# The kernel accepts several cpio archives one after another, so a test appends its own small layer holding
# /test.sh. /init runs it and prints the verdict line "ORION-GUEST-VERDICT: PASS" or "ORION-GUEST-VERDICT: FAIL rc=N"
# on the serial console, then powers the guest off.
# Artefacts are rebuilt when this script changes (a stamp holds its checksum). Needs apt-get (the kernel), cpio,
# gzip and busybox-static (/bin/busybox); exits 3 with a reason on stderr when one is missing.
set -euo pipefail
usage() { echo "usage: $0 [--fio] CACHE_DIR" >&2; exit 2; }
with_fio=0
[ "${1:-}" = "--fio" ] && { with_fio=1; shift; }
[ $# -eq 1 ] || usage
cache="$1"
missing() { echo "guest artefacts: $1" >&2; exit 3; }
[ "$(uname -m)" = x86_64 ] || missing "the guest tests boot an x86_64 kernel; this host is $(uname -m)"
busybox=/bin/busybox
[ -x "$busybox" ] && ! ldd "$busybox" >/dev/null 2>&1 ||
  missing "/bin/busybox is missing or not static (install busybox-static)"
command -v cpio >/dev/null || missing "cpio is not installed (install cpio)"
command -v apt-get >/dev/null && command -v dpkg >/dev/null || missing "apt-get and dpkg are needed to fetch the kernel"

mkdir -p "$cache"
cache="$(cd "$cache" && pwd)"
stamp="$(sha256sum "$0" | cut -c1-16)"
exec 9>"$cache/.lock"; flock 9          # two test hosts building at once wait for each other

# ---- the kernel and its modules -------------------------------------------------------------------------------------
modules=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk
         irqbypass vfio vfio_iommu_type1 vfio_virqfd vfio-pci-core vfio-pci)
if [ ! -f "$cache/kernel/stamp" ] || [ "$(cat "$cache/kernel/stamp")" != "$stamp" ]; then
  rm -rf "$cache/kernel"; work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
  pkg="$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n1)"
  [ -n "$pkg" ] || missing "apt-cache knows no linux-image-cloud-amd64 (run apt-get update, or a Debian/Ubuntu host is needed)"
  (cd "$work" && chmod 777 . && apt-get download -q "$pkg" >/dev/null 2>"$work/apt.err") ||
    missing "apt-get download $pkg failed: $(tail -n1 "$work/apt.err")"
  dpkg -x "$work"/*.deb "$work/root"
  mkdir -p "$cache/kernel/modules"
  cp "$work"/root/boot/vmlinuz-* "$cache/kernel/vmlinuz"
  for m in "${modules[@]}"; do
    f="$(find "$work/root/lib/modules" -name "$m.ko*" | head -n1)"
    [ -n "$f" ] || missing "the kernel package $pkg has no module $m"
    cp "$f" "$cache/kernel/modules/"
  done
  echo "$pkg" > "$cache/kernel/package"
  echo "$stamp" > "$cache/kernel/stamp"
  rm -rf "$work"; trap - EXIT
fi
cp "$cache/kernel/vmlinuz" "$cache/vmlinuz.tmp" && mv "$cache/vmlinuz.tmp" "$cache/vmlinuz"

# Copies the programs named and every library ldd names for them (and the loader) into ROOT at the same paths.
copy_with_libs() {
  local root="$1"; shift
  local f lib
  for f in "$@"; do
    mkdir -p "$root$(dirname "$f")"; cp -L "$f" "$root$f"
    for lib in $(ldd "$f" | grep -o '/[^ ]*'); do
      mkdir -p "$root$(dirname "$lib")"; cp -Ln "$lib" "$root$lib"
    done
  done
}
pack() { (cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 > "$2.tmp" && mv "$2.tmp" "$2"; }

# ---- the base layer ---------------------------------------------------------------------------------------------------
if [ ! -f "$cache/base.cpio.gz" ] || [ "$(cat "$cache/base.stamp" 2>/dev/null)" != "$stamp" ]; then
  root="$(mktemp -d)"; trap 'rm -rf "$root"' EXIT
  mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,mnt,lib/modules,lib64,run}
  cp "$busybox" "$root/bin/busybox"
  for applet in $("$busybox" --list); do [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"; done
  cp "$cache"/kernel/modules/* "$root/lib/modules/"
  copy_with_libs "$root" "$(command -v mke2fs)" "$(command -v e2fsck)"
  ln -sf "$(command -v mke2fs)" "$root/sbin/mkfs.ext4"
  if [ -f /etc/mke2fs.conf ]; then mkdir -p "$root/etc"; cp /etc/mke2fs.conf "$root/etc/"; fi   # the host's ext4 defaults
  printf '%s\n' "${modules[@]}" > "$root/lib/modules/order"
  cat > "$root/init" <<'INIT'
#!/bin/sh
# The guest's init: mounts, loads the modules in dependency order, runs /test.sh, prints the verdict, powers off.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev; mount -t tmpfs tmp /tmp
for m in $(cat /lib/modules/order); do
  f=$(ls /lib/modules/$m.ko* 2>/dev/null | head -n1)
  insmod "$f" || echo "ORION-GUEST-NOTE: insmod $m failed"
done
echo "ORION-GUEST-STEP: booted"
if [ -f /test.sh ]; then sh -e /test.sh; rc=$?; else echo "ORION-GUEST-NOTE: no /test.sh"; rc=99; fi
if [ $rc -eq 0 ]; then echo "ORION-GUEST-VERDICT: PASS"; else dmesg | tail -n 30; echo "ORION-GUEST-VERDICT: FAIL rc=$rc"; fi
sync
poweroff -f
INIT
  chmod +x "$root/init"
  pack "$root" "$cache/base.cpio.gz"
  echo "$stamp" > "$cache/base.stamp"
  rm -rf "$root"; trap - EXIT
fi

# ---- the fio layer --------------------------------------------------------------------------------------------------
if [ $with_fio = 1 ] && { [ ! -f "$cache/fio.cpio.gz" ] || [ "$(cat "$cache/fio.stamp" 2>/dev/null)" != "$stamp" ]; }; then
  command -v fio >/dev/null || missing "fio is not installed on the host (install fio)"
  root="$(mktemp -d)"; trap 'rm -rf "$root"' EXIT
  copy_with_libs "$root" "$(command -v fio)"
  pack "$root" "$cache/fio.cpio.gz"
  echo "$stamp" > "$cache/fio.stamp"
  rm -rf "$root"; trap - EXIT
fi
echo "$cache"
