#!/usr/bin/env python3
"""Calibrates `orion-perf gate` on this machine (issue 15's "done when") and prints a Markdown table for RESULTS.md.

Rows, each N gates of two orion-perf processes (the same build; only the candidate's device or environment differs):
  itself     the build against itself                      target: at most 5 % of gates "regressed" (1 of 20)
  +10 %      candidate 10 % slower per I/O                  target: at least 95 % "regressed" (19 of 20)
  +5 %       candidate 5 % slower per I/O                   target: at least 75 % "regressed" (15 of 20), or none "pass"
  +1 alloc   one extra allocation per I/O (counted metric)  target: every gate "regressed", with "alloc" named
  +1 kick    one extra doorbell per batch (counted metric)  target: every gate "regressed", with "kicks" named
"Slower per I/O" is the device string's ,delay= sized to 10 % / 5 % of the service time measured first (median clat
at the workload's iodepth, default 1; the median, as a stalled moment on a shared VM drags the mean), on top of a base delay (default 10us) so that the step is representable in the
device's 100 ns resolution. The extra allocation is the test-only ORION_PERF_TEST_ALLOC_PER_IO=1, the extra kick the
test-only ORION_TEST_EXTRA_KICKS_PER_BATCH=1 (docs/latency-gate.md).

  python3 perf/gate-calibration.py --gates 20                      # the real measurement (long: minutes per gate)
  python3 perf/gate-calibration.py --gates 1 --rounds 5 --max-rounds 5 --runtime 200ms    # a smoke test

Build first: dotnet build -c Release tools/Orion.Perf
"""
import argparse
import datetime
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile

DLL = "tools/Orion.Perf/bin/Release/net10.0/orion-perf.dll"


# The counted metric a row's regression must be named by.
NAMED = {"alloc": "alloc", "kick": "kicks"}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gates", type=int, default=20, help="gates per row (default 20)")
    p.add_argument("--rounds", type=int, default=5, help="gate --rounds (default 5, the fewest that give a verdict)")
    p.add_argument("--max-rounds", type=int, default=20, help="gate --max-rounds (default 20)")
    p.add_argument("--budget", default="10m", help="gate --budget per gate (default 10m)")
    p.add_argument("--runtime", default="1", help="orion-perf --runtime per run (default 1 s)")
    p.add_argument("--iodepth", type=int, default=1, help="orion-perf --iodepth (default 1: clat is the service time)")
    p.add_argument("--base-delay", default="10us", help="device ,delay= on both sides (default 10us, so 5 %% steps round to 100 ns within 1 %%; 0 for none)")
    p.add_argument("--tolerance", default="", help="gate --tolerance, e.g. iops=5,p50=5 (default: the gate's)")
    p.add_argument("--rows", default="itself,10,5,alloc,kick", help="which rows (default itself,10,5,alloc,kick)")
    a = p.parse_args()
    if a.gates < 1 or a.rounds < 1 or a.max_rounds < a.rounds:
        p.error("--gates and --rounds must be at least 1, and --max-rounds at least --rounds")
    return a


def delay_ns(text):
    """'2us', '1500ns', '0.5us', '1ms', or a plain number of microseconds, as nanoseconds."""
    t = text.strip().lower()
    for unit, scale in (("ns", 1), ("us", 1e3), ("ms", 1e6)):
        if t.endswith(unit):
            return float(t[:-len(unit)]) * scale
    return float(t) * 1e3


def device(base_ns, extra_ns=0.0):
    total = round((base_ns + extra_ns) / 100) * 100          # the device's resolution is 100 ns
    return "null:64M" if total == 0 else f"null:64M,delay={total / 1000:g}us"


def workload(args, dev, env=""):
    perf = f"dotnet {shlex.quote(os.path.abspath(DLL))}"
    return (f"{env}{perf} --rw=randread --bs=4k --iodepth={args.iodepth} --runtime={args.runtime} --time_based "
            f"--device={dev} --output-format=json")


def service_time_ns(args, base_ns):
    """Median over three runs of the median completion latency on the baseline device."""
    p50s = []
    for _ in range(3):
        out = subprocess.run(workload(args, device(base_ns)), shell=True, check=True, capture_output=True, text=True).stdout
        p50s.append(json.loads(out[out.index("{"):])["jobs"][0]["read"]["clat_ns"]["percentile"]["50.000000"])
    return statistics.median(p50s)


def gate(args, baseline, candidate, seed, out_dir, row):
    verdict_path = os.path.join(out_dir, f"gate-{row}-{seed}.json")   # one per row: a later row must not overwrite it
    cmd = ["dotnet", DLL, "gate", "--baseline", baseline, "--candidate", candidate, "--rounds", str(args.rounds),
           "--max-rounds", str(args.max_rounds), "--budget", args.budget, "--seed", str(seed), "--json", verdict_path]
    if args.tolerance:
        cmd += ["--tolerance", args.tolerance]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if not os.path.exists(verdict_path):
        return {"verdict": "failed", "exit_code": proc.returncode, "metrics": [], "candidate_rounds": 0,
                "failure": (proc.stderr or proc.stdout).strip().splitlines()[-1:]}
    with open(verdict_path) as f:
        return json.load(f)


