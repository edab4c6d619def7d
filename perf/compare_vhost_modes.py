#!/usr/bin/env python3
"""orion-perf against qemu-storage-daemon (null-co) and orion-vhost (null:1G) in each of its modes, interleaved.

Usage: compare_vhost_modes.py [--runtime S] [--rounds N] [--depths "1 32 1@10000"] [--windows "50us"] [--modes "kick adaptive polled"]
                              [--idle S] [--rw randread]

Back-ends: qemu-storage-daemon null-co (1 GiB, one queue) and one orion-vhost per mode (--mode kick, --mode polled,
and --mode adaptive --poll-window W for each W in --windows; the first window is labelled as the one under test),
each on its own socket in a private /tmp directory, all started once. Every round runs `orion-perf --rw=RW --bs=4k
--iodepth=D --runtime=S --time_based --ramp_time=1 --device=vhost-user:SOCKET` against each back-end, depth by depth,
in an order rotated from round to round (a depth written D@RATE runs open loop, --rate_iops=RATE: the gaps
between requests then decide whether an adaptive thread sleeps) (the machine is shared: compare the medians of interleaved rounds, never one
run). The table gives, per back-end and depth: median IOPS with the range over rounds, median p50 latency, the ratio
of median IOPS to qemu-storage-daemon's, and orion-vhost's kicks and sleeps per request (from the one line it logs
per queue when a front-end leaves). Idle CPU: each back-end serves orion-perf at --rate_iops=1 (a connected
front-end, no I/O to speak of) for --idle seconds, and the back-end's utime+stime over the middle of that window
(/proc/PID/stat) is reported as a percentage of one core. Python 3 standard library only.
"""

import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_fio import fmt_iops, machine_lines, summarize  # noqa: E402
from compare_vhost import ORION_PERF, ORION_VHOST, orion, run_json, start_qsd, stop, wait_for_socket  # noqa: E402

DEFAULT_WINDOW = "50us"          # orion-vhost's default --poll-window (VhostOptions.DefaultPollWindow)
STAT_LINE = re.compile(r"queue 0: (\d+) requests in \d+ batches, (\d+) kicks .*?, (\d+) sleeps")


def run_orion(sock, rw, depth, runtime):
    """orion() of compare_vhost.py; a depth written D@RATE runs open loop at RATE IOPS (--rate_iops)."""
    d, _, rate = str(depth).partition("@")
    if not rate:
        return orion(sock, rw, int(d), runtime)
    report = run_json(["dotnet", ORION_PERF, f"--rw={rw}", "--bs=4k", f"--iodepth={d}", f"--runtime={runtime}",
                       "--time_based", "--ramp_time=1", f"--rate_iops={rate}", f"--device=vhost-user:{sock}",
                       "--output-format=json"], runtime + 60)
    s = summarize(report)
    s["device_cpu_us_per_io"] = ((s["orion"] or {}).get("device_cpu") or {}).get("cpu_ns_per_io")
    if s["device_cpu_us_per_io"] is not None:
        s["device_cpu_us_per_io"] /= 1000.0
    return s


def parse_args(argv):
    opts = {"--runtime": "3", "--rounds": "3", "--depths": "1 32", "--windows": "50us", "--modes": "kick adaptive polled",
            "--idle": "10", "--rw": "randread"}
    i = 0
    while i < len(argv):
        name, _, value = argv[i].partition("=")
        if name not in opts:
            sys.exit(f"compare_vhost_modes.py: unknown option {name}; see the docstring")
        if not value:
            i += 1
            value = argv[i]
        opts[name] = value
        i += 1
    return opts


