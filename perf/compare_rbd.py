#!/usr/bin/env python3
"""Ceph RBD, four ways, on the same image in the same run: interleaved rounds, medians, CPU per I/O.

Usage: compare_rbd.py [--conf PATH --pool POOL --image NAME | --start-cluster] [--rounds 3] [--runtime 10]
                      [--depths "1 32"] [--rw "randread randwrite"] [--size 1G] [--targets "native orion-vhost qsd fio"]
                      [--cache "none writeback"]

Targets (4 KiB, one job, one queue, --size region of the image):
  native       orion-perf --device=rbd:POOL/IMAGE,conf=PATH        (the engine's librbd backend, embedded)
  orion-vhost  orion-perf -> vhost-user -> orion-vhost --device rbd:POOL/IMAGE,conf=PATH
  qsd          orion-perf -> vhost-user -> qemu-storage-daemon --blockdev driver=rbd,...
  fio          fio --ioengine=rbd (fio's own librbd engine: the yardstick)

Every round runs each rw x depth once per target, the targets in a new random order each time, so drift on a shared
machine spreads over all of them; the table shows the median of the rounds (and their range), the ratio to fio's
median, and CPU microseconds per I/O: the initiator process's (orion-perf or fio, librbd's threads included when
librbd runs inside it) plus, for the vhost-user chains, the back-end's (orion-perf's device_cpu, read from /proc).
The region is written once before the first round, so reads fetch data from the OSDs instead of holes. Each
vhost-user back-end is started for its measurement and stopped after it, so only the client measured holds the image.
librbd's cache is set identically on every side, once per --cache mode (default "none writeback": each job then
runs in both, and the table has a row per mode). The modes are the native device's cache= (RbdCacheMode):
  none          rbd_cache=false                                           (a write completes once the OSDs have it)
  writethrough  rbd_cache=true, rbd_cache_max_dirty=0                     (reads may hit the cache, writes do not)
  writeback     rbd_cache=true, rbd_cache_writethrough_until_flush=false  (writes complete from librbd's memory)
Each mode gets a ceph.conf of its own: the given one plus a [client.admin] section with those keys, which fio's rbd engine
reads (CEPH_CONF) and qemu-storage-daemon reads (conf=) for every key but rbd_cache, which its rbd driver sets itself
from cache.direct (on: false, off: true; qemu's block/rbd.c), so the script passes cache.direct to match. native and
orion-vhost get cache=MODE and the same conf. The settings are printed above the table.

--start-cluster brings up a throw-away single-node cluster in /tmp (one mon on 127.0.0.1, one mgr, one bluestore OSD
on a 4 GiB sparse file, size 1, auth none; as tests/Shared/Ceph does) and removes it at the end; otherwise give an
existing cluster's ceph.conf, pool and image (the image is created when missing). Python 3 standard library only.
"""

import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_vhost import stop, wait_for_socket  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORION_PERF = os.path.join(ROOT, "tools/Orion.Perf/bin/Release/net10.0/orion-perf.dll")
ORION_VHOST = os.path.join(ROOT, "tools/Orion.Vhost/bin/Release/net10.0/orion-vhost.dll")


def run(cmd, timeout=60, env=None):
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])}... exited with {out.returncode}: {out.stderr.strip()[-400:]}")
    return out.stdout


