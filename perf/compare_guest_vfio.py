#!/usr/bin/env python3
"""orion-perf through VFIO against fio's io_uring engine through the guest kernel, on the same disk of one guest.

Boots one Linux guest under QEMU (TCG: absolute figures mean nothing, the ratio in the same guest does) with a modern
virtio-blk PCI disk behind QEMU's intel-iommu, and in interleaved rounds runs 4 KiB random reads at QD1 and QD32:
  orion-perf --device virtio-pci:ADDRESS   (the disk bound to vfio-pci by tools/orion-vfio-bind.sh, polled mode)
  fio --ioengine=io_uring --direct=1 --filename=/dev/vda   (the disk given back to the kernel's virtio-blk driver)
Each run's fio-layout JSON comes back on the serial console; the table gives median IOPS and CPU µs per I/O
(perf/compare_fio.py's reading of usr_cpu + sys_cpu) over the rounds, and the orion/fio ratios.

Usage: perf/compare_guest_vfio.py [--rounds 3] [--runtime 10] [--disk-mib 1024] [--smp 2] [--cache DIR] [--orion-perf EXE]
Needs what tests/Orion.Guest.Tests needs (qemu-system-x86, busybox-static, cpio, apt-get for the kernel, fio on the
host); without --orion-perf it publishes orion-perf with NativeAOT. Run it on a quiet machine: the lead does.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_fio import summarize  # noqa: E402  (one reading of fio's JSON for both tools)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEPTHS = (1, 32)

GUEST_SCRIPT = r"""
step() { echo "ORION-GUEST-STEP: $*"; }
value() { echo "ORION-GUEST-VALUE: $*"; }
fail() { echo "ORION-GUEST-NOTE: $*"; exit 1; }
bdf=""
for d in /sys/bus/pci/devices/*; do [ "$(cat $d/vendor):$(cat $d/device)" = "0x1af4:0x1042" ] && bdf=$(basename $d); done
[ -n "$bdf" ] || fail "no modern virtio-blk PCI function"
i=0; while [ ! -b /dev/vda ]; do i=$((i + 1)); [ $i -lt 200 ] || fail "no /dev/vda"; sleep 0.1; done
# Lay the disk out once, so reads meet data on both paths.
dd if=/dev/urandom of=/dev/vda bs=1M count=@SIZE_MIB@ oflag=direct 2>/dev/null || fail "laying out the disk"
for round in $(seq 1 @ROUNDS@); do
  for qd in @DEPTHS@; do
    orion-vfio-bind.sh bind $bdf > /dev/null || fail "bind"
    orion-perf --name=orion --device=virtio-pci:$bdf --rw=randread --bs=4k --iodepth=$qd --size=@SIZE_MIB@M \
      --runtime=@RUNTIME@s --time_based --ramp_time=1s --poll_mode=polled --output-format=json > /tmp/o.json 2>/tmp/o.err \
      || { cat /tmp/o.err; fail "orion-perf qd$qd"; }
    value "json-orion-qd$qd-r$round" "$(tr -d '\n' < /tmp/o.json)"
    orion-vfio-bind.sh unbind $bdf > /dev/null || fail "unbind"
    i=0; while [ ! -b /dev/vda ]; do i=$((i + 1)); [ $i -lt 200 ] || fail "no /dev/vda after unbind"; sleep 0.1; done
    fio --name=fio --filename=/dev/vda --ioengine=io_uring --direct=1 --rw=randread --bs=4k --iodepth=$qd \
      --size=@SIZE_MIB@M --runtime=@RUNTIME@s --time_based --ramp_time=1s --output-format=json > /tmp/f.json 2>/tmp/f.err \
      || { cat /tmp/f.err; fail "fio qd$qd"; }
    value "json-fio-qd$qd-r$round" "$(tr -d '\n' < /tmp/f.json)"
  done
done
step done
"""


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, stdout=subprocess.PIPE, **kw).stdout.strip()


def orion_layer(cache, exe):
    if exe is None:
        out = os.path.join(cache, "orion-perf-aot")
        subprocess.run(["dotnet", "publish", os.path.join(REPO, "tools", "Orion.Perf"), "-c", "Release", "-r", "linux-x64",
                        "-p:PublishAot=true", "-nologo", "-v:quiet", "-o", out], check=True)
        exe = os.path.join(out, "orion-perf")
    root = tempfile.mkdtemp()
    try:
        os.makedirs(os.path.join(root, "bin"))
        shutil.copy(exe, os.path.join(root, "bin", "orion-perf"))
        shutil.copy(os.path.join(REPO, "tools", "orion-vfio-bind.sh"), os.path.join(root, "bin", "orion-vfio-bind.sh"))
        for lib in re.findall(r"(/\S+)", run(["ldd", exe])):
            dest = root + lib
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            if not os.path.exists(dest):
                shutil.copy(lib, dest)
        layer = os.path.join(cache, "compare-orion.cpio.gz")
        subprocess.run(f"cd '{root}' && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -1 > '{layer}'",
                       shell=True, check=True)
        return layer
    finally:
        shutil.rmtree(root)


def script_layer(work, args):
    root = os.path.join(work, "script")
    os.makedirs(root)
    text = (GUEST_SCRIPT.replace("@ROUNDS@", str(args.rounds)).replace("@RUNTIME@", str(args.runtime))
            .replace("@SIZE_MIB@", str(args.disk_mib)).replace("@DEPTHS@", " ".join(map(str, DEPTHS))))
    with open(os.path.join(root, "test.sh"), "w") as f:
        f.write(text)
    layer = os.path.join(work, "script.cpio.gz")
    subprocess.run(f"cd '{root}' && find . | cpio -o -H newc --quiet -R 0:0 | gzip -1 > '{layer}'", shell=True, check=True)
    return layer


def initrd(path, layers):
    with open(path, "wb") as out:
        for layer in layers:
            with open(layer, "rb") as f:
                shutil.copyfileobj(f, out)
            out.write(b"\0" * (-out.tell() % 4))


def boot(args, cache, layers, image):
    work = os.path.dirname(image)
    rd = os.path.join(work, "initrd")
    initrd(rd, layers)
    cmd = ["qemu-system-x86_64", "-nodefaults", "-machine", "q35", "-accel", "tcg,thread=multi", "-cpu", "max",
           "-smp", str(args.smp), "-m", "1024", "-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot",
           "-kernel", os.path.join(cache, "vmlinuz"), "-initrd", rd,
           "-append", "console=ttyS0 panic=-1 quiet intel_iommu=on",
           "-device", "intel-iommu,intremap=on",
           "-drive", f"file={image},if=none,id=d0,format=raw,cache=none,aio=io_uring",
           "-device", "virtio-blk-pci,drive=d0,disable-legacy=on,iommu_platform=on"]
    budget = 120 + args.rounds * len(DEPTHS) * 2 * (args.runtime + 30)
    proc = subprocess.run(cmd, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=budget)
    return proc.stdout


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--runtime", type=int, default=10, help="seconds per run")
    p.add_argument("--disk-mib", type=int, default=1024)
    p.add_argument("--smp", type=int, default=2)
    p.add_argument("--cache", default=os.environ.get("ORION_GUEST_CACHE", os.path.expanduser("~/.cache/orion-guest")))
    p.add_argument("--orion-perf", help="a NativeAOT orion-perf to ship (default: publish one)")
    args = p.parse_args(argv)

    cache = run(["bash", os.path.join(REPO, "tests", "guest", "build-initramfs.sh"), "--fio", args.cache])
    layers = [os.path.join(cache, "base.cpio.gz"), os.path.join(cache, "fio.cpio.gz"), orion_layer(cache, args.orion_perf)]
    work = tempfile.mkdtemp(prefix="orion-compare-vfio-")
    try:
        image = os.path.join(work, "disk.img")
        with open(image, "wb") as f:
            f.truncate(args.disk_mib << 20)
        console = boot(args, cache, layers + [script_layer(work, args)], image)
    finally:
        shutil.rmtree(work)
    if "ORION-GUEST-VERDICT: PASS" not in console:
        sys.stderr.write(console[-6000:])
        sys.exit("the guest did not pass; its console is above")

    runs = {}
    for m in re.finditer(r"^ORION-GUEST-VALUE: json-(orion|fio)-qd(\d+)-r\d+ (.*)$", console, re.MULTILINE):
        text = m.group(3)
        report = json.loads(text[text.index("{"):])
        runs.setdefault((m.group(1), int(m.group(2))), []).append(summarize(report))

    lines = [f"Guest: QEMU TCG, -smp {args.smp}, q35 + intel-iommu, virtio-blk-pci (iommu_platform=on), "
             f"{args.disk_mib} MiB raw image (cache=none); {args.rounds} interleaved rounds of {args.runtime} s, medians.", "",
             "| QD | orion-perf IOPS | fio io_uring IOPS | IOPS ratio | orion CPU µs/IO | fio CPU µs/IO | CPU ratio |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for qd in DEPTHS:
        o, f = runs.get(("orion", qd), []), runs.get(("fio", qd), [])
        if not o or not f:
            lines.append(f"| {qd} | missing | missing | | | | |")
            continue
        oi, fi = statistics.median(r["iops"] for r in o), statistics.median(r["iops"] for r in f)
        oc = statistics.median(r["cpu_us_per_io"] or 0 for r in o)
        fc = statistics.median(r["cpu_us_per_io"] or 0 for r in f)
        lines.append(f"| {qd} | {oi:,.0f} | {fi:,.0f} | {oi / fi:.2f} | {oc:.1f} | {fc:.1f} | {(oc / fc if fc else 0):.2f} |")
    lines += ["", "orion-perf busy-polls (its CPU per I/O includes the idle spinning); fio sleeps in io_uring_enter. "
              "Under TCG every MMIO doorbell and every interrupt is emulated, so the ratios, not the figures, carry."]
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])
