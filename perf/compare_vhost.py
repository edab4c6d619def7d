#!/usr/bin/env python3
"""orion-perf against external vhost-user back-ends, side by side with fio's null engine, in one run.

Usage: compare_vhost.py RUNTIME_S [--depths "1 32"] [--rw "randread randwrite"] [--targets "qsd orion-vhost"]

Starts qemu-storage-daemon (null-co, 1 GiB, one queue) and orion-vhost (null:1G, polled device thread, as SPDK's target polls) on sockets in a private /tmp
directory, runs `orion-perf --device vhost-user:SOCKET` for every rw x depth, and fio --ioengine=null at the same
depth as the same-run yardstick (the machine is shared and noisy: compare ratios, not absolute figures). Prints the
markdown table for perf/RESULTS.md: IOPS, median latency, kicks per I/O, and CPU time per I/O on both sides
(initiator from getrusage, back-end from /proc/PID/stat). Python 3 standard library only.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_fio import fmt, fmt_iops, load_report, machine_lines, summarize  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORION_PERF = os.path.join(ROOT, "tools/Orion.Perf/bin/Release/net10.0/orion-perf.dll")
ORION_VHOST = os.path.join(ROOT, "tools/Orion.Vhost/bin/Release/net10.0/orion-vhost.dll")


def wait_for_socket(path, proc, what, timeout=20):
    deadline = time.time() + timeout
    while not os.path.exists(path):
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        if time.time() > deadline:
            raise RuntimeError(f"{what} did not create {path} within {timeout} s")
        time.sleep(0.02)


def start_qsd(directory):
    sock = os.path.join(directory, "qsd.sock")
    proc = subprocess.Popen(
        ["qemu-storage-daemon", "--blockdev", "driver=null-co,node-name=n0,size=1073741824",
         "--export", f"type=vhost-user-blk,id=e0,node-name=n0,addr.type=unix,addr.path={sock},writable=on,num-queues=1"],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(directory, "qsd.log"), "w"))
    wait_for_socket(sock, proc, "qemu-storage-daemon")
    return proc, sock


def start_orion_vhost(directory):
    sock = os.path.join(directory, "ov.sock")
    proc = subprocess.Popen(["dotnet", ORION_VHOST, "--socket", sock, "--device", "null:1G", "--mode", "polled"],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(directory, "orion-vhost.log"), "w"))
    wait_for_socket(sock, proc, "orion-vhost")
    return proc, sock


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_json(cmd, timeout):
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])}... failed: {out.stderr.strip()[-300:]}")
    path = tempfile.mktemp(suffix=".json")
    with open(path, "w") as f:
        f.write(out.stdout)
    try:
        return load_report(path)
    finally:
        os.unlink(path)


def orion(sock, rw, depth, runtime):
    report = run_json(["dotnet", ORION_PERF, f"--rw={rw}", "--bs=4k", f"--iodepth={depth}", f"--runtime={runtime}",
                       "--time_based", "--ramp_time=1", f"--device=vhost-user:{sock}", "--output-format=json"], runtime + 60)
    s = summarize(report)
    o = s["orion"] or {}
    queues = o.get("queues", [])
    requests = sum(q.get("requests", 0) for q in queues)
    kicks = sum(q.get("kicks", 0) for q in queues)
    s["kicks_per_io"] = kicks / requests if requests else None
    s["device_cpu_us_per_io"] = (o.get("device_cpu") or {}).get("cpu_ns_per_io")
    if s["device_cpu_us_per_io"] is not None:
        s["device_cpu_us_per_io"] /= 1000.0
    return s


def fio_null(rw, depth, runtime):
    return summarize(run_json(["fio", "--name=null", "--ioengine=null", f"--rw={rw}", "--bs=4k", f"--iodepth={depth}",
                               "--size=1g", f"--runtime={runtime}", "--time_based", "--ramp_time=1",
                               "--output-format=json"], runtime + 60))


def main():
    args = sys.argv[1:]
    runtime = int(args[0]) if args else 5
    opts = dict(zip(args[1::2], args[2::2]))
    depths = [int(d) for d in opts.get("--depths", "1 32").split()]
    rws = opts.get("--rw", "randread randwrite").split()
    targets = opts.get("--targets", "qsd orion-vhost").split()
    directory = tempfile.mkdtemp(prefix="orion-cmp-", dir="/tmp")
    rows = []
    try:
        for target in targets:
            if target == "qsd" and shutil.which("qemu-storage-daemon") is None:
                rows.append((target, "-", 0, "qemu-storage-daemon not installed"))
                continue
            if target == "orion-vhost" and not os.path.exists(ORION_VHOST):
                rows.append((target, "-", 0, "orion-vhost not built"))
                continue
            proc, sock = start_qsd(directory) if target == "qsd" else start_orion_vhost(directory)
            try:
                for rw in rws:
                    for depth in depths:
                        peer = fio_null(rw, depth, runtime) if shutil.which("fio") else None
                        try:
                            rows.append((target, rw, depth, orion(sock, rw, depth, runtime), peer))
                        except (RuntimeError, subprocess.TimeoutExpired) as e:
                            rows.append((target, rw, depth, f"failed: {e}", peer))
            finally:
                stop(proc)
    finally:
        shutil.rmtree(directory, ignore_errors=True)

    print("\n".join(machine_lines()))
    print()
    print("| back-end | 4k job | IOPS | p50 clat (µs) | p99 clat (µs) | kicks / I/O | initiator CPU µs / I/O | back-end CPU µs / I/O | fio null IOPS (same run) | IOPS / fio null |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        target, rw, depth, r = row[:4]
        peer = row[4] if len(row) > 4 else None
        job = f"{rw} QD{depth}"
        if not isinstance(r, dict):
            print(f"| {target} | {job} | {r} | | | | | | | |")
            continue
        ratio = f"{r['iops'] / peer['iops']:.2f}×" if peer and peer["iops"] else "n/a"
        print(f"| {target} | {job} | {fmt_iops(r['iops'])} | {fmt(r['p50'], 2)} | {fmt(r['p99'], 2)} | "
              f"{fmt(r['kicks_per_io'], 3)} | {fmt(r['cpu_us_per_io'], 3)} | {fmt(r['device_cpu_us_per_io'], 3)} | "
              f"{fmt_iops(peer['iops']) if peer else 'n/a'} | {ratio} |")


if __name__ == "__main__":
    main()