class Cluster:
    """A single-node cluster under /tmp, daemons in the foreground, stopped by PID."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="orion-ceph-cmp-", dir="/tmp")
        self.conf = os.path.join(self.dir, "ceph.conf")
        self.procs = []

    def start(self, pool):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        d, fsid = self.dir, str(uuid.uuid4())
        for sub in ("mon", "osd", "mgr", "run", "log"):
            os.makedirs(os.path.join(d, sub))
        with open(os.path.join(ROOT, "tests/Shared/Ceph/ceph.conf.template")) as f:
            template = f.read()
        with open(self.conf, "w") as f:
            f.write(template.replace("@FSID@", fsid).replace("@PORT@", str(port)).replace("@DIR@", d))
        monmap = os.path.join(d, "monmap")
        run(["monmaptool", "--create", "--addv", "a", f"[v2:127.0.0.1:{port}]", "--fsid", fsid, monmap])
        run(["ceph-mon", "--mkfs", "-i", "a", "--monmap", monmap, "-c", self.conf])
        self.launch(["ceph-mon", "-f", "-i", "a", "-c", self.conf])
        osd_uuid = str(uuid.uuid4())
        run(["ceph", "-c", self.conf, "--connect-timeout", "20", "osd", "new", osd_uuid])
        run(["ceph-osd", "-c", self.conf, "-i", "0", "--mkfs", "--osd-uuid", osd_uuid])
        self.launch(["ceph-osd", "-f", "-c", self.conf, "-i", "0"])
        self.launch(["ceph-mgr", "-f", "-c", self.conf, "-i", "x"])
        deadline = time.time() + 90
        while json.loads(run(["ceph", "-c", self.conf, "osd", "stat", "-f", "json"])).get("num_up_osds") != 1:
            if time.time() > deadline:
                raise RuntimeError("the OSD was not up within 90 s")
            time.sleep(0.2)
        run(["ceph", "-c", self.conf, "osd", "pool", "create", pool, "8"])
        run(["ceph", "-c", self.conf, "osd", "pool", "application", "enable", pool, "rbd"])

    def launch(self, cmd):
        self.procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def stop(self):
        for p in reversed(self.procs):
            stop(p)
        shutil.rmtree(self.dir, ignore_errors=True)


# librbd's cache settings per mode, exactly what RbdBackend.CacheConfiguration sets for the native device's cache=.
CACHE_SETTINGS = {
    "none": {"rbd_cache": "false"},
    "writethrough": {"rbd_cache": "true", "rbd_cache_max_dirty": "0"},
    "writeback": {"rbd_cache": "true", "rbd_cache_writethrough_until_flush": "false"},
}


def cache_conf(conf, mode, directory):
    """
    The given ceph.conf plus a [client.admin] section setting librbd's cache as `mode` does (the client every target
    connects as; a client's own section wins over [client] and [global] in the given file); returns its path.
    """
    with open(conf) as f:
        text = f.read()
    path = os.path.join(directory, f"ceph-{mode}.conf")
    with open(path, "w") as f:
        f.write(text.rstrip("\n") + "\n\n[client.admin]\n")
        for key, value in CACHE_SETTINGS[mode].items():
            f.write(f"    {key} = {value}\n")
    return path


def start_backend(target, directory, rbd_device, conf, pool, image, cache):
    """orion-vhost or qemu-storage-daemon serving the image on a fresh socket; returns (process, socket)."""
    sock = os.path.join(directory, f"{target}-{uuid.uuid4().hex[:8]}.sock")
    log = open(os.path.join(directory, f"{target}.log"), "a")
    if target == "orion-vhost":
        cmd = ["dotnet", ORION_VHOST, "--socket", sock, "--device", rbd_device]
    else:
        # qemu's rbd driver sets rbd_cache from cache.direct (on: false) over the conf; the rest comes from the conf.
        direct = "on" if CACHE_SETTINGS[cache]["rbd_cache"] == "false" else "off"
        cmd = ["qemu-storage-daemon", "--blockdev",
               f"driver=rbd,pool={pool},image={image},conf={conf},cache.direct={direct},node-name=n0",
               "--export", f"type=vhost-user-blk,id=e0,node-name=n0,addr.type=unix,addr.path={sock},writable=on"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log)
    wait_for_socket(sock, proc, target)
    return proc, sock


def summarize(report, tool):
    job = report["jobs"][0]
    dirs = [job[d] for d in ("read", "write") if d in job]
    ios = sum(d.get("total_ios", 0) for d in dirs)
    iops = sum(d.get("iops", 0.0) for d in dirs)
    runtime_s = (job.get("job_runtime") or max(d.get("runtime", 0) for d in dirs)) / 1000.0
    cpu_s = (job.get("usr_cpu", 0.0) + job.get("sys_cpu", 0.0)) / 100.0 * runtime_s
    cpu_us = cpu_s / ios * 1e6 if ios else None
    if tool != "fio":
        device = ((job.get("orion") or {}).get("device_cpu") or {}).get("cpu_ns_per_io")
        if device is not None and cpu_us is not None:
            cpu_us += device / 1000.0
    return {"iops": iops, "cpu_us": cpu_us}


def orion(device, rw, depth, runtime, size):
    out = run(["dotnet", ORION_PERF, f"--device={device}", f"--rw={rw}", "--bs=4k", f"--iodepth={depth}", f"--size={size}",
               f"--runtime={runtime}", "--time_based", "--ramp_time=1", "--output-format=json"], runtime + 90)
    return json.loads(out)


def fio(conf, pool, image, rw, depth, runtime, size):
    env = dict(os.environ, CEPH_CONF=conf)
    out = run(["fio", "--name=rbd", "--ioengine=rbd", "--clientname=admin", f"--pool={pool}", f"--rbdname={image}",
               f"--rw={rw}", "--bs=4k", f"--iodepth={depth}", f"--size={size}", f"--runtime={runtime}", "--time_based",
               "--ramp_time=1", "--output-format=json"], runtime + 90, env)
    return json.loads(out[out.index("{"):])


def main(argv):
    start_cluster = "--start-cluster" in argv
    pairs = [a for a in argv if a != "--start-cluster"]
    opts = dict(zip(pairs[::2], pairs[1::2]))
    rounds = int(opts.get("--rounds", "3"))
    runtime = int(opts.get("--runtime", "10"))
    depths = [int(d) for d in opts.get("--depths", "1 32").split()]
    rws = opts.get("--rw", "randread randwrite").split()
    size = opts.get("--size", "1G")
    targets = opts.get("--targets", "native orion-vhost qsd fio").split()
    caches = opts.get("--cache", "none writeback").split()
    for mode in caches:
        if mode not in CACHE_SETTINGS:
            sys.exit(f"--cache '{mode}' is not a cache mode; give none, writethrough or writeback (several: \"none writeback\")")
    pool, image = opts.get("--pool", "rbd"), opts.get("--image", "orion-cmp")
    cluster = None
    if start_cluster:
        cluster = Cluster()
        cluster.start(pool)
        conf = cluster.conf
    else:
        conf = opts.get("--conf", "/etc/ceph/ceph.conf")
    backends = []
    directory = tempfile.mkdtemp(prefix="orion-rbd-cmp-", dir="/tmp")
    try:
        images = run(["rbd", "-c", conf, "ls", pool]).split()
        if image not in images:
            run(["rbd", "-c", conf, "create", f"{pool}/{image}", "--size", size])
        # Write the region once, so reads fetch real objects from the OSDs.
        run(["rbd", "-c", conf, "bench", "--io-type", "write", "--io-pattern", "seq", "--io-size", "4M",
             "--io-total", size, f"{pool}/{image}"], 3600)
        confs = {mode: cache_conf(conf, mode, directory) for mode in caches}
        results = {}
        for _ in range(rounds):
            for cache in caches:
                for rw in rws:
                    for depth in depths:
                        for target in random.sample(targets, len(targets)):
                            s = measure(target, cache, confs[cache], pool, image, rw, depth, runtime, size, directory, backends)
                            results.setdefault((cache, rw, depth, target), []).append(s)
    finally:
        for p in backends:
            stop(p)
        shutil.rmtree(directory, ignore_errors=True)
        if cluster:
            cluster.stop()
    print_table(results, rounds, runtime, size, caches, rws, depths, targets)


def measure(target, cache, conf, pool, image, rw, depth, runtime, size, directory, backends):
    """One job on one target with librbd's cache in `cache` mode; its summary, or {"error": ...}."""
    rbd_device = f"rbd:{pool}/{image},conf={conf},cache={cache}"
    try:
        if target == "fio":
            return summarize(fio(conf, pool, image, rw, depth, runtime, size), "fio")
        if target == "native":
            return summarize(orion(rbd_device, rw, depth, runtime, size), target)
        # Each back-end holds the image only while it is measured: an idle client holding it open would take the
        # exclusive lock back and forth with the one being measured.
        proc, sock = start_backend(target, directory, rbd_device, conf, pool, image, cache)
        backends.append(proc)
        try:
            return summarize(orion(f"vhost-user:{sock}", rw, depth, runtime, size), target)
        finally:
            stop(proc)
    except (RuntimeError, subprocess.TimeoutExpired, ValueError, KeyError) as e:
        return {"error": str(e)}


