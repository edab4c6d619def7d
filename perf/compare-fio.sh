#!/usr/bin/env bash
# Side-by-side 4 KiB random-read measurement of orion-perf and fio, the table in perf/RESULTS.md.
#
#   perf/compare-fio.sh [--runtime S] [--ramp S] [--quick] [--no-pin] [--depths "1 32 128"] [--out DIR]
#
# In one run, for each queue depth (1, then 32), it runs back to back: orion-perf on a null: and a mem: device,
# fio --ioengine=null, and fio --ioengine=io_uring on a 1 GiB file in /dev/shm. Figures on this machine kind swing
# 20-40 % between runs, so only rows of one run compare with each other,
# and interleaving per depth keeps each depth's rows close in time.
# Each tool writes fio-layout JSON to DIR/qd<D>__<tool>.json (a failed run leaves .err instead);
# perf/compare_fio.py turns them into the markdown table.
# fio runs pinned to one CPU (--cpus_allowed; io_uring's workers inherit it), as the perf anchors were measured:
# unpinned, QD1 io_uring pays a cross-CPU wake-up per I/O here (about 25 k IOPS instead of 170 k). --no-pin drops it.
set -uo pipefail
cd "$(dirname "$0")/.."

runtime=10
ramp=1
out=""
pin=1
depths=(1 32)   # --depths "1 32 128" adds more
while (($#)); do
  case "$1" in
    --runtime) runtime="${2:?--runtime needs seconds}"; shift 2 ;;
    --runtime=*) runtime="${1#*=}"; shift ;;
    --ramp) ramp="${2:?--ramp needs seconds}"; shift 2 ;;
    --ramp=*) ramp="${1#*=}"; shift ;;
    --quick) runtime=2; ramp=1; shift ;;
    --no-pin) pin=0; shift ;;
    --depths) read -r -a depths <<<"${2:?--depths needs a list such as \"1 32 128\"}"; shift 2 ;;
    --depths=*) read -r -a depths <<<"${1#*=}"; shift ;;
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    --out=*) out="${1#*=}"; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "compare-fio.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
[[ "$runtime" =~ ^[0-9]+$ && "$runtime" -gt 0 ]] || { echo "compare-fio.sh: --runtime must be whole seconds > 0" >&2; exit 2; }
[[ "$ramp" =~ ^[0-9]+$ ]] || { echo "compare-fio.sh: --ramp must be whole seconds" >&2; exit 2; }

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 MSBUILDTERMINALLOGGER=off

# --- fio ------------------------------------------------------------------------------------------------------
if ! command -v fio >/dev/null 2>&1; then
  if [[ $EUID -eq 0 ]]; then
    echo "== installing fio" >&2
    apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y fio >&2 \
      || { echo "compare-fio.sh: could not install fio" >&2; exit 1; }
  else
    echo "compare-fio.sh: fio is not installed; run as root or install it (apt-get install fio)" >&2
    exit 1
  fi
fi

# --- orion-perf -----------------------------------------------------------------------------------------------
# A build failure does not stop the fio half: the table then shows orion's rows as failed.
orion_dll=tools/Orion.Perf/bin/Release/net10.0/orion-perf.dll
orion_ok=1
echo "== building orion-perf" >&2
if ! dotnet build tools/Orion.Perf -c Release -nologo -v quiet >&2; then
  echo "compare-fio.sh: orion-perf did not build; measuring fio only" >&2
  orion_ok=0
fi

# --- results and the /dev/shm file ----------------------------------------------------------------------------
if [[ -z "$out" ]]; then out="$(mktemp -d /tmp/compare-fio.XXXXXX)"; fi
mkdir -p "$out"
rm -f "$out"/qd*__*.json "$out"/qd*__*.err
shm_file="/dev/shm/orion-compare-fio.$$"
cleanup() { rm -f "$shm_file"; }
trap cleanup EXIT INT TERM

avail=$(df --output=avail -B1 /dev/shm | tail -n1 | tr -d ' ')
if (( avail < 2 * 1024 * 1024 * 1024 )); then
  echo "compare-fio.sh: /dev/shm has less than 2 GiB free; the io_uring rows need a 1 GiB file there" >&2
  exit 1
fi
# Written, not fallocated: reads of tmpfs holes would hit the shared zero page and flatter io_uring.
dd if=/dev/zero of="$shm_file" bs=1M count=1024 status=none

# run TOOL DEPTH CMD...: stdout → qd<DEPTH>__<TOOL>.json; on failure the output is kept as .err.
run() {
  local tool="$1" depth="$2"; shift 2
  local base="$out/qd${depth}__${tool}"
  echo "== QD${depth} ${tool}: $*" >&2
  if "$@" >"$base.json" 2>"$base.stderr"; then
    rm -f "$base.stderr"
  else
    echo "   failed (exit $?); see $base.err" >&2
    cat "$base.json" "$base.stderr" >"$base.err" 2>/dev/null
    rm -f "$base.json" "$base.stderr"
  fi
}

common_fio=(--rw=randread --bs=4k --size=1g --runtime="$runtime" --ramp_time="$ramp" --time_based --output-format=json)
if ((pin)); then
  # The first CPU this script may run on.
  pin_cpu=$(awk '/^Cpus_allowed_list/ {print $2}' /proc/self/status | cut -d, -f1 | cut -d- -f1)
  common_fio+=(--cpus_allowed="${pin_cpu:-0}")
fi
for depth in "${depths[@]}"; do
  for device in null mem; do
    if ((orion_ok)); then
      run "orion-$device" "$depth" dotnet "$orion_dll" --rw=randread --bs=4k --iodepth="$depth" --runtime="$runtime" \
        --ramp_time="$ramp" --time_based --device="$device:1G" --output-format=json
    else
      echo "orion-perf did not build" >"$out/qd${depth}__orion-$device.err"
    fi
  done
  run fio-null "$depth" fio --name=fio-null --ioengine=null --iodepth="$depth" "${common_fio[@]}"
  # tmpfs has no O_DIRECT, so direct=0; the data is in RAM either way.
  run fio-io_uring "$depth" fio --name=fio-io_uring --ioengine=io_uring --filename="$shm_file" --direct=0 \
    --iodepth="$depth" "${common_fio[@]}"
done

echo "== results in $out" >&2
python3 perf/compare_fio.py "$out"
