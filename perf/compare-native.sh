#!/usr/bin/env bash
# orion-perf JIT (the framework-dependent build) against orion-perf NativeAOT, in one run, interleaved: start-up
# (wall time of a --runtime=100ms run), the short run of issue 18 (null:1G once through, no --time_based), the
# first second's IOPS and the steady-state IOPS (from one --write_iops_log run per round), medians over the rounds.
# For perf/RESULTS.md; not part of the test suite (it measures, and this machine is shared).
#
#   perf/compare-native.sh [--rounds N] [--seconds S]      (defaults: 7 rounds, 6 s per IOPS run)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=7 seconds=6
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="${2:?count}"; shift 2 ;;
    --seconds) seconds="${2:?seconds}"; shift 2 ;;
    *) echo "usage: perf/compare-native.sh [--rounds N] [--seconds S]" >&2; exit 2 ;;
  esac
done
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 MSBUILDTERMINALLOGGER=off
native_dir="$(mktemp -d)"; trap 'rm -rf "$native_dir"' EXIT
echo "building orion-perf (JIT) and publishing it NativeAOT three ways (several minutes)" >&2
dotnet build tools/Orion.Perf -c Release -nologo -v:quiet >/dev/null
publish() {   # DIR EXTRA-PROPERTIES...: the shipped publish, then the speed-optimised ones measured beside it
  local dir="$1"; shift
  dotnet publish tools/Orion.Perf -c Release -r linux-x64 -p:PublishAot=true "$@" -nologo -v:quiet -o "$native_dir/$dir" >/dev/null
}
publish default
publish speed -p:OptimizationPreference=Speed
publish speed-v3 -p:OptimizationPreference=Speed -p:IlcInstructionSet=x86-64-v3
python3 perf/compare_native.py --rounds "$rounds" --seconds "$seconds" \
  --jit "dotnet tools/Orion.Perf/bin/Release/net10.0/orion-perf.dll" --native "$native_dir/default/orion-perf" \
  --variant "NativeAOT Speed=$native_dir/speed/orion-perf" --variant "NativeAOT Speed x86-64-v3=$native_dir/speed-v3/orion-perf"