def print_table(results, rounds, runtime, size, caches, rws, depths, targets):
    print(f"{rounds} interleaved rounds of {runtime} s, 4 KiB, region {size}, medians (range)\n")
    print("librbd cache, the same on every target (native/orion-vhost: cache=MODE; fio: the conf's [client.admin] section;")
    print("qemu-storage-daemon: the conf, rbd_cache through cache.direct):")
    for mode in caches:
        print(f"  {mode}: " + ", ".join(f"{k}={v}" for k, v in CACHE_SETTINGS[mode].items()))
    print()
    print("| job | cache | target | IOPS | IOPS / fio | CPU µs / I/O |")
    print("|---|---|---|---:|---:|---:|")
    for cache in caches:
        for rw in rws:
            for depth in depths:
                fio_ok = [r["iops"] for r in results.get((cache, rw, depth, "fio"), []) if "iops" in r]
                fio_median = statistics.median(fio_ok) if fio_ok else None
                for target in targets:
                    runs = results.get((cache, rw, depth, target), [])
                    ok = [r for r in runs if "iops" in r]
                    if not ok:
                        print(f"| {rw} QD{depth} | {cache} | {target} | failed: {runs[0].get('error', '?')[:120] if runs else 'not run'} | | |")
                        continue
                    iops = [r["iops"] for r in ok]
                    cpu = [r["cpu_us"] for r in ok if r["cpu_us"] is not None]
                    ratio = f"{statistics.median(iops) / fio_median:.2f}×" if fio_median else "n/a"
                    print(f"| {rw} QD{depth} | {cache} | {target} | {statistics.median(iops):,.0f} ({min(iops):,.0f}–{max(iops):,.0f}) | "
                          f"{ratio} | {f'{statistics.median(cpu):.1f}' if cpu else 'n/a'} |")


if __name__ == "__main__":
    main(sys.argv[1:])
