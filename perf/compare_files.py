#!/usr/bin/env python3
"""Real storage side by side (issue 12's table): Orion on an image file against what people already use, in one run.

Usage: compare_files.py [--runtime S] [--rounds N] [--image PATH] [--size 1G] [--depths "1 32"] [--rw "randread randwrite"]
                        [--groups "embedded vhost null"] [--orion-args "--poll_mode=hybrid"] [--vhost-args "--io-poll-window 0"]

Groups, every pair run interleaved round after round in a shuffled order (the machine is shared: compare ratios):
  embedded  orion-perf --device=file:IMG,direct            vs  fio --ioengine=io_uring --direct=1 on IMG
  vhost     orion-perf -> orion-vhost --device file:IMG,direct  vs  orion-perf -> qemu-storage-daemon
            (driver=file, cache.direct=on, aio=io_uring) on IMG
  null      orion-perf null:1G and mem:1G                   vs  fio --ioengine=null (no-regression check)
Prints a Markdown table: medians and ranges of IOPS, p50 clat and CPU per I/O (both processes for vhost), and the
ratio to the peer with its range over rounds. Python 3 standard library only.
"""

import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_fio import machine_lines, summarize  # noqa: E402
from compare_vhost import ORION_PERF, ORION_VHOST, run_json, stop, wait_for_socket  # noqa: E402

SIZE_BYTES = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def parse_args(argv):
    opts = {"--runtime": "5", "--rounds": "3", "--image": "/var/tmp/orion-compare.img", "--size": "1G",
            "--depths": "1 32", "--rw": "randread randwrite", "--groups": "embedded vhost null", "--orion-args": "",
            "--vhost-args": ""}
    it = iter(argv)
    for a in it:
        if a not in opts:
            sys.exit(f"unknown option {a}; options: {' '.join(opts)}")
        opts[a] = next(it)
    return opts


def make_image(path, size):
    want = int(size[:-1]) * SIZE_BYTES[size[-1].lower()]
    if os.path.exists(path) and os.path.getsize(path) == want:
        return
    # Real data everywhere: a sparse image would answer reads of holes without touching the disk.
    with open(path, "wb") as f:
        block = os.urandom(1 << 20)
        for _ in range(want >> 20):
            f.write(block)


def orion_perf(device, rw, depth, runtime, extra):
    cmd = ["dotnet", ORION_PERF, f"--rw={rw}", "--bs=4k", f"--iodepth={depth}", f"--runtime={runtime}",
           "--time_based", "--ramp_time=1", f"--device={device}", "--output-format=json"] + extra
    s = summarize(run_json(cmd, runtime + 90))
    dev = ((s["orion"] or {}).get("device_cpu") or {}).get("cpu_ns_per_io")
    s["backend_cpu_us_per_io"] = dev / 1000.0 if dev is not None else None
    return s


def fio(engine, rw, depth, runtime, image=None):
    cmd = ["fio", "--name=peer", f"--ioengine={engine}", f"--rw={rw}", "--bs=4k", f"--iodepth={depth}",
           f"--runtime={runtime}", "--time_based", "--ramp_time=1", "--output-format=json"]
    cmd += [f"--filename={image}", "--direct=1"] if image else ["--size=1g"]
    return summarize(run_json(cmd, runtime + 90))


class Backend:
    """An external vhost-user back-end kept running for the whole run (restarted if it dies)."""

    def __init__(self, name, argv, directory):
        self.name, self.argv, self.directory, self.proc = name, argv, directory, None
        self.sock = os.path.join(directory, f"{name}.sock")

    def ensure(self):
        if self.proc is None or self.proc.poll() is not None:
            if os.path.exists(self.sock):
                os.unlink(self.sock)
            argv = [a.replace("SOCK", self.sock) for a in self.argv]
            self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                         stderr=open(os.path.join(self.directory, f"{self.name}.log"), "a"))
            wait_for_socket(self.sock, self.proc, self.name)
        return self.sock

    def close(self):
        if self.proc is not None:
            stop(self.proc)


def median_range(values, digits=1, scale=1.0):
    values = [v * scale for v in values if v is not None]
    if not values:
        return "n/a"
    return f"{statistics.median(values):,.{digits}f} ({min(values):,.{digits}f}–{max(values):,.{digits}f})"