def detectable(v, name):
    for m in v.get("metrics", []):
        if m["name"] == name and m.get("detectable") is not None:
            return m["detectable"]
    return None


def main():
    args = parse_args()
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    if not os.path.exists(DLL):
        sys.exit(f"{DLL} is missing: build it first with: dotnet build -c Release tools/Orion.Perf")
    base_ns = delay_ns(args.base_delay)
    s_ns = service_time_ns(args, base_ns)
    d10 = round(0.10 * s_ns / 100) * 100
    d5 = round(0.05 * s_ns / 100) * 100
    if d5 == 0:
        sys.exit(f"the service time is {s_ns:.0f} ns: 5 % of it is below the device's 100 ns delay resolution; "
                 "give a larger --base-delay (for example 2us)")
    same = workload(args, device(base_ns))
    rows = {
        "itself": ("build against itself", same, lambda n, v: v["verdict"] == "regressed", "≤ 5 % regressed"),
        "10": (f"+10 % per I/O (delay +{d10} ns = {100 * d10 / s_ns:.1f} %)", workload(args, device(base_ns, d10)),
               None, "≥ 95 % regressed"),
        "5": (f"+5 % per I/O (delay +{d5} ns = {100 * d5 / s_ns:.1f} %)", workload(args, device(base_ns, d5)),
              None, "≥ 75 % regressed, or none pass"),
        "alloc": ("+1 allocation per I/O", workload(args, device(base_ns), "ORION_PERF_TEST_ALLOC_PER_IO=1 "),
                  None, "all regressed, alloc named"),
        "kick": ("+1 kick per batch", workload(args, device(base_ns), "ORION_TEST_EXTRA_KICKS_PER_BATCH=1 "),
                 None, "all regressed, kicks named"),
    }
    chosen = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = [r for r in chosen if r not in rows]
    if unknown:
        sys.exit(f"--rows: unknown {', '.join(unknown)}; use some of {', '.join(rows)}")

    started = datetime.datetime.now(datetime.timezone.utc)
    load_start = os.getloadavg()
    table = []
    with tempfile.TemporaryDirectory(prefix="orion-gate-calibration-") as out_dir:
        for key in chosen:
            title, candidate, _, target = rows[key]
            verdicts, named, rounds, det_iops, det_p50 = [], 0, [], [], []
            for g in range(args.gates):
                v = gate(args, same, candidate, seed=1 + g, out_dir=out_dir, row=key)
                verdicts.append(v["verdict"])
                rounds.append(v.get("candidate_rounds", 0))
                if any(m["name"] == NAMED.get(key) and m["verdict"] == "regressed" for m in v.get("metrics", [])):
                    named += 1
                for name, into in (("read iops", det_iops), ("read p50", det_p50)):
                    d = detectable(v, name)
                    if d is not None:
                        into.append(d)
                why = f" ({' '.join(v['failure'])})" if v["verdict"] == "failed" and v.get("failure") else ""
                print(f"{title}: gate {g + 1}/{args.gates}: {v['verdict']} after {v.get('candidate_rounds', 0)} round(s){why}",
                      file=sys.stderr, flush=True)
            n = len(verdicts)
            count = {k: verdicts.count(k) for k in ("pass", "regressed", "undecided", "failed")}
            met = {
                "itself": count["regressed"] <= 0.05 * n and count["failed"] == 0,
                "10": count["regressed"] >= 0.95 * n,
                "5": count["regressed"] >= 0.75 * n or (count["pass"] == 0 and count["failed"] == 0),
                "alloc": count["regressed"] == n and named == n,
                "kick": count["regressed"] == n and named == n,
            }[key]
            med = lambda xs: f"±{statistics.median(xs):.1f} %" if xs else "-"
            table.append(f"| {title} | {n} | {count['pass']} | {count['regressed']} | {count['undecided']} | {count['failed']} | "
                         f"{statistics.median(rounds):g} | {med(det_iops)} | {med(det_p50)} | {target} | {'yes' if met else 'NO'} |")

    finished = datetime.datetime.now(datetime.timezone.utc)
    load_end = os.getloadavg()
    print(f"### Gate calibration: {started:%Y-%m-%d %H:%M}-{finished:%H:%M} UTC ({os.cpu_count()} CPUs)")
    print()
    print(f"Load average (1/5/15 min) at the start {load_start[0]:.1f}/{load_start[1]:.1f}/{load_start[2]:.1f}, "
          f"at the end {load_end[0]:.1f}/{load_end[1]:.1f}/{load_end[2]:.1f}.")
    print()
    print("Command: `python3 perf/gate-calibration.py " + " ".join(shlex.quote(a) for a in sys.argv[1:]) + "`")
    print()
    print(f"Workload: 4 KiB randread, iodepth {args.iodepth}, --runtime={args.runtime} per run, `{device(base_ns)}` "
          f"(measured service time, median clat: {s_ns / 1000:.2f} µs); gate --rounds {args.rounds} --max-rounds {args.max_rounds} "
          f"--budget {args.budget}{' --tolerance ' + args.tolerance if args.tolerance else ''}, seeds 1..{args.gates}.")
    print()
    print("| candidate | gates | pass | regressed | undecided | failed | median rounds | detectable IOPS (median) "
          "| detectable p50 (median) | target | met |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for line in table:
        print(line)


if __name__ == "__main__":
    main()
