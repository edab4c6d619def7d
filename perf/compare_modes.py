"""Runs orion-perf over engine configurations and prints a markdown table (see compare-modes.sh)."""
import json
import subprocess
import sys
import datetime
import os

RUNTIME = sys.argv[1] if len(sys.argv) > 1 else "5"
DLL = "tools/Orion.Perf/bin/Release/net10.0/orion-perf.dll"
BENCH = "perf/Orion.Pmd.Benchmarks/bin/Release/net10.0/Orion.Pmd.Benchmarks.dll"
CONFIGS = [
    ("split, indirect, polled", []),
    ("packed, indirect, polled", ["--ring=packed"]),
    ("split, direct, polled", ["--indirect=0"]),
    ("packed, direct, polled", ["--ring=packed", "--indirect=0"]),
    ("split, indirect, adaptive", ["--poll_mode=adaptive"]),
    ("split, indirect, interrupt", ["--poll_mode=interrupt"]),
    ("split, indirect, polled, 2 queues (numjobs=2)", ["--numjobs=2"]),
]


def run(depth, extra):
    cmd = ["dotnet", DLL, "--rw=randread", "--bs=4k", f"--iodepth={depth}", f"--runtime={RUNTIME}", "--ramp_time=1",
           "--time_based", "--device=null:1G", "--output-format=json"] + extra
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    job = json.loads(out)["jobs"][0]
    read = job["read"]
    pct = read["clat_ns"]["percentile"]
    return read["iops"], pct["50.000000"] / 1000, pct["99.000000"] / 1000, job["orion"]["cpu_ns_per_io"] / 1000


def main():
    nproc = os.cpu_count()
    print(f"Machine: {nproc} CPUs; date: {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC; {RUNTIME} s per row, 4 KiB randread, null:1G")
    print()
    print("| configuration | QD | IOPS | p50 (µs) | p99 (µs) | CPU µs per I/O |")
    print("|---|---:|---:|---:|---:|---:|")
    for depth in (1, 32):
        for name, extra in CONFIGS:
            iops, p50, p99, cpu = run(depth, extra)
            print(f"| {name} | {depth} | {iops / 1e6:.2f} M | {p50:.2f} | {p99:.2f} | {cpu:.3f} |")
    print()
    print(subprocess.run(["dotnet", BENCH, "idle-cpu", "3"], check=True, capture_output=True, text=True).stdout)


if __name__ == "__main__":
    main()