def main():
    o = parse_args(sys.argv[1:])
    runtime, rounds = int(o["--runtime"]), int(o["--rounds"])
    depths = [int(d) for d in o["--depths"].split()]
    rws = o["--rw"].split()
    groups = o["--groups"].split()
    extra = o["--orion-args"].split()
    image = o["--image"]
    if "embedded" in groups or "vhost" in groups:
        make_image(image, o["--size"])
    directory = tempfile.mkdtemp(prefix="orion-files-", dir="/tmp")
    backends = {}
    if "vhost" in groups:
        backends["orion-vhost"] = Backend("orion-vhost", ["dotnet", ORION_VHOST, "--socket", "SOCK", "--device", f"file:{image},direct"]
                                         + o["--vhost-args"].split(), directory)
        if shutil.which("qemu-storage-daemon"):
            backends["qsd"] = Backend("qsd", [
                "qemu-storage-daemon", "--blockdev",
                f"driver=file,node-name=f0,filename={image},cache.direct=on,aio=io_uring",
                "--export", "type=vhost-user-blk,id=e0,node-name=f0,addr.type=unix,addr.path=SOCK,writable=on,num-queues=1"], directory)

    # Each case: (group, job, [(label, thunk)]), the first entry Orion's, the second the peer.
    cases = []
    for rw in rws:
        for d in depths:
            job = f"{rw} QD{d}"
            if "embedded" in groups:
                cases.append(("file, embedded", job, [
                    ("orion-perf file:,direct", lambda rw=rw, d=d: orion_perf(f"file:{image},direct", rw, d, runtime, extra)),
                    ("fio io_uring --direct=1", lambda rw=rw, d=d: fio("io_uring", rw, d, runtime, image))]))
            if "vhost" in groups and "qsd" in backends:
                cases.append(("file, vhost-user", job, [
                    ("orion-perf → orion-vhost", lambda rw=rw, d=d: orion_perf(f"vhost-user:{backends['orion-vhost'].ensure()}", rw, d, runtime, extra)),
                    ("orion-perf → qemu-storage-daemon", lambda rw=rw, d=d: orion_perf(f"vhost-user:{backends['qsd'].ensure()}", rw, d, runtime, extra))]))
    if "null" in groups:
        for d in depths:
            job = f"randread QD{d}"
            for dev in ("null:1G", "mem:1G"):
                cases.append((f"{dev.split(':')[0]}:", job, [
                    (f"orion-perf {dev}", lambda d=d, dev=dev: orion_perf(dev, "randread", d, runtime, extra)),
                    ("fio null", lambda d=d: fio("null", "randread", d, runtime))]))

    results = {i: ([], []) for i in range(len(cases))}
    try:
        for r in range(rounds):
            order = list(range(len(cases)))
            random.shuffle(order)
            for i in order:
                _, _, pair = cases[i]
                sides = [0, 1]
                random.shuffle(sides)
                got = [None, None]
                for side in sides:
                    try:
                        got[side] = pair[side][1]()
                    except (RuntimeError, subprocess.TimeoutExpired) as e:
                        print(f"round {r + 1}: {pair[side][0]} failed: {e}", file=sys.stderr)
                results[i][0].append(got[0])
                results[i][1].append(got[1])
            print(f"round {r + 1} of {rounds} done", file=sys.stderr)
    finally:
        for b in backends.values():
            b.close()
        shutil.rmtree(directory, ignore_errors=True)

    print("\n".join(machine_lines()))
    print(f"\n{rounds} rounds of {runtime} s each (after 1 s ramp), pairs interleaved in shuffled order; medians (min–max).")
    if extra:
        print(f"orion-perf extra options: {' '.join(extra)}")
    if o["--vhost-args"]:
        print(f"orion-vhost extra options: {o['--vhost-args']}")
    print()
    print("| device | job | Orion | IOPS | p50 clat µs | CPU µs/I/O | peer | IOPS | p50 clat µs | CPU µs/I/O | IOPS ratio |")
    print("|---|---|---|---:|---:|---:|---|---:|---:|---:|---:|")
    for i, (group, job, pair) in enumerate(cases):
        ours, peers = results[i]

        def col(runs, key, digits=1, scale=1.0):
            return median_range([x[key] if x else None for x in runs], digits, scale)

        def cpu(runs):
            # Both processes for a vhost-user pair: the initiator's and the back-end's CPU per I/O.
            return median_range([(x["cpu_us_per_io"] or 0) + (x.get("backend_cpu_us_per_io") or 0) if x else None for x in runs], 2)

        ratios = [a["iops"] / b["iops"] for a, b in zip(ours, peers) if a and b and b["iops"]]
        print(f"| {group} | {job} | {pair[0][0]} | {col(ours, 'iops', 0)} | {col(ours, 'p50')} | {cpu(ours)} | "
              f"{pair[1][0]} | {col(peers, 'iops', 0)} | {col(peers, 'p50')} | {cpu(peers)} | {median_range(ratios, 2)}× |")


if __name__ == "__main__":
    main()
