#!/usr/bin/env bash
# Builds Orion.Pmd from clean and runs every test project one at a time (a 2-core machine cannot afford two
# engines spinning at once), then an orion-perf dry run, the latency gate (a compare smoke test, and this tree's
# orion-perf gated against its merge base's, built side by side) and a BenchmarkDotNet dry run. The last line is "N passed, N failed, N skipped",
# summed from the TRX results, and the exit code is non-zero on any failure, crashed test host or build error.
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 MSBUILDTERMINALLOGGER=off

# ---- what the tests need -------------------------------------------------------------------------------------
if ! command -v dotnet >/dev/null 2>&1; then
  echo "dotnet (SDK 10) is not installed; see README.md" >&2
  echo "0 passed, 1 failed"; exit 1
fi
# The vhost-user tests drive a real qemu-storage-daemon (qemu-system-common) with images made by qemu-img
# (qemu-utils); fio is orion-perf's reference, fio's example job files (fio-examples, in /usr/share/doc/fio/examples)
# must run on orion-perf, and its log tools read orion-perf's logs: fio_generate_plots and fio2gnuplot need gnuplot
# (gnuplot-nox) and six, fiologparser_hist.py pandas and numpy, for Debian's python3 (python3-pandas, python3-six).
# Installed when we can (root); otherwise those tests skip themselves.
if ! command -v qemu-storage-daemon >/dev/null 2>&1 || ! command -v qemu-img >/dev/null 2>&1 || ! command -v fio >/dev/null 2>&1 ||
   [ ! -d /usr/share/doc/fio/examples ] ||
   ! command -v gnuplot >/dev/null 2>&1 || ! /usr/bin/python3 -c 'import pandas, numpy, six' >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing qemu-storage-daemon, qemu-img, fio, fio-examples, gnuplot-nox and python3-pandas (apt-get)"
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
           DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-system-common qemu-utils fio fio-examples gnuplot-nox python3-pandas python3-six; } >/dev/null; then
      echo "note: apt-get could not install qemu-system-common qemu-utils fio fio-examples gnuplot-nox python3-pandas python3-six;" \
           "the vhost-user tests, the fio-example tests and the fio log tool tests will be skipped" >&2
    fi
  else
    why="this is not root"; [ "$(id -u)" = 0 ] && why="apt-get is not available"
    echo "note: qemu-storage-daemon, qemu-img, fio, fio-examples, gnuplot or python3-pandas is missing and $why, so nothing is installed;" \
         "the vhost-user tests against qemu-storage-daemon, the fio-example tests and the fio log tool tests will be skipped" \
         "(install them with: sudo apt-get install qemu-system-common qemu-utils fio fio-examples gnuplot-nox python3-pandas python3-six)" >&2
  fi
fi
# The guest tests (tests/Orion.Guest.Tests) boot a Linux guest under QEMU (TCG) with a busybox initramfs built by
# tests/guest/build-initramfs.sh: qemu-system-x86, busybox-static, cpio, and e2fsprogs on the host (e2fsck, debugfs).
# Installed when we can (root); otherwise those tests skip themselves.
if ! command -v qemu-system-x86_64 >/dev/null 2>&1 || [ ! -x /bin/busybox ] || ! command -v cpio >/dev/null 2>&1 ||
   ! command -v debugfs >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing qemu-system-x86, busybox-static, cpio and e2fsprogs (apt-get) for the guest tests"
    { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-system-x86 busybox-static cpio e2fsprogs; } >/dev/null ||
      echo "note: apt-get could not install qemu-system-x86 busybox-static cpio e2fsprogs; the guest tests will be skipped" >&2
  else
    echo "note: qemu-system-x86_64, busybox-static, cpio or debugfs is missing and this is not root (or has no apt-get);" \
         "the guest tests will be skipped (install them with: sudo apt-get install qemu-system-x86 busybox-static cpio e2fsprogs)" >&2
  fi
fi
# The engine-in-a-guest tests (EngineThroughVfioGuestTests) ship orion-perf into the guest published with NativeAOT,
# which links with clang (and zlib1g-dev); without them those tests skip themselves.
if ! command -v clang >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "== installing clang and zlib1g-dev (apt-get) for the NativeAOT orion-perf the guest tests run"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang zlib1g-dev >/dev/null ||
    echo "note: apt-get could not install clang zlib1g-dev; the engine-in-a-guest tests will be skipped" >&2
