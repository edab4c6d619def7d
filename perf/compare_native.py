"""JIT against NativeAOT orion-perf, interleaved rounds, medians (see compare-native.sh)."""
import argparse
import datetime
import json
import os
import shlex
import statistics
import subprocess
import tempfile
import time

WORKLOAD = ["--rw=randread", "--bs=4k", "--iodepth=32", "--output-format=json"]


def wall_of_100ms(cmd):
    """Seconds from exec to exit of a 100 ms time-based run: start-up, JIT (or not) and shutdown included."""
    t0 = time.perf_counter()
    subprocess.run(cmd + WORKLOAD + ["--device=null:1G", "--runtime=100ms", "--time_based"],
                   check=True, capture_output=True)
    return time.perf_counter() - t0


def short_run_iops(cmd):
    """Issue 18's short run: null:1G read once (262,144 I/Os, well under a second), no --time_based."""
    out = subprocess.run(cmd + WORKLOAD + ["--device=null:1G", "--runtime=5"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["jobs"][0]["read"]["iops"]


def per_second_iops(cmd, seconds):
    """IOPS of each second of a time-based run, from fio's iops log averaged over 1000 ms windows."""
    with tempfile.TemporaryDirectory() as d:
        prefix = os.path.join(d, "run")
        subprocess.run(cmd + WORKLOAD + ["--device=null:1G", f"--runtime={seconds}", "--time_based",
                                         f"--write_iops_log={prefix}", "--log_avg_msec=1000"],
                       check=True, capture_output=True)
        logs = sorted(f for f in os.listdir(d) if "_iops" in f)
        if not logs:
            raise SystemExit(f"no iops log written under {d}: {os.listdir(d)}")
        with open(os.path.join(d, logs[0])) as f:
            return [float(line.split(",")[1]) for line in f if line.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--seconds", type=int, default=6)
    ap.add_argument("--jit", required=True)
    ap.add_argument("--native", required=True)
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=CMD",
                    help="another build to compare in the same rounds (e.g. a NativeAOT publish with OptimizationPreference=Speed)")
    a = ap.parse_args()
    if a.seconds < 3:
        raise SystemExit("--seconds must be at least 3: the first second is start-up, the rest steady state")
    variants = {"JIT": shlex.split(a.jit), "NativeAOT": shlex.split(a.native)}
    for v in a.variant:
        name, sep, cmd = v.partition("=")
        if not sep or not name or not cmd.strip():
            raise SystemExit(f"--variant {v!r}: expected NAME=COMMAND")
        variants[name] = shlex.split(cmd)
    rows = {name: {"wall": [], "short": [], "first": [], "steady": []} for name in variants}
    for r in range(a.rounds):
        # Rotate which goes first, so a drift in the machine's load does not favour one side.
        names = list(variants)
        order = names[r % len(names):] + names[:r % len(names)]
        if r % 2 == 1:
            order.reverse()
        for name in order:
            cmd = variants[name]
            rows[name]["wall"].append(wall_of_100ms(cmd))
            rows[name]["short"].append(short_run_iops(cmd))
            seconds = per_second_iops(cmd, a.seconds)
            rows[name]["first"].append(seconds[0])
            # Steady state: every whole second after the second one (the first is start-up, the second may still tier up).
            rows[name]["steady"].append(statistics.median(seconds[2:a.seconds]))
        print(f"round {r + 1}/{a.rounds} done", flush=True, file=__import__("sys").stderr)

    print(f"Machine: {os.cpu_count()} CPUs; {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; "
          f"{a.rounds} interleaved rounds, medians; 4 KiB randread QD32 on null:1G")
    print()
    print("| build | `--runtime=100ms` wall (s) | short run IOPS (262,144 I/Os) | first-second IOPS | steady-state IOPS |")
    print("|---|---:|---:|---:|---:|")
    med = statistics.median
    for name, v in rows.items():
        print(f"| {name} | {med(v['wall']):.3f} | {med(v['short']) / 1e6:.2f} M | {med(v['first']) / 1e6:.2f} M | "
              f"{med(v['steady']) / 1e6:.2f} M |")
    print()
    print("Steady state against the JIT, median of the rounds' ratios (min-max):")
    for name, v in rows.items():
        if name == "JIT":
            continue
        ratios = [n / j for n, j in zip(v["steady"], rows["JIT"]["steady"])]
        print(f"- {name}: {med(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})")
    print()
    print("Per round (wall s / short / first / steady, M IOPS):")
    for name, v in rows.items():
        print(f"- {name}: " + "; ".join(f"{w:.3f} / {s / 1e6:.2f} / {f / 1e6:.2f} / {st / 1e6:.2f}"
                                         for w, s, f, st in zip(v["wall"], v["short"], v["first"], v["steady"])))


if __name__ == "__main__":
    main()