def start_vhost(directory, label, args):
    sock = os.path.join(directory, f"{label}.sock")
    log = os.path.join(directory, f"{label}.log")
    proc = subprocess.Popen(["dotnet", ORION_VHOST, "--socket", sock, "--device", "null:1G", *args],
                            stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    wait_for_socket(sock, proc, f"orion-vhost {label}")
    return proc, sock, log


def last_queue_stats(log):
    """(requests, kicks, sleeps) from the last per-queue line orion-vhost logged, or None."""
    for _ in range(50):
        with open(log) as f:
            found = STAT_LINE.findall(f.read())
        if found:
            return tuple(int(x) for x in found[-1])
        time.sleep(0.1)
    return None


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu(proc, sock, seconds):
    """Percent of one core the back-end used while orion-perf was connected at 1 IOPS."""
    perf = subprocess.Popen(["dotnet", ORION_PERF, "--rw=randread", "--bs=4k", "--iodepth=1", f"--runtime={seconds}",
                             "--time_based", "--rate_iops=1", f"--device=vhost-user:{sock}", "--output-format=json"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(min(3.0, seconds / 3))            # connected and past the JIT
    window = max(1.0, seconds - 2 * min(3.0, seconds / 3))
    c0, t0 = cpu_seconds(proc.pid), time.monotonic()
    time.sleep(window)
    c1, t1 = cpu_seconds(proc.pid), time.monotonic()
    perf.wait(seconds + 60)
    return 100.0 * (c1 - c0) / (t1 - t0)


def spread(values, f):
    return f"{f(statistics.median(values))} ({f(min(values))}-{f(max(values))})" if len(values) > 1 else f(values[0])


def main():
    o = parse_args(sys.argv[1:])
    runtime, rounds, idle_s = int(o["--runtime"]), int(o["--rounds"]), int(o["--idle"])
    depths = o["--depths"].split()
    windows = o["--windows"].split()
    directory = tempfile.mkdtemp(prefix="orion-modes-", dir="/tmp")
    targets = []        # (label, proc, sock, log or None)
    try:
        if shutil.which("qemu-storage-daemon"):
            proc, sock = start_qsd(directory)
            targets.append(("qemu-storage-daemon null-co", proc, sock, None))
        for mode in o["--modes"].split():
            if mode == "adaptive":
                for w in windows:
                    label = f"orion-vhost adaptive {w}" + (" (default)" if w == DEFAULT_WINDOW else "")
                    proc, sock, log = start_vhost(directory, f"adaptive-{w}", ["--mode", "adaptive", "--poll-window", w])
                    targets.append((label, proc, sock, log))
            else:
                proc, sock, log = start_vhost(directory, mode, ["--mode", mode])
                targets.append((f"orion-vhost {mode}", proc, sock, log))

        results = {(t[0], d): [] for t in targets for d in depths}
        for r in range(rounds):
            for d in depths:
                order = targets[r % len(targets):] + targets[:r % len(targets)]
                for label, proc, sock, log in order:
                    try:
                        s = run_orion(sock, o["--rw"], d, runtime)
                    except (RuntimeError, subprocess.TimeoutExpired) as e:
                        print(f"round {r + 1}: {label} QD{d} failed: {e}", file=sys.stderr)
                        continue
                    stats = last_queue_stats(log) if log else None
                    if stats and stats[0]:
                        s["kicks_per_io"], s["sleeps_per_io"] = stats[1] / stats[0], stats[2] / stats[0]
                    else:
                        s["sleeps_per_io"] = None
                    results[(label, d)].append(s)
                    print(f"round {r + 1}: {label} QD{d}: {s['iops'] / 1e3:.0f} k IOPS", file=sys.stderr)
        idle = {}
        if idle_s > 0:
            for label, proc, sock, log in targets:
                idle[label] = idle_cpu(proc, sock, idle_s)
                print(f"idle: {label}: {idle[label]:.2f} % of a core", file=sys.stderr)
    finally:
        for _, proc, _, _ in targets:
            stop(proc)
        shutil.rmtree(directory, ignore_errors=True)

    print("\n".join(machine_lines()))
    print(f"\n4 KiB {o['--rw']}, orion-perf --runtime={runtime} --ramp_time=1, {rounds} interleaved rounds: median (min-max).\n")
    print("| back-end | QD | IOPS | p50 clat (µs) | IOPS / qsd | kicks / I/O | device sleeps / I/O | back-end CPU under load (% of a core) | idle CPU (% of a core) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    qsd = targets[0][0] if targets and targets[0][3] is None else None
    for label, *_ in targets:
        for d in depths:
            runs = results[(label, d)]
            if not runs:
                print(f"| {label} | {d} | failed | | | | | | |")
                continue
            iops = [x["iops"] for x in runs]
            p50 = [x["p50"] for x in runs if x.get("p50") is not None]
            base = [x["iops"] for x in results.get((qsd, d), [])] if qsd else []
            ratio = f"{statistics.median(iops) / statistics.median(base):.2f}×" if base else "n/a"
            if base and len(iops) == len(base) and len(iops) > 1:
                per_round = [a / b for a, b in zip(iops, base)]
                ratio += f" ({min(per_round):.2f}-{max(per_round):.2f})"
            kicks = [x["kicks_per_io"] for x in runs if x.get("kicks_per_io") is not None]
            sleeps = [x["sleeps_per_io"] for x in runs if x.get("sleeps_per_io") is not None]
            cpu = [x["device_cpu_us_per_io"] * x["iops"] / 1e4 for x in runs if x.get("device_cpu_us_per_io") is not None]
            print(f"| {label} | {d.replace('@', ' @ ') + ('/s' if '@' in d else '')} | {spread(iops, fmt_iops)} | {spread(p50, lambda v: f'{v:.2f}') if p50 else 'n/a'} | {ratio} | "
                  f"{f'{statistics.median(kicks):.3f}' if kicks else 'n/a'} | {f'{statistics.median(sleeps):.3f}' if sleeps else 'n/a'} | "
                  f"{f'{statistics.median(cpu):.0f}' if cpu else 'n/a'} | "
                  f"{f'{idle[label]:.2f}' if label in idle and d == depths[0] else ''} |")


if __name__ == "__main__":
    main()