fi
# The RBD tests start a single-node Ceph cluster of their own (ceph-mon, ceph-mgr, ceph-osd; the ceph and rbd commands
# from ceph-common) and reach it through librbd (librbd1) and qemu-storage-daemon's rbd driver (qemu-block-extra).
ceph_ready() {
  command -v ceph-mon && command -v ceph-mgr && command -v ceph-osd && command -v rbd &&
    ls /usr/lib/*/librbd.so.1 && ls /usr/lib/*/qemu/block-rbd.so
}
if ! ceph_ready >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing Ceph (ceph-mon ceph-mgr ceph-osd ceph-common librbd1) and qemu-block-extra (apt-get)"
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
           DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ceph-mon ceph-mgr ceph-osd ceph-common librbd1 qemu-block-extra; } >/dev/null; then
      echo "note: apt-get could not install Ceph; the RBD tests will be skipped" >&2
    fi
  else
    echo "note: Ceph or qemu-block-extra is missing and this is not root (or has no apt-get); the RBD tests will be skipped" \
         "(install with: sudo apt-get install ceph-mon ceph-mgr ceph-osd ceph-common librbd1 qemu-block-extra)" >&2
  fi
fi
# NativeAOT (tests/package-checks.sh publishes orion-perf native) links with clang and needs zlib's headers.
if ! command -v clang >/dev/null 2>&1 || [ ! -e /usr/include/zlib.h ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing clang and zlib1g-dev for the NativeAOT check (apt-get)"
    { DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang zlib1g-dev; } >/dev/null ||
      echo "note: apt-get could not install clang zlib1g-dev; the NativeAOT check will be skipped" >&2
  else
    echo "note: clang or zlib1g-dev is missing and this is not root: the NativeAOT check will be skipped (sudo apt-get install clang zlib1g-dev)" >&2
  fi
fi
results="$(mktemp -d)"; trap 'rm -rf "$results"' EXIT
fail_extra=0

# ---- build from clean ------------------------------------------------------------------------------------------
echo "== clean build"
find . -type d \( -name bin -o -name obj \) -path '*/Orion.*' -prune -exec rm -rf {} + 2>/dev/null
if ! dotnet build Orion.Pmd.sln -c Release -nologo -v:minimal; then
  echo "0 passed, 1 failed"; exit 1
fi

# ---- tests, one project at a time --------------------------------------------------------------------------------
test_rc=0
for proj in tests/*/*.csproj; do
  name="$(basename "$proj" .csproj)"
  [ "$name" = Orion.Pmd.Testing ] && continue      # the shared test kit: a library the test projects use, no tests
  echo "== $name"
  dotnet test "$proj" -c Release --no-build --nologo \
    --logger "trx;LogFileName=$name.trx" --results-directory "$results" \
    --blame-hang-timeout 5m -- NUnit.NumberOfTestWorkers=1 || test_rc=1
done

# ---- benchmark dry runs: the CLI end to end, and the BenchmarkDotNet suite once each -------------------------------
echo "== orion-perf dry run"
if ! timeout 120 dotnet tools/Orion.Perf/bin/Release/net10.0/orion-perf.dll --rw=randread --bs=4k --iodepth=8 \
      --runtime=1 --time_based --device=null:64M --output-format=json > "$results/perf.json"; then
  echo "orion-perf dry run FAILED"; fail_extra=$((fail_extra + 1))
elif ! grep -q '"iops"' "$results/perf.json"; then
  echo "orion-perf dry run printed no iops"; fail_extra=$((fail_extra + 1))
fi
echo "== orion-perf compare smoke test (the committed baseline against itself)"
if ! timeout 60 dotnet tools/Orion.Perf/bin/Release/net10.0/orion-perf.dll compare \
      perf/baselines/ci-randread-null-qd8.json perf/baselines/ci-randread-null-qd8.json; then
  echo "orion-perf compare smoke test FAILED"; fail_extra=$((fail_extra + 1))
fi
# ---- the project gates itself: this tree's orion-perf against the merge base's (or HEAD~1's), built side by side ----
# Counted metrics (allocations, kicks, syscalls per I/O) are exact and gated tightly; timed ones (IOPS, p50, p99, CPU
# per I/O) with tolerances wide enough for a shared 2-core VM (see docs/latency-gate.md for why these numbers).
# "regressed" or a side that failed to run fails the suite; "undecided" (too noisy to tell within the budget) is a note.
echo "== latency gate: this tree against its base build"
perf_dll=tools/Orion.Perf/bin/Release/net10.0/orion-perf.dll
skip_extra=0
base=""
if git rev-parse --verify -q HEAD >/dev/null 2>&1; then
  base="$(git merge-base HEAD main 2>/dev/null || git merge-base HEAD origin/main 2>/dev/null || true)"
  # On main itself the merge base is HEAD: gate against the commit before it.
  if [ -z "$base" ] || [ "$base" = "$(git rev-parse HEAD)" ]; then base="$(git rev-parse -q --verify HEAD~1 2>/dev/null || true)"; fi
fi
if [ -z "$base" ]; then
  echo "SKIPPED: no git history to build a base from (a tarball, or a single-commit shallow clone): the self gate needs one"
  skip_extra=1
else
  base_tree="$results/base-tree"
  trap 'git worktree remove --force "$base_tree" >/dev/null 2>&1; rm -rf "$results"' EXIT
  echo "base: $(git log -1 --format='%h %s' "$base")"
  if ! git worktree add --detach -q "$base_tree" "$base" ||
     ! (cd "$base_tree" && timeout 400 dotnet build tools/Orion.Perf -c Release -nologo -v:q > "$results/base-build.log" 2>&1); then
    tail -20 "$results/base-build.log" 2>/dev/null; echo "latency gate FAILED: the base build ($base) could not be built"
    fail_extra=$((fail_extra + 1))
  else
    workload="--rw=randread --bs=4k --iodepth=8 --runtime=1 --time_based --device=null:64M --output-format=json"
    timeout 240 dotnet "$perf_dll" gate \
      --baseline "dotnet '$base_tree/$perf_dll' $workload" --candidate "dotnet '$PWD/$perf_dll' $workload" \
      --rounds 5 --max-rounds 12 --budget 90 --metrics iops,p50,p99,cpu,alloc,kicks,syscalls \
      --tolerance iops=25,p50=25,p99=50,cpu=50,alloc=8,kicks=0.01,syscalls=0.01 --junit "$results/latency-gate.xml"
    gate_rc=$?
    case $gate_rc in
      0) ;;
      4) echo "note: the latency gate is undecided: this machine was too noisy to tell within the budget (not a failure)" ;;
      3) echo "latency gate FAILED: a metric regressed against the base build"; fail_extra=$((fail_extra + 1)) ;;
      *) echo "latency gate FAILED (exit $gate_rc): a side failed to run or the gate could not judge"; fail_extra=$((fail_extra + 1)) ;;
    esac
  fi
  git worktree remove --force "$base_tree" >/dev/null 2>&1
fi
echo "== BenchmarkDotNet dry run"
if ! (cd "$results" && timeout 600 dotnet "$OLDPWD/perf/Orion.Pmd.Benchmarks/bin/Release/net10.0/Orion.Pmd.Benchmarks.dll" \
      --filter '*' --job dry --inProcess --artifacts "$results/bdn" > "$results/bdn.log" 2>&1); then
  tail -20 "$results/bdn.log"; echo "BenchmarkDotNet dry run FAILED"; fail_extra=$((fail_extra + 1))
fi

# ---- shipping: the NuGet packages, a consumer restoring them from a folder feed, the .NET tools, a native build ----
echo "== package checks (tests/package-checks.sh)"
timeout 1500 tests/package-checks.sh | tee "$results/package-checks.log"
pkg_line="$(grep -E '^package checks: ' "$results/package-checks.log" | tail -n1)"
if [ -z "$pkg_line" ]; then
  echo "package checks FAILED: no summary line (crashed or timed out)"; fail_extra=$((fail_extra + 1))
else
  pkg_n() { sed -n "s/.* \([0-9]*\) $1.*/\1/p" <<<"$pkg_line"; }
  pass_extra=$(( ${pass_extra:-0} + $(pkg_n passed) )); fail_extra=$((fail_extra + $(pkg_n failed))); skip_extra=$((skip_extra + $(pkg_n skipped)))
fi

# ---- summary from TRX --------------------------------------------------------------------------------------------
attr() { local v; v="$(sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$2")"; echo "${v:-0}"; }
passed=0 failed=0 total=0 executed=0
shopt -s nullglob; trx_files=("$results"/*.trx)
for f in "${trx_files[@]}"; do
  c="$(grep -o '<Counters [^>]*>' "$f" | head -n1)"
  total=$((total + $(attr total "$c"))); executed=$((executed + $(attr executed "$c")))
  passed=$((passed + $(attr passed "$c")))
  failed=$((failed + $(attr failed "$c") + $(attr error "$c") + $(attr timeout "$c") + $(attr aborted "$c")))
done
skipped=$((total - executed + skip_extra))
passed=$((passed + ${pass_extra:-0}))
# A crashed test host leaves an all-zero TRX (or none): count it as a failure.
if (( test_rc != 0 )) && (( failed == 0 )); then failed=1; fi
n_proj=$(ls tests/*/*.csproj | grep -vc '/Orion.Pmd.Testing/')
if (( ${#trx_files[@]} < n_proj )) && (( failed == 0 )); then failed=1; fi
failed=$((failed + fail_extra))
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
(( test_rc == 0 && failed == 0 )) || exit 1
