#!/usr/bin/env python3
"""Turn the JSON files written by perf/compare-fio.sh into the markdown table of perf/RESULTS.md.

Usage: compare_fio.py RESULTS_DIR            (files named qd<DEPTH>__<tool>.json, as compare-fio.sh writes)
       compare_fio.py FILE.json [FILE.json ...]

Both orion-perf and fio write fio 3.33's JSON layout, so one parser reads both. A run that failed leaves
qd<DEPTH>__<tool>.err instead of .json; it shows in the table as failed. Python 3 standard library only.
"""

import datetime
import glob
import json
import os
import platform
import re
import sys

# Row order within a scenario: ours first, then fio's baselines.
TOOL_ORDER = ["orion-null", "orion-mem", "fio-null", "fio-io_uring"]
BASELINE = "fio-null"
NAME_RE = re.compile(r"^qd(?P<depth>\d+)__(?P<tool>[\w.+-]+)\.(?P<ext>json|err)$")


def load_report(path):
    """Parse a fio-layout JSON report. fio may print notes before the JSON, so start at the first '{' line."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    match = re.search(r"^\{", text, re.MULTILINE)
    if match is None:
        raise ValueError(f"{path}: no JSON object found")
    report, _ = json.JSONDecoder().raw_decode(text[match.start():])
    return report


def summarize(report):
    """The table's figures for the first job of a report: IOPS, clat percentiles (µs), CPU µs per I/O."""
    job = report["jobs"][0]
    directions = [job[d] for d in ("read", "write", "trim") if d in job]
    total_ios = sum(d.get("total_ios", 0) for d in directions)
    iops = sum(d.get("iops", 0.0) for d in directions)
    # The busiest direction's percentiles (a randread job has only reads).
    main = max(directions, key=lambda d: d.get("total_ios", 0))
    pct = main.get("clat_ns", {}).get("percentile", {})

    def us(key):
        return pct[key] / 1000.0 if key in pct else None

    runtime_ms = job.get("job_runtime") or max(d.get("runtime", 0) for d in directions)
    cpu_fraction = (job.get("usr_cpu", 0.0) + job.get("sys_cpu", 0.0)) / 100.0
    # fio's usr_cpu/sys_cpu are percent of the job's runtime, so CPU seconds = fraction x runtime.
    cpu_us_per_io = cpu_fraction * (runtime_ms / 1000.0) / total_ios * 1e6 if total_ios else None
    return {
        "iops": iops,
        "p50": us("50.000000"),
        "p99": us("99.000000"),
        "p999": us("99.900000"),
        "cpu_us_per_io": cpu_us_per_io,
        "total_ios": total_ios,
        "runtime_s": runtime_ms / 1000.0,
        "version": report.get("fio version", "?"),
        "orion": job.get("orion"),
        "cpus_allowed": job.get("job options", {}).get("cpus_allowed"),
    }


def collect(paths):
    """Map (depth, tool) to a summary dict or to an error string."""
    results = {}
    for path in paths:
        m = NAME_RE.match(os.path.basename(path))
        if m is None:
            print(f"warning: skipping {path}: not named qd<DEPTH>__<tool>.json", file=sys.stderr)
            continue
        key = (int(m["depth"]), m["tool"])
        if m["ext"] == "err":
            results.setdefault(key, f"failed ({os.path.basename(path)})")
            continue
        try:
            results[key] = summarize(load_report(path))
        except (OSError, ValueError, KeyError, IndexError, TypeError, ZeroDivisionError) as e:
            results[key] = f"unreadable ({e.__class__.__name__}: {e})"
    return results


def machine_lines():
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count()
    model = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return [f"Machine: {cpus} CPUs ({model}), Linux {platform.release()}; date: {now}"]


def fmt(value, digits):
    return "n/a" if value is None else f"{value:,.{digits}f}"


def fmt_iops(value):
    if value is None:
        return "n/a"
    if value >= 1e6:
        return f"{value / 1e6:.2f} M"
    return f"{value / 1e3:.0f} k"


def tool_rank(tool):
    return (TOOL_ORDER.index(tool), tool) if tool in TOOL_ORDER else (len(TOOL_ORDER), tool)


def render(results):
    lines = machine_lines()
    versions = sorted({r["version"] for r in results.values() if isinstance(r, dict)})
    runtimes = sorted({round(r["runtime_s"], 1) for r in results.values() if isinstance(r, dict)})
    if versions:
        lines.append("Tools: " + ", ".join(versions) + (f"; measured window {', '.join(f'{t:g}' for t in runtimes)} s" if runtimes else ""))
    lines.append("")
    lines.append("| scenario | tool | IOPS | p50 clat (µs) | p99 clat (µs) | p99.9 clat (µs) | CPU µs per I/O | IOPS / fio null |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|")
    for depth in sorted({d for d, _ in results}):
        baseline = results.get((depth, BASELINE))
        base_iops = baseline["iops"] if isinstance(baseline, dict) and baseline["iops"] > 0 else None
        for tool in sorted((t for d, t in results if d == depth), key=tool_rank):
            r = results[(depth, tool)]
            scenario = f"4k randread QD{depth}"
            if not isinstance(r, dict):
                lines.append(f"| {scenario} | {tool} | {r} | | | | | |")
                continue
            if base_iops:
                ratio = r["iops"] / base_iops
                ratio = f"{ratio:.2f}×" if ratio >= 0.1 else f"{ratio:.3f}×"
            else:
                ratio = "n/a"
            lines.append(
                f"| {scenario} | {tool} | {fmt_iops(r['iops'])} | {fmt(r['p50'], 2)} | {fmt(r['p99'], 2)} | "
                f"{fmt(r['p999'], 2)} | {fmt(r['cpu_us_per_io'], 3)} | {ratio} |")
    lines.append("")
    pinned = sorted({f"{t} on CPU {r['cpus_allowed']}" for (_, t), r in results.items()
                     if isinstance(r, dict) and r["cpus_allowed"] is not None})
    if pinned:
        lines.append("Pinned with fio's cpus_allowed: " + ", ".join(pinned) + ".")
    lines.append("CPU µs per I/O = (usr_cpu + sys_cpu) / 100 × runtime / total_ios. For orion-perf it covers the whole "
                 "process (reactor and device threads); for fio it covers the job thread only, so kernel work done "
                 "elsewhere (io_uring workers, interrupts) is not counted.")
    return "\n".join(lines)


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) >= 2 else 2
    paths = []
    for arg in argv[1:]:
        if os.path.isdir(arg):
            paths += sorted(glob.glob(os.path.join(arg, "qd*__*.json")) + glob.glob(os.path.join(arg, "qd*__*.err")))
        else:
            paths.append(arg)
    results = collect(paths)
    if not results:
        print("no results found", file=sys.stderr)
        return 1
    print(render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
