#!/usr/bin/env bash
# Side-by-side engine configurations on the embedded null device, in one run (issue 3's table in RESULTS.md):
# split vs packed, indirect vs direct, polled vs adaptive vs interrupt, 1 vs 2 queues; then idle CPU per mode.
#
#   perf/compare-modes.sh [--runtime S]
set -euo pipefail
cd "$(dirname "$0")/.."
runtime=5
[[ "${1:-}" == "--runtime" ]] && runtime="${2:?seconds}"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 MSBUILDTERMINALLOGGER=off
dotnet build Orion.Pmd.sln -c Release -nologo -v:quiet >/dev/null
exec python3 perf/compare_modes.py "$runtime"
